using System.Buffers.Binary;
using System.Globalization;
using OnePass.Training.Checkpoints;
using OnePass.Training.Data;
using OnePass.Training.Models;

namespace OnePass.Cli.Tests;

/// <summary>`onepass infer` serves exported convolutional models from IDX image files and CIFAR-10 batch files.</summary>
public sealed class InferImageCliTests
{
    private static double[] Numbers(string line) =>
        line.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(t => double.TryParse(t.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : double.NaN)
            .Where(double.IsFinite)
            .ToArray();

    private static string Accuracy(OnePassProcess.Result r) =>
        r.StdOut.Split('\n').Single(l => l.TrimStart().StartsWith("accuracy", StringComparison.Ordinal));

    // A checkpoint of a small CNN (base width 2) with random weights and running statistics, exported by the CLI.
    private static string ExportedCnn(string dir, string dataSet, int[] shape, Random random)
    {
        var spec = new ModelSpec { Architecture = "cnn", InputShape = shape, Outputs = 10, Loss = "cross-entropy", BaseWidth = 2 };
        var model = ModelBuilder.Build(spec);
        float[] weights = model.InitialWeights(5);
        float[] state = model.InitialState();
        foreach (var s in model.States)
        {
            int half = s.Length / 2;
            for (int i = 0; i < half; i++)
            {
                state[s.Offset + i] += (float)(random.NextDouble() - 0.5);
                state[s.Offset + half + i] *= (float)(0.5 + random.NextDouble());
            }
        }

        var header = new CheckpointHeader
        {
            OnePassVersion = "0.1.0", DataSet = dataSet, Task = "classification", Model = spec, Loss = "cross-entropy",
            InputMean = Enumerable.Repeat(120f, model.InputWidth).ToArray(), InputStd = Enumerable.Repeat(64f, model.InputWidth).ToArray(),
            Algorithm = "ours-wd-lr-m",
        };
        string run = Path.Combine(dir, dataSet + "-run");
        new Checkpoint(header, weights, state).Save(Path.Combine(run, Checkpoint.FileName));
        var export = OnePassProcess.Run("export", "--run", run);
        Assert.True(export.ExitCode == 0, export.StdErr);
        return Path.Combine(run, "model.onnx");
    }

    private static byte[] CifarBatch(byte[] labels, Random random)
    {
        var bytes = new byte[labels.Length * Cifar10.RecordLength];
        random.NextBytes(bytes);
        for (int r = 0; r < labels.Length; r++)
        {
            bytes[r * Cifar10.RecordLength] = labels[r];
        }

        return bytes;
    }

    private static byte[] IdxImages(int count, Random random)
    {
        var bytes = new byte[16 + (count * 784)];
        random.NextBytes(bytes);
        BinaryPrimitives.WriteInt32BigEndian(bytes, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), 28);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), 28);
        return bytes;
    }

    [Fact]
    public void CifarBatchesAndTheCifarTestSetAreScoredByAConvModel()
    {
        string dir = OnePassProcess.TempDir();
        var random = new Random(31);
        string model = ExportedCnn(dir, Cifar10.Name, [3, 32, 32], random);

        // A data folder in the official layout: five tiny training batches and a test batch of 30 images.
        string data = Path.Combine(dir, "cifar");
        Directory.CreateDirectory(data);
        foreach (string file in Cifar10.TrainFiles)
        {
            File.WriteAllBytes(Path.Combine(data, file), CifarBatch([1, 2], random));
        }

        byte[] labels = Enumerable.Range(0, 30).Select(_ => (byte)random.Next(10)).ToArray();
        string test = Path.Combine(data, Cifar10.TestFile);
        File.WriteAllBytes(test, CifarBatch(labels, random));

        string predictions = Path.Combine(dir, "p.csv");
        var r = OnePassProcess.Run("infer", "--model", model, "--input", test, "--labels", test, "--out", predictions, "--provider", "cpu", "--batch", "8");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("30 rows in", r.StdOut);
        string[] lines = File.ReadAllLines(predictions);
        Assert.Equal(31, lines.Length);
        int correct = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            double[] logits = lines[i + 1].Split(',').Take(10).Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            correct += Array.IndexOf(logits, logits.Max()) == labels[i] ? 1 : 0;
        }

        Assert.Equal(Math.Round(100.0 * correct / labels.Length, 2), Numbers(Accuracy(r))[0], 2);

        // --test-set cifar10 reads the same test batch: the same figures.
        var set = OnePassProcess.Run("infer", "--model", model, "--test-set", Cifar10.Name, "--data-dir", data, "--provider", "cpu");
        Assert.True(set.ExitCode == 0, set.StdErr);
        Assert.Equal(Accuracy(r), Accuracy(set));
        string Loss(OnePassProcess.Result x) => x.StdOut.Split('\n').Single(l => l.Contains("loss (cross-entropy)"));
        Assert.Equal(Loss(r), Loss(set));

        // A 28×28 IDX file is one error line naming the file and both shapes.
        string idx = Path.Combine(dir, "fashion-idx3-ubyte");
        File.WriteAllBytes(idx, IdxImages(3, random));
        var wrong = OnePassProcess.Run("infer", "--model", model, "--input", idx, "--provider", "cpu");
        Assert.NotEqual(0, wrong.ExitCode);
        string error = wrong.StdErr.Trim();
        Assert.Single(error.Split('\n'));
        Assert.Contains($"{idx}: model expects 3072 features per row (3×32×32), the input has 784 features per row (28×28)", error);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void IdxImagesAreServedToAOneChannelConvModel()
    {
        string dir = OnePassProcess.TempDir();
        var random = new Random(32);
        string model = ExportedCnn(dir, FashionMnist.Name, [1, 28, 28], random);
        string idx = Path.Combine(dir, "images-idx3-ubyte");
        File.WriteAllBytes(idx, IdxImages(12, random));
        var r = OnePassProcess.Run("infer", "--model", model, "--input", idx, "--provider", "cpu", "--batch", "5");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("12 rows in", r.StdOut);
        Assert.Equal(13, File.ReadAllLines(idx + ".predictions.csv").Length);

        // A CIFAR-10 batch into the 1×28×28 model names both shapes.
        string cifar = Path.Combine(dir, "data_batch_1.bin");
        File.WriteAllBytes(cifar, CifarBatch([4, 5], random));
        var wrong = OnePassProcess.Run("infer", "--model", model, "--input", cifar, "--provider", "cpu");
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Single(wrong.StdErr.Trim().Split('\n'));
        Assert.Contains("data_batch_1.bin: model expects 784 features per row (1×28×28), the input has 3072 features per row (3×32×32)", wrong.StdErr);
        Directory.Delete(dir, true);
    }
}
