using System.Globalization;
using System.Text.Json;
using OnePass.Training.Backends;
using OnePass.Training.Checkpoints;
using OnePass.Training.Graphs;

namespace OnePass.Cli.Tests;

/// <summary>
/// A user's own table end to end: train from a generated CSV with a header, string class labels and a permutation
/// file; export; infer on a CSV whose columns are in another order (plus an extra column), against the engine.
/// </summary>
public sealed class TableCliTests
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    [Fact]
    public void Train_export_and_infer_a_csv_with_string_labels_and_reordered_columns()
    {
        string dir = OnePassProcess.TempDir();
        var random = new Random(11);
        int rows = 120;
        var table = new List<(double A, double B, double C, string Label)>();
        for (int i = 0; i < rows; i++)
        {
            double a = random.NextDouble() * 6 - 3, b = random.NextDouble() * 100, c = random.NextDouble();
            table.Add((a, b, c, a + c < 0 ? "low" : a < 1.5 ? "mid" : "high"));
        }

        File.WriteAllLines(Path.Combine(dir, "plants.csv"),
            ["alpha,beta,kind,gamma", .. table.Select(r => string.Create(Inv, $"{r.A:R},{r.B:R},{r.Label},{r.C:R}"))]);
        File.WriteAllLines(Path.Combine(dir, "order.txt"), Enumerable.Range(0, rows).Select(i => ((i * 7) % rows).ToString(Inv)));
        string config = Path.Combine(dir, "plants.yaml");
        File.WriteAllText(config, """
            dataset:
              kind: table
              path: plants.csv
              target: kind
              task: classification
              permutation: order.txt
              test_size: 20
              validation_size: 20
            algorithm: ours-wd-lr-m
            hyperparameter_steps: 20
            network_weight_steps: 5
            batch_size: 20
            model:
              layer_sizes: [3, 8, 3]
            """);

        string run = Path.Combine(dir, "run");
        var train = OnePassProcess.Run("train", "--config", config, "--out", run, "--backend", "cpu");
        Assert.True(train.ExitCode == 0, $"train exit {train.ExitCode}: {train.StdErr}");
        using (var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json"))))
        {
            Assert.Equal("table:plants.csv", summary.RootElement.GetProperty("dataset").GetString());
        }

        string model = Path.Combine(dir, "model.onnx");
        var export = OnePassProcess.Run("export", "--run", run, "--out", model);
        Assert.True(export.ExitCode == 0, $"export exit {export.ExitCode}: {export.StdErr}");
        var metadata = OnePass.Export.OnnxModelReader.LoadMetadata(model).Metadata;
        Assert.Equal("""["alpha","beta","gamma"]""", metadata["input_names"]);
        Assert.Equal("""["high","low","mid"]""", metadata["class_labels"]);

        // Columns in another order, and the label column left in: infer picks the model's columns by name.
        string input = Path.Combine(dir, "new.csv");
        File.WriteAllLines(input, ["gamma,kind,alpha,beta", .. table.Take(15).Select(r => string.Create(Inv, $"{r.C:R},{r.Label},{r.A:R},{r.B:R}"))]);
        string predictions = Path.Combine(dir, "p.csv");
        var infer = OnePassProcess.Run("infer", "--model", model, "--input", input, "--provider", "cpu", "--out", predictions);

        Assert.True(infer.ExitCode == 0, $"infer exit {infer.ExitCode}: {infer.StdErr}");
        string[] lines = File.ReadAllLines(predictions);
        string[] header = lines[0].Split(',');
        int logit0 = Array.IndexOf(header, "logits_0");
        Assert.True(logit0 >= 0, lines[0]);

        // The engine's logits on the same rows, in the training column order.
        var checkpoint = Checkpoint.Load(Path.Combine(run, Checkpoint.FileName));
        Assert.Equal(["alpha", "beta", "gamma"], checkpoint.Header.InputNames!);
        var net = CheckpointModel.Build(checkpoint, "model.ckpt");
        float[] raw = table.Take(15).SelectMany(r => new[] { (float)r.A, (float)r.B, (float)r.C }).ToArray();
        float[] normalised = raw.Select((x, i) => (x - checkpoint.Header.InputMean[i % 3]) / checkpoint.Header.InputStd[i % 3]).ToArray();
        using var backend = new CpuBackend();
        using var executor = new GraphExecutor(net, backend);
        using var w = backend.Allocate(net.ParameterCount);
        backend.Upload(checkpoint.Weights, w);
        executor.SetBatch(normalised, new float[15], 15);
        executor.Forward(w);
        var engine = new float[15 * 3];
        backend.Download(executor.PredictionBuffer, engine);
        for (int r = 0; r < 15; r++)
        {
            string[] cells = lines[r + 1].Split(',');
            for (int k = 0; k < 3; k++)
            {
                Assert.Equal(engine[r * 3 + k], float.Parse(cells[logit0 + k], Inv), 1e-5f);
            }
        }

        // --test-set takes the configuration, split as training split it (what the build's Infer target runs).
        var scored = OnePassProcess.Run("infer", "--model", model, "--test-set", config, "--run", run, "--provider", "cpu");
        Assert.True(scored.ExitCode == 0, $"infer --test-set exit {scored.ExitCode}: {scored.StdErr}");
        Assert.Contains("20 rows", scored.StdOut, StringComparison.Ordinal);

        // A file lacking one of the model's columns is a one-line error naming it.
        File.WriteAllLines(input, ["gamma,alpha", "1,2"]);
        var missing = OnePassProcess.Run("infer", "--model", model, "--input", input, "--provider", "cpu");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("the header has no column 'beta'", missing.StdErr, StringComparison.Ordinal);
        Assert.Single(missing.StdErr.Trim().Split('\n'));
    }
}
