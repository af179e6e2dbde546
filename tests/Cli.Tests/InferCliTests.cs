namespace OnePass.Cli.Tests;

/// <summary>`onepass infer` and `onepass export` refuse bad input with one line and a non-zero exit code.</summary>
public sealed class InferCliTests
{
    private static void AssertOneLineError(OnePassProcess.Result r, string expected)
    {
        Assert.NotEqual(0, r.ExitCode);
        string stderr = r.StdErr.Trim();
        Assert.Contains(expected, stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.Single(stderr.Split('\n'));
    }

    // A real model: train two hyperparameter steps on tiny synthetic UCI-layout data, then export it.
    private static (string Dir, string Model) TrainedModel()
    {
        string dir = OnePassProcess.TempDir();
        string data = Path.Combine(dir, "energy");
        Directory.CreateDirectory(data);
        var random = new Random(3);
        File.WriteAllLines(Path.Combine(data, "data.txt"), Enumerable.Range(0, 768).Select(_ =>
            string.Join(" ", Enumerable.Range(0, 9).Select(_ => (random.NextDouble() * 10).ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))));
        File.WriteAllLines(Path.Combine(data, "permutation.txt"), Enumerable.Range(0, 768).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        string config = Path.Combine(dir, "c.yaml");
        File.WriteAllText(config, "dataset: uci-energy\nbatch_size: 0\nhyperparameter_steps: 2\nmodel:\n  layer_sizes: [8, 5, 1]\n");
        string run = Path.Combine(dir, "run");
        var train = OnePassProcess.Run("train", "--config", config, "--data-dir", data, "--out", run, "--backend", "cpu");
        Assert.True(train.ExitCode == 0, train.StdErr);
        var export = OnePassProcess.Run("export", "--run", run);
        Assert.True(export.ExitCode == 0, export.StdErr);
        return (dir, Path.Combine(run, "model.onnx"));
    }

    [Fact]
    public void BadModelsInputsAndProvidersAreOneLineErrors()
    {
        var (dir, model) = TrainedModel();
        string good = Path.Combine(dir, "good.csv");
        File.WriteAllText(good, "1,2,3,4,5,6,7,8\n2,3,4,5,6,7,8,9\n");
        var ok = OnePassProcess.Run("infer", "--model", model, "--input", good, "--provider", "cpu", "--out", Path.Combine(dir, "p.csv"));
        Assert.True(ok.ExitCode == 0, ok.StdErr);
        Assert.Contains("rows/s", ok.StdOut);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(dir, "p.csv")).Length);

        string corrupt = Path.Combine(dir, "corrupt.onnx");
        File.WriteAllBytes(corrupt, Enumerable.Range(0, 500).Select(i => (byte)(i * 37)).ToArray());
        AssertOneLineError(OnePassProcess.Run("infer", "--model", corrupt, "--input", good, "--provider", "cpu"), "corrupt.onnx");

        string truncated = Path.Combine(dir, "truncated.onnx");
        byte[] bytes = File.ReadAllBytes(model);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        AssertOneLineError(OnePassProcess.Run("infer", "--model", truncated, "--input", good, "--provider", "cpu"), "truncated.onnx");

        string wide = Path.Combine(dir, "wide.csv");
        File.WriteAllText(wide, "1,2,3,4,5,6,7,8,9\n");
        AssertOneLineError(OnePassProcess.Run("infer", "--model", model, "--input", wide, "--provider", "cpu"), "expects 8 features per row, the input has 9");

        string text = Path.Combine(dir, "text.csv");
        File.WriteAllText(text, "1,2,3,4,5,6,7,8\n1,2,x,4,5,6,7,8\n");
        AssertOneLineError(OnePassProcess.Run("infer", "--model", model, "--input", text, "--provider", "cpu"), "text.csv");

        AssertOneLineError(OnePassProcess.Run("infer", "--model", model, "--input", good, "--provider", "tpu"), "--provider 'tpu'");
        AssertOneLineError(OnePassProcess.Run("export", "--run", Path.Combine(dir, "nowhere")), "model.ckpt");
    }
}
