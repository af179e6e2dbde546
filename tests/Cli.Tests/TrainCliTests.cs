using System.Text.Json;
using OnePass.Training.Tests;

namespace OnePass.Cli.Tests;

/// <summary>End-to-end `onepass train`, `check`, `bench` and their error handling, through the real executable.</summary>
public sealed class TrainCliTests
{
    private static string Config(string dir, string yaml)
    {
        string path = Path.Combine(dir, "config.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

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

    [RequiresSharedDataFact("energy")]
    [Trait("Category", "Slow")]
    public void TrainOnUciEnergyHalvesTheTestLossAndWritesItsOutputs()
    {
        string uci = Path.GetDirectoryName(SharedData.UciDirectory("energy")!)!;
        string outDir = OnePassProcess.TempDir();
        var r = OnePassProcess.Run("train", "--config", RepoConfig("uci-energy.yaml"), "--data-dir", uci, "--out", outDir,
            "--backend", "cpu", "--set", "hyperparameter_steps=100");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.StdErr}");
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        var root = summary.RootElement;
        foreach (string key in new[] { "dataset", "algorithm", "backend", "seed", "weight_steps", "wall_seconds", "initial", "final", "hyperparameters" })
        {
            Assert.True(root.TryGetProperty(key, out _), $"summary.json lacks '{key}'");
        }

        foreach (string split in new[] { "initial", "final" })
        {
            foreach (string key in new[] { "training_loss", "validation_loss", "test_loss" })
            {
                Assert.True(root.GetProperty(split).TryGetProperty(key, out _), $"summary.json {split} lacks '{key}'");
            }
        }

        double initial = root.GetProperty("initial").GetProperty("test_loss").GetDouble();
        double final = root.GetProperty("final").GetProperty("test_loss").GetDouble();
        Assert.True(final < initial / 2, $"final test loss {final} is not below half the initial {initial}");
        Assert.Equal(1000, root.GetProperty("weight_steps").GetInt64());
        string[] metrics = File.ReadAllLines(Path.Combine(outDir, "metrics.csv"));
        Assert.StartsWith("step,hyper_step,training_loss,validation_loss,test_loss", metrics[0]);
        Assert.True(metrics.Length > 2);
        Assert.True(File.Exists(Path.Combine(outDir, "model.ckpt")));
    }

    [Theory]
    [InlineData("dataset: uci-energy\nbatch_sise: 10\n", "unknown key 'batch_sise'")]
    [InlineData("dataset: uci-energy\nbatch_size: ten\n", "must be an integer")]
    [InlineData("dataset: uci-energy\nmodel:\n  layer_sizes: 8\n", "must be a list of numbers")]
    [InlineData("dataset: uci-energy\nalgorithm: magic\n", "algorithm 'magic' is not one of")]
    [InlineData("dataset: [oops\n", "not valid YAML")]
    public void BadConfigurationIsOneLineAndNonZeroExit(string yaml, string expected)
    {
        string dir = OnePassProcess.TempDir();
        var r = OnePassProcess.Run("train", "--config", Config(dir, yaml), "--out", Path.Combine(dir, "out"), "--backend", "cpu");
        Assert.NotEqual(0, r.ExitCode);
        string stderr = r.StdErr.Trim();
        Assert.Contains(expected, stderr);
        Assert.DoesNotContain("\n", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void MissingConfigurationFileIsOneLineError()
    {
        var r = OnePassProcess.Run("train", "--config", "no-such-file.yaml");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no-such-file.yaml", r.StdErr);
        Assert.DoesNotContain("\n", r.StdErr.Trim());
    }

    [Fact]
    public void UnknownSetKeyIsRejected()
    {
        string dir = OnePassProcess.TempDir();
        var r = OnePassProcess.Run("train", "--config", Config(dir, "dataset: uci-energy\n"), "--set", "nonsense=1");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("unknown key 'nonsense'", r.StdErr);
    }

    [Theory]
    [InlineData("relu", "mse")]
    [InlineData("tanh", "cross-entropy")]
    [InlineData("sigmoid", "cross-entropy")]
    public void CheckPassesForCorrectRules(string activation, string loss)
    {
        var r = OnePassProcess.Run("check", "--layers", "6,8,3", "--activation", activation, "--loss", loss, "--backend", "cpu");
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        Assert.Contains("PASS", r.StdOut);
        Assert.Contains("Hessian-vector", r.StdOut);
    }

    [Fact]
    public void CheckFromAResNetConfigSwitchedToTheCnnPassesInBothModes()
    {
        var r = OnePassProcess.Run("check", "--config", RepoConfig("fashion-mnist-resnet18.yaml"), "--set", "model.architecture=cnn", "--backend", "cpu");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.StdOut}{r.StdErr}");
        Assert.Contains("CNN (base width 4) on 1x16x16", r.StdOut);
        Assert.Contains("training mode", r.StdOut);
        Assert.Contains("evaluation mode", r.StdOut);
        Assert.Contains("PASS", r.StdOut);
        Assert.DoesNotContain("FAIL", r.StdOut);
    }

    [Fact]
    public void CheckRejectsBadLayers()
    {
        var r = OnePassProcess.Run("check", "--layers", "6,x,3");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--layers", r.StdErr);
    }

    [Fact]
    public void BenchJsonHasTheDocumentedKeys()
    {
        var r = OnePassProcess.Run("bench", "--layers", "20,10,3", "--batch", "8", "--seconds", "0.05", "--json", "--backend", "cpu");
        Assert.True(r.ExitCode == 0, r.StdErr);
        using var doc = JsonDocument.Parse(r.StdOut);
        foreach (string key in new[] { "gradient_ms", "hvp_ms", "train_step_ms", "hvp_over_gradient", "hyper_step_ms" })
        {
            Assert.True(doc.RootElement.GetProperty(key).GetDouble() > 0, key);
        }
    }

    [RequiresSharedDataFact("energy")]
    [Trait("Category", "Slow")]
    public void BenchAlgorithmTimesEachAlgorithmOnceAgainstRandom()
    {
        string uci = Path.GetDirectoryName(SharedData.UciDirectory("energy")!)!;
        var r = OnePassProcess.Run("bench", "--algorithm", "ours-wd-lr-m,ours-wd-lr-m,baydin", "--config", RepoConfig("uci-energy.yaml"),
            "--data-dir", uci, "--steps", "10", "--repeats", "2", "--json", "--backend", "cpu");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.StdErr}");
        using var doc = JsonDocument.Parse(r.StdOut);
        var names = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(new[] { "random", "ours-wd-lr-m", "baydin" }, names);
        Assert.Equal(1.0, doc.RootElement.GetProperty("random").GetProperty("relative_to_random").GetDouble(), 12);
        foreach (string name in names)
        {
            var e = doc.RootElement.GetProperty(name);
            Assert.True(e.GetProperty("train_seconds").GetDouble() > 0, name);
            Assert.Equal(2, e.GetProperty("repeats").GetInt32());
            Assert.True(e.GetProperty("relative_min").GetDouble() <= e.GetProperty("relative_max").GetDouble(), name);
        }
    }

    [Fact]
    public void BenchAlgorithmRejectsAnUnknownAlgorithmBeforeLoadingData()
    {
        var r = OnePassProcess.Run("bench", "--algorithm", "random,adamw", "--config", RepoConfig("uci-energy.yaml"), "--data-dir", OnePassProcess.TempDir());
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("algorithm 'adamw' is not one of", r.StdErr);
    }
}
