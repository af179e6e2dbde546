namespace OnePass.Cli.Tests;

/// <summary>The LSTM language model's configuration through the CLI: check passes on random tokens; train refuses it with one line.</summary>
public sealed class LanguageModelCliTests
{
    private static string RepoConfig(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "configs", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"configs/{name} not found above the test binaries");
    }

    [Fact]
    public void CheckOnThePtbConfigurationPasses()
    {
        var r = OnePassProcess.Run("check", "--config", RepoConfig("ptb-lstm.yaml"), "--backend", "cpu");
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        Assert.Contains("PASS", r.StdOut);
        Assert.Contains("vocabulary 11", r.StdOut);
    }

    [Fact]
    public void TrainOnThePtbConfigurationWithoutTheCorpusFailsWithOneClearLine()
    {
        string dir = Directory.CreateTempSubdirectory("onepass-lm-").FullName;
        try
        {
            var r = OnePassProcess.Run("train", "--config", RepoConfig("ptb-lstm.yaml"), "--backend", "cpu", "--out", Path.Combine(dir, "run"));
            Assert.NotEqual(0, r.ExitCode);
            Assert.NotEqual(70, r.ExitCode);
            Assert.Contains("Penn Treebank was not found", r.StdErr);
            Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("onepass:", StringComparison.Ordinal));
            Assert.DoesNotContain("   at ", r.StdErr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
