using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OnePass.Export;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Training;

namespace OnePass.Cli.Commands;

/// <summary>`onepass infer`: serve an exported model through ONNX Runtime.</summary>
internal static class InferCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "ONNX model written by `onepass export`", Required = true };
        var input = new Option<string?>("--input") { Description = "Rows to score: CSV (one example a row, raw features) or an IDX image file (raw or gzip)" };
        var testSet = new Option<string?>("--test-set") { Description = "Score a data set's test split instead (fashion-mnist, uci-energy, …) and report accuracy or loss" };
        var dataDir = CommonOptions.DataDir();
        var run = new Option<string?>("--run") { Description = "With --test-set: the train folder whose summary.json holds the engine's own test figures, printed side by side" };
        var provider = new Option<string>("--provider") { Description = "auto (CUDA execution provider, else CPU), cuda or cpu", DefaultValueFactory = _ => "auto" };
        var batch = new Option<int>("--batch") { Description = "Rows per ONNX Runtime call", DefaultValueFactory = _ => 8192 };
        var output = new Option<string?>("--out") { Description = "Predictions CSV to write (default: none with --test-set, else INPUT.predictions.csv)" };
        var command = new Command("infer", "Run an exported model with ONNX Runtime, write predictions, print throughput") { model, input, testSet, dataDir, run, provider, batch, output };
        command.SetAction(parse => CliAction.Run(_ =>
        {
            var choice = parse.GetValue(provider) switch
            {
                "auto" => ExecutionProviderChoice.Auto,
                "cuda" => ExecutionProviderChoice.Cuda,
                "cpu" => ExecutionProviderChoice.Cpu,
                var other => throw new UserInputException($"--provider '{other}': expected auto, cuda or cpu"),
            };
            if (parse.GetValue(batch) <= 0)
            {
                throw new UserInputException($"--batch {parse.GetValue(batch)}: must be positive");
            }

            string? inputPath = parse.GetValue(input);
            string? testName = parse.GetValue(testSet);
            if ((inputPath is null) == (testName is null))
            {
                throw new UserInputException("give exactly one of --input FILE and --test-set NAME");
            }

            using var session = OnnxInferenceSession.Create(parse.GetValue(model)!, choice, line => Console.Error.WriteLine($"onepass: {line}"));
            session.MaxBatchRows = parse.GetValue(batch);
            var (rows, labels, data) = testName is null ? Read(inputPath!) : ReadTestSet(testName, parse.GetValue(dataDir));
            if (rows.Width != session.InputWidth)
            {
                throw new UserInputException($"{inputPath ?? testName}: model expects {session.InputWidth} features per row, the input has {rows.Width}");
            }

            int warm = Math.Min(rows.Rows, 16);
            session.Run(rows.Data[..(warm * rows.Width)], warm);
            var clock = Stopwatch.StartNew();
            var outputs = session.Run(rows.Data, rows.Rows);
            double seconds = clock.Elapsed.TotalSeconds;
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine($"{rows.Rows} rows in {seconds * 1000:F1} ms: {(rows.Rows / seconds).ToString("N0", inv)} rows/s ({(session.UsesCuda ? "CUDA" : "CPU")} execution provider)");
            string? outPath = parse.GetValue(output) ?? (inputPath is null ? null : inputPath + ".predictions.csv");
            if (outPath is not null)
            {
                PredictionWriter.WriteCsv(outPath, session.OutputNames, outputs, rows.Rows);
                Console.WriteLine($"predictions written to {outPath}");
            }

            if (labels is not null && data is not null)
            {
                Score(outputs, labels, data, rows.Rows, parse.GetValue(run));
            }

            return 0;
        }));
        return command;
    }

    private static (InferenceBatch Rows, float[]? Labels, DataSet? Data) Read(string path) => (InferenceInput.Read(path), null, null);

    // Raw test rows of a data set: Fashion-MNIST's own IDX images (exact pixel values); UCI rows un-normalised.
    private static (InferenceBatch Rows, float[]? Labels, DataSet? Data) ReadTestSet(string name, string? dataDir)
    {
        var cfg = new TrainingConfig { DataSet = name };
        cfg.Validate();
        var data = DataSetLoader.Load(cfg, dataDir);
        if (name == FashionMnist.Name)
        {
            string dir = FashionMnistLocator.Resolve(dataDir);
            var images = InferenceInput.ReadIdxImages(FashionMnist.FindFile(dir, FashionMnist.TestImagesFile)!);
            return (images, data.Test.Targets, data);
        }

        var test = data.Test;
        var raw = new float[test.Inputs.Length];
        var norm = data.Normalisation;
        for (int i = 0; i < raw.Length; i++)
        {
            int f = i % test.InputWidth;
            raw[i] = (test.Inputs[i] * norm.InputStd[f]) + norm.InputMean[f];
        }

        return (new InferenceBatch(raw, test.Count, test.InputWidth), test.Targets, data);
    }

    private static void Score(IReadOnlyDictionary<string, float[]> outputs, float[] labels, DataSet data, int rows, string? runDir)
    {
        var inv = CultureInfo.InvariantCulture;
        string engine = "";
        if (runDir is not null && File.Exists(Path.Combine(runDir, "summary.json")))
        {
            using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "summary.json")));
            var final = summary.RootElement.GetProperty("final");
            engine = data.Task == TaskKind.Classification && final.TryGetProperty("test_accuracy", out var acc)
                ? $"engine test accuracy {acc.GetDouble().ToString("P2", inv)}"
                : $"engine test loss {final.GetProperty("test_loss").GetDouble().ToString("F4", inv)}";
        }

        if (data.Task == TaskKind.Classification)
        {
            float[] logits = outputs[OnnxExporter.LogitsName];
            int classes = logits.Length / rows, correct = 0;
            for (int r = 0; r < rows; r++)
            {
                if (System.Numerics.Tensors.TensorPrimitives.IndexOfMax<float>(logits.AsSpan(r * classes, classes)) == (int)labels[r])
                {
                    correct++;
                }
            }

            Console.WriteLine($"ONNX Runtime test accuracy {((double)correct / rows).ToString("P2", inv)}" + (engine.Length > 0 ? $" | {engine}" : ""));
        }
        else
        {
            float[] predictions = outputs[OnnxExporter.PredictionName];
            var norm = data.Normalisation;
            double sum = 0;
            for (int r = 0; r < rows; r++)
            {
                double e = (predictions[r] - norm.TargetMean) / norm.TargetStd - labels[r];
                sum += e * e;
            }

            Console.WriteLine($"ONNX Runtime test loss {(sum / rows).ToString("F4", inv)} (MSE, normalised targets)" + (engine.Length > 0 ? $" | {engine}" : ""));
        }
    }
}
