using System.Globalization;
using System.Text.Json;
using OnePass.Training.Backends;
using OnePass.Training.Checkpoints;
using OnePass.Training.Graphs;

namespace OnePass.Cli.Tests;

/// <summary>
/// A table with two regression target columns end to end: train from a generated CSV with a header, export, infer on
/// a CSV whose columns are in another order, and score the configuration's test split, against the engine.
/// </summary>
public sealed class TableMultiTargetCliTests
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    [Fact]
    public void Train_export_and_infer_two_targets_in_raw_units_with_reordered_columns()
    {
        string dir = OnePassProcess.TempDir();
        var random = new Random(5);
        int rows = 120;
        var table = new List<(double A, double B, double C, double Y1, double Y2)>();
        for (int i = 0; i < rows; i++)
        {
            double a = random.NextDouble() * 4 - 2, b = random.NextDouble() * 10, c = random.NextDouble();
            // Targets on different scales, so that each needs its own normalisation.
            table.Add((a, b, c, 20 + (3 * a) + (0.5 * b), -0.3 + (0.2 * c) - (0.05 * a)));
        }

        // The targets sit between the features, and the second target comes first in the file.
        File.WriteAllLines(Path.Combine(dir, "plant.csv"),
            ["a,y2,b,y1,c", .. table.Select(r => string.Create(Inv, $"{r.A:R},{r.Y2:R},{r.B:R},{r.Y1:R},{r.C:R}"))]);
        string config = Path.Combine(dir, "plant.yaml");
        File.WriteAllText(config, """
            dataset:
              kind: table
              path: plant.csv
              target: [y1, y2]
              test_size: 20
              validation_size: 20
              seed: 3
            algorithm: ours-wd-lr-m
            hyperparameter_steps: 20
            network_weight_steps: 5
            batch_size: 20
            model:
              layer_sizes: [3, 8, 2]
            """);

        string run = Path.Combine(dir, "run");
        var train = OnePassProcess.Run("train", "--config", config, "--out", run, "--backend", "cpu");
        Assert.True(train.ExitCode == 0, $"train exit {train.ExitCode}: {train.StdErr}");
        double engineTestLoss;
        using (var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json"))))
        {
            engineTestLoss = summary.RootElement.GetProperty("final").GetProperty("test_loss").GetDouble();
        }

        var checkpoint = Checkpoint.Load(Path.Combine(run, Checkpoint.FileName));
        Assert.Equal(["a", "b", "c"], checkpoint.Header.InputNames!);
        Assert.Equal(["y1", "y2"], checkpoint.Header.TargetNames!);
        Assert.Equal(2, checkpoint.Header.TargetMean.Length);
        Assert.Equal(2, checkpoint.Header.TargetStd.Length);
        Assert.True(checkpoint.Header.TargetStd[0] > 10 * checkpoint.Header.TargetStd[1], string.Join(", ", checkpoint.Header.TargetStd));

        string model = Path.Combine(dir, "model.onnx");
        var export = OnePassProcess.Run("export", "--run", run, "--out", model);
        Assert.True(export.ExitCode == 0, $"export exit {export.ExitCode}: {export.StdErr}");
        var metadata = OnePass.Export.OnnxModelReader.LoadMetadata(model).Metadata;
        Assert.Equal("""["y1","y2"]""", metadata["target_names"]);
        Assert.Equal("2", metadata["output_width"]);

        // Columns in another order, with a target column left in: infer picks the model's inputs by name.
        string input = Path.Combine(dir, "new.csv");
        File.WriteAllLines(input, ["c,y1,b,a", .. table.Take(15).Select(r => string.Create(Inv, $"{r.C:R},{r.Y1:R},{r.B:R},{r.A:R}"))]);
        string predictions = Path.Combine(dir, "p.csv");
        var infer = OnePassProcess.Run("infer", "--model", model, "--input", input, "--provider", "cpu", "--out", predictions);
        Assert.True(infer.ExitCode == 0, $"infer exit {infer.ExitCode}: {infer.StdErr}");
        string[] lines = File.ReadAllLines(predictions);
        Assert.Equal("y1,y2", lines[0]);
        Assert.Equal(16, lines.Length);

        // The engine's predictions on the same rows, mapped back to raw units target by target.
        var net = CheckpointModel.Build(checkpoint, "model.ckpt");
        var h = checkpoint.Header;
        float[] raw = table.Take(15).SelectMany(r => new[] { (float)r.A, (float)r.B, (float)r.C }).ToArray();
        float[] normalised = raw.Select((x, i) => (x - h.InputMean[i % 3]) / h.InputStd[i % 3]).ToArray();
        using var backend = new CpuBackend();
        using var executor = new GraphExecutor(net, backend);
        using var w = backend.Allocate(net.ParameterCount);
        backend.Upload(checkpoint.Weights, w);
        executor.SetBatch(normalised, new float[15 * 2], 15);
        executor.Forward(w);
        var engine = new float[15 * 2];
        backend.Download(executor.PredictionBuffer, engine);
        for (int r = 0; r < 15; r++)
        {
            string[] cells = lines[r + 1].Split(',');
            for (int t = 0; t < 2; t++)
            {
                float expected = (engine[(r * 2) + t] * h.TargetStd[t]) + h.TargetMean[t];
                float actual = float.Parse(cells[t], Inv);
                Assert.True(Math.Abs(expected - actual) <= 1e-5, $"row {r}, target {t}: ONNX {actual}, engine {expected}");
            }
        }

        // The predictions are near the true targets (20 hyperparameter steps of a tiny MLP: loosely).
        double y1Error = table.Take(15).Select((row, r) => Math.Abs(row.Y1 - float.Parse(lines[r + 1].Split(',')[0], Inv))).Average();
        Assert.True(y1Error < 5, $"mean absolute error of y1 {y1Error}");

        // --test-set takes the configuration: the loss on normalised targets, averaged over both, is training's test_loss.
        var scored = OnePassProcess.Run("infer", "--model", model, "--test-set", config, "--run", run, "--provider", "cpu");
        Assert.True(scored.ExitCode == 0, $"infer --test-set exit {scored.ExitCode}: {scored.StdErr}");
        Assert.Contains("20 rows", scored.StdOut, StringComparison.Ordinal);
        Assert.Contains("RMSE of y1 (original units)", scored.StdOut, StringComparison.Ordinal);
        Assert.Contains("RMSE of y2 (original units)", scored.StdOut, StringComparison.Ordinal);
        string lossLine = scored.StdOut.Split('\n').Single(l => l.TrimStart().StartsWith("loss (MSE, normalised targets, mean of 2)", StringComparison.Ordinal));
        double[] figures = lossLine[(lossLine.IndexOf(')', StringComparison.Ordinal) + 1)..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(x => double.Parse(x, Inv)).ToArray();
        Assert.Equal(2, figures.Length);
        Assert.Equal(engineTestLoss, figures[0], 4);
        Assert.Equal(engineTestLoss, figures[1], 5);

        // --labels with a header takes the targets by name, in any order: the same figures as --test-set's.
        string labels = Path.Combine(dir, "labels.csv");
        File.WriteAllLines(labels, ["y2,y1", .. table.Take(15).Select(r => string.Create(Inv, $"{r.Y2:R},{r.Y1:R}"))]);
        var labelled = OnePassProcess.Run("infer", "--model", model, "--input", input, "--labels", labels, "--provider", "cpu", "--out", predictions);
        Assert.True(labelled.ExitCode == 0, $"infer --labels exit {labelled.ExitCode}: {labelled.StdErr}");
        double mse = table.Take(15).Select((row, r) =>
        {
            string[] cells = lines[r + 1].Split(',');
            double e1 = float.Parse(cells[0], Inv) - (double)(float)row.Y1, e2 = float.Parse(cells[1], Inv) - (double)(float)row.Y2;
            return (e1 * e1) + (e2 * e2);
        }).Sum() / 30;
        string mseLine = labelled.StdOut.Split('\n').Single(l => l.TrimStart().StartsWith("MSE (original units, mean of 2 targets)", StringComparison.Ordinal));
        Assert.Equal(mse, double.Parse(mseLine.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1], Inv), 5);
    }

    [Fact]
    public void Classification_with_two_target_columns_is_a_one_line_error_naming_file_and_columns()
    {
        string dir = OnePassProcess.TempDir();
        File.WriteAllLines(Path.Combine(dir, "two.csv"), ["x,kind,colour", .. Enumerable.Range(0, 30).Select(i => string.Create(Inv, $"{i},{(i % 2 == 0 ? "a" : "b")},{(i % 3 == 0 ? "red" : "blue")}"))]);
        string config = Path.Combine(dir, "two.yaml");
        File.WriteAllText(config, "dataset: {kind: table, path: two.csv, target: [kind, colour], task: classification}\nmodel:\n  layer_sizes: [1, 4, 2]\n");
        var train = OnePassProcess.Run("train", "--config", config, "--out", Path.Combine(dir, "run"), "--backend", "cpu");
        Assert.NotEqual(0, train.ExitCode);
        Assert.NotEqual(70, train.ExitCode);
        Assert.Contains("two.csv", train.StdErr, StringComparison.Ordinal);
        Assert.Contains("classification takes one target column; got 2: column 2 ('kind'), column 3 ('colour')", train.StdErr, StringComparison.Ordinal);
        Assert.Single(train.StdErr.Trim().Split('\n'));
    }
}
