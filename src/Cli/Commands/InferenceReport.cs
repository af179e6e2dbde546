using System.Globalization;
using OnePass.Export;

namespace OnePass.Cli.Commands;

/// <summary>
/// Prints ONNX Runtime's scores on labelled rows beside the engine's own figures from the run's summary.json:
/// accuracy and cross-entropy for classifiers; MSE in original units and on normalised targets (the loss
/// training reports) for regression, each the mean over all targets of a multi-target model, which also gets
/// each target's MSE and RMSE in its original units.
/// </summary>
internal static class InferenceReport
{
    public static void Print(
        IReadOnlyDictionary<string, float[]> outputs,
        int rows,
        InferenceBatch truth,
        string truthSource,
        IReadOnlyDictionary<string, string> metadata,
        string providerName,
        string? runDir)
    {
        var engine = runDir is null ? null : EngineTestFigures.TryRead(runDir, metadata.GetValueOrDefault("dataset"));
        var lines = new List<(string Name, string Onnx, string Engine)>();
        try
        {
            if (outputs.TryGetValue(OnnxExporter.LogitsName, out var logits))
            {
                if (truth.Width != 1 || truth.Rows != rows)
                {
                    throw new UserInputException($"{truthSource}: {truth.Rows} rows of {truth.Width} labels for {rows} input rows; expected one class index per row");
                }

                int classes = logits.Length / Math.Max(rows, 1);
                lines.Add(("accuracy", Percent(PredictionScoring.Accuracy(logits, truth.Data, classes)), Percent(engine?.TestAccuracy)));
                lines.Add(("loss (cross-entropy)", Number(PredictionScoring.CrossEntropy(logits, truth.Data, classes)), Number(engine?.TestLoss)));
            }
            else if (outputs.TryGetValue(OnnxExporter.PredictionName, out var predictions))
            {
                if (truth.Data.Length != predictions.Length)
                {
                    throw new UserInputException(
                        $"{truthSource}: {truth.Rows} rows of {truth.Width} targets for {rows} predictions of {predictions.Length / Math.Max(rows, 1)} values each");
                }

                // Several targets: every figure is the mean over all targets (as training's loss is), then one line per target.
                int targets = predictions.Length / Math.Max(rows, 1);
                lines.Add((targets == 1 ? "MSE (original units)" : $"MSE (original units, mean of {targets} targets)", Number(PredictionScoring.MeanSquaredError(predictions, truth.Data)), "-"));
                double[]? std = TargetScaling.Read(metadata, OnnxExporter.TargetStdKey);
                if (std is not null && std.All(s => s > 0 && double.IsFinite(s)) && (std.Length == 1 || std.Length == targets))
                {
                    string name = targets == 1 ? "loss (MSE, normalised targets)" : $"loss (MSE, normalised targets, mean of {targets})";
                    lines.Add((name, Number(PredictionScoring.MeanSquaredError(predictions, truth.Data, std)), Number(engine?.TestLoss)));
                }

                if (targets > 1)
                {
                    var names = TargetScaling.TargetNames(metadata) is { } n && n.Count == targets ? n : null;
                    for (int t = 0; t < targets; t++)
                    {
                        double mse = PredictionScoring.MeanSquaredError(predictions, truth.Data, targets, t);
                        string target = names?[t] ?? $"target {t}";
                        lines.Add(($"MSE of {target} (original units)", Number(mse), "-"));
                        lines.Add(($"RMSE of {target} (original units)", Number(Math.Sqrt(mse)), "-"));
                    }
                }
            }
            else
            {
                throw new UserInputException($"the model has neither a '{OnnxExporter.LogitsName}' nor a '{OnnxExporter.PredictionName}' output, so it cannot be scored");
            }
        }
        catch (ArgumentException e)
        {
            throw new UserInputException($"{truthSource}: {e.Message}");
        }

        string title = $"scores on {rows.ToString("N0", CultureInfo.InvariantCulture)} rows";
        string onnxHeader = $"ONNX Runtime ({providerName})";
        string engineHeader = engine is null ? string.Empty : "engine (summary.json)";
        int nameWidth = Math.Max(title.Length, lines.Max(l => l.Name.Length + 2)) + 3;
        int onnxWidth = Math.Max(onnxHeader.Length, lines.Max(l => l.Onnx.Length)) + 3;
        Console.WriteLine($"{title.PadRight(nameWidth)}{onnxHeader.PadRight(onnxWidth)}{engineHeader}".TrimEnd());
        foreach (var (name, onnx, engineValue) in lines)
        {
            Console.WriteLine($"  {name}".PadRight(nameWidth) + (engine is null ? onnx : onnx.PadRight(onnxWidth) + engineValue));
        }
    }

    private static string Percent(double? value) =>
        value is { } v && double.IsFinite(v) ? (v * 100).ToString("F2", CultureInfo.InvariantCulture) + "%" : "-";

    private static string Number(double? value) =>
        value is { } v ? v.ToString("F6", CultureInfo.InvariantCulture) : "-";
}
