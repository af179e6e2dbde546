namespace OnePass.Cli.Tests;

/// <summary>Models for infer/export tests, made through the CLI itself.</summary>
internal static class TestModels
{
    // A real model: train two hyperparameter steps on tiny synthetic UCI-layout data, then export it.
    public static (string Dir, string Model) TrainedRegression()
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
}
