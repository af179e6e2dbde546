using System.Buffers.Binary;
using System.Globalization;
using OnePass.Training.Checkpoints;

namespace OnePass.Cli.Tests;

/// <summary>`onepass infer` scores labelled rows and test splits through ONNX Runtime, beside the engine's figures.</summary>
public sealed class InferScoringCliTests
{
    private static void AssertOneLineError(OnePassProcess.Result r, string expected)
    {
        Assert.NotEqual(0, r.ExitCode);
        string stderr = r.StdErr.Trim();
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.Split('\n'));
    }

    private static double[] Numbers(string line) =>
        line.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(t => double.TryParse(t.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : double.NaN)
            .Where(double.IsFinite)
            .ToArray();

    [Fact]
    public void TheRegressionTestSplitScoresLikeTheEngine()
    {
        var (dir, model) = TestModels.TrainedRegression();
        string run = Path.GetDirectoryName(model)!;
        var r = OnePassProcess.Run("infer", "--model", model, "--test-set", "uci-energy", "--data-dir", Path.Combine(dir, "energy"), "--run", run, "--provider", "cpu");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("rows/s (CPU execution provider", r.StdOut);
        Assert.Contains("engine (summary.json)", r.StdOut);
        Assert.Contains("MSE (original units)", r.StdOut);
        string loss = r.StdOut.Split('\n').Single(l => l.Contains("loss (MSE, normalised targets)"));
        double[] figures = Numbers(loss);
        Assert.Equal(2, figures.Length);
        Assert.True(Math.Abs(figures[0] - figures[1]) <= 1e-4 * Math.Max(1, figures[1]), loss);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void InputRowsAreScoredAgainstALabelsFile()
    {
        var (dir, model) = TestModels.TrainedRegression();
        string rows = Path.Combine(dir, "rows.csv");
        File.WriteAllText(rows, "1,2,3,4,5,6,7,8\n2,3,4,5,6,7,8,9\n");
        string targets = Path.Combine(dir, "targets.csv");
        File.WriteAllText(targets, "target\n4.5\n5.5\n");
        var ok = OnePassProcess.Run("infer", "--model", model, "--input", rows, "--labels", targets, "--provider", "cpu");
        Assert.True(ok.ExitCode == 0, ok.StdErr);
        Assert.Contains("MSE (original units)", ok.StdOut);
        Assert.True(File.Exists(rows + ".predictions.csv"));

        string three = Path.Combine(dir, "three.csv");
        File.WriteAllText(three, "1\n2\n3\n");
        AssertOneLineError(OnePassProcess.Run("infer", "--model", model, "--input", rows, "--labels", three, "--provider", "cpu"), "three.csv");
        AssertOneLineError(
            OnePassProcess.Run("infer", "--model", model, "--test-set", "uci-energy", "--labels", targets, "--provider", "cpu"),
            "--labels goes with --input");
        AssertOneLineError(OnePassProcess.Run("infer", "--model", model, "--provider", "cpu"), "exactly one of --input");
        Directory.Delete(dir, true);
    }

    private static byte[] Idx(int magic, int[] dims, byte[] data)
    {
        var bytes = new byte[4 + (4 * dims.Length) + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int i = 0; i < dims.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + (4 * i)), dims[i]);
        }

        data.CopyTo(bytes, 4 + (4 * dims.Length));
        return bytes;
    }

    [Fact]
    public void AClassifierExportedFromACheckpointScoresIdxImagesAgainstIdxLabels()
    {
        string dir = OnePassProcess.TempDir();
        string run = Path.Combine(dir, "run");
        var random = new Random(9);
        var header = new CheckpointHeader
        {
            OnePassVersion = "0.1.0", DataSet = "fashion-mnist", Task = "classification", LayerSizes = [4, 5, 3],
            Activation = "relu", Loss = "cross-entropy", InputMean = [72f, 72f, 72f, 72f], InputStd = [90f, 90f, 90f, 90f],
            Algorithm = "ours-wd-lr-m", Hyperparameters = new() { ["lr"] = 0.05 }, Metrics = new() { ["test_accuracy"] = 0.5 },
        };
        float[] weights = Enumerable.Range(0, (4 * 5) + 5 + (5 * 3) + 3).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        new Checkpoint(header, weights).Save(Path.Combine(run, Checkpoint.FileName));
        var export = OnePassProcess.Run("export", "--run", run);
        Assert.True(export.ExitCode == 0, export.StdErr);
        Assert.Contains("model.onnx", export.StdOut);
        Assert.Contains("raw pixel values 0-255", export.StdOut);
        Assert.Contains("hyperparameter.lr = 0.05", export.StdOut);

        int count = 40;
        byte[] pixels = Enumerable.Range(0, count * 4).Select(_ => (byte)random.Next(256)).ToArray();
        byte[] labels = Enumerable.Range(0, count).Select(_ => (byte)random.Next(3)).ToArray();
        string images = Path.Combine(dir, "images-idx3-ubyte");
        string labelFile = Path.Combine(dir, "labels-idx1-ubyte");
        File.WriteAllBytes(images, Idx(0x803, [count, 2, 2], pixels));
        File.WriteAllBytes(labelFile, Idx(0x801, [count], labels));
        string predictions = Path.Combine(dir, "p.csv");
        string model = Path.Combine(run, "model.onnx");
        var r = OnePassProcess.Run("infer", "--model", model, "--input", images, "--labels", labelFile, "--out", predictions, "--provider", "cpu", "--batch", "7");
        Assert.True(r.ExitCode == 0, r.StdErr);

        // The accuracy printed is the one the written logits give.
        string[] lines = File.ReadAllLines(predictions);
        Assert.Equal("logits_0,logits_1,logits_2,probabilities_0,probabilities_1,probabilities_2", lines[0]);
        int correct = 0;
        for (int i = 0; i < count; i++)
        {
            double[] v = lines[i + 1].Split(',').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(1.0, v[3] + v[4] + v[5], 5);
            int best = v[1] > v[0] ? (v[2] > v[1] ? 2 : 1) : (v[2] > v[0] ? 2 : 0);
            correct += best == labels[i] ? 1 : 0;
        }

        string accuracy = r.StdOut.Split('\n').Single(l => l.TrimStart().StartsWith("accuracy", StringComparison.Ordinal));
        Assert.Equal(Math.Round(100.0 * correct / count, 2), Numbers(accuracy)[0], 2);

        string bad = Path.Combine(dir, "bad.csv");
        File.WriteAllLines(bad, Enumerable.Range(0, count).Select(i => i == 5 ? "7" : "1"));
        AssertOneLineError(OnePassProcess.Run("infer", "--model", model, "--input", images, "--labels", bad, "--provider", "cpu"), "label 7 at row 6");
        Directory.Delete(dir, true);
    }
}
