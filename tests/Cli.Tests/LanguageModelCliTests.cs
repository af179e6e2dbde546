namespace OnePass.Cli.Tests;

/// <summary>
/// The LSTM language model through the CLI: check passes on random tokens; the full PTB configuration without its
/// corpus is one line; a small model trains from text files, exports, and ONNX Runtime scores and continues text.
/// </summary>
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

    [Fact]
    public void ASmallLanguageModelTrainsFromTextFilesExportsAndScoresThroughOnnxRuntime()
    {
        string dir = Directory.CreateTempSubdirectory("onepass-lm-e2e-").FullName;
        try
        {
            var random = new Random(5);
            string[] subjects = ["the cat", "a dog", "my bird"], verbs = ["sees", "likes"], objects = ["the ball", "a stick"];
            string Lines(int count) => string.Concat(Enumerable.Range(0, count).Select(_ =>
                $"{subjects[random.Next(3)]} {verbs[random.Next(2)]} {objects[random.Next(2)]} .\n"));
            File.WriteAllText(Path.Combine(dir, "train.txt"), Lines(300));
            File.WriteAllText(Path.Combine(dir, "heldout.txt"), Lines(120));
            string config = Path.Combine(dir, "lm.yaml");
            File.WriteAllText(config, "dataset:\n  kind: text\n  train_file: train.txt\n  validation_file: heldout.txt\n  test_file: heldout.txt\n  validation_line_share: 0.5\n"
                + "algorithm: ours-wd-lr-m\nnetwork_weight_steps: 5\nhyperparameter_steps: 20\nbatch_size: 8\nlr: -0.3\nlog_every: 10\n"
                + "network_weight_grad_clipping:\n  norm: 1\nmodel:\n  architecture: lstm\n  embedding_size: 8\n  hidden_size: 12\n  layers: 2\n  sequences: 4\n  steps: 8\n");
            string run = Path.Combine(dir, "run");
            var train = OnePassProcess.Run("train", "--config", config, "--backend", "cpu", "--out", run);
            Assert.True(train.ExitCode == 0, train.StdOut + train.StdErr);
            using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
            double perplexity = summary.RootElement.GetProperty("final").GetProperty("test_perplexity").GetDouble();
            Assert.InRange(perplexity, 1.0, 6.0); // 12 words and <eos>; an untrained model is near 13

            var export = OnePassProcess.Run("export", "--run", run);
            Assert.True(export.ExitCode == 0, export.StdOut + export.StdErr);
            var score = OnePassProcess.Run("infer", "--model", Path.Combine(run, "model.onnx"), "--input", Path.Combine(dir, "heldout.txt"), "--provider", "cpu", "--json");
            Assert.True(score.ExitCode == 0, score.StdOut + score.StdErr);
            using var report = System.Text.Json.JsonDocument.Parse(score.StdOut);
            double onnx = report.RootElement.GetProperty("perplexity").GetDouble();
            Assert.InRange(onnx, 1.0, 6.0);

            var generate = OnePassProcess.Run("infer", "--model", Path.Combine(run, "model.onnx"), "--prompt", "the cat", "--generate", "4", "--provider", "cpu");
            Assert.True(generate.ExitCode == 0, generate.StdOut + generate.StdErr);
            // The continuation is printed alone; after "the cat" this corpus always has a verb.
            string first = generate.StdOut.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
            Assert.Contains(first, verbs);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
