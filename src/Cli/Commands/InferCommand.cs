using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using OnePass.Export;

namespace OnePass.Cli.Commands;

/// <summary>`onepass infer`: serve an exported model through ONNX Runtime, optionally scoring it against labels.</summary>
internal static class InferCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "ONNX model written by `onepass export`", Required = true };
        var input = new Option<string?>("--input") { Description = "Rows to score: CSV (one example per row, raw features, optional header), an IDX image file (raw or .gz) or a CIFAR-10 binary batch (.bin); for a language model, a text file (words split on white space, <eos> after each line) to score" };
        var labels = new Option<string?>("--labels") { Description = "With --input: true labels (IDX labels file, one-column CSV, or the CIFAR-10 .bin batch itself) or regression targets (CSV, original units, one column per target, taken by name when the model has several and the file a header); prints accuracy or MSE" };
        var testSet = new Option<string?>("--test-set") { Description = "Score a data set's raw test split instead of --input: a name (fashion-mnist, cifar10, uci-energy, …) or a training configuration (.yaml) whose data set to use" };
        var dataDir = CommonOptions.DataDir();
        var run = new Option<string?>("--run") { Description = "The train output folder whose summary.json holds the engine's test figures, printed beside ONNX Runtime's" };
        var provider = new Option<string>("--provider") { Description = "Execution provider: auto (CUDA, else CPU), cuda or cpu", DefaultValueFactory = _ => "auto" };
        var batch = new Option<int>("--batch") { Description = $"Rows per ONNX Runtime call (language model: tokens per call, default {LanguageModelInfer.DefaultChunk})", DefaultValueFactory = _ => 8192 };
        var output = new Option<string?>("--out") { Description = "Predictions CSV to write (default with --input: INPUT.predictions.csv; with --test-set: none)" };
        var header = new Option<bool>("--header") { Description = "The CSV's first row is a header (default: a header only when every cell of row 1 is a name)" };
        var noHeader = new Option<bool>("--no-header") { Description = "The CSV has no header: row 1 is data" };
        var allowNonFinite = new Option<bool>("--allow-nonfinite") { Description = "Pass NaN, ±Infinity and out-of-range CSV values to the model instead of rejecting them" };
        var prompt = new Option<string?>("--prompt") { Description = "Language model: words to continue by greedy decoding (instead of --input)" };
        var generate = new Option<int>("--generate") { Description = $"Language model, with --prompt: words to generate (default {LanguageModelInfer.DefaultGenerate})", DefaultValueFactory = _ => LanguageModelInfer.DefaultGenerate };
        var json = new Option<bool>("--json") { Description = "Language model: print one JSON object instead of text" };
        var command = new Command("infer", "Run an exported model with ONNX Runtime: write predictions, print throughput and, given labels, accuracy or MSE; score a text or continue a prompt with a language model")
        {
            model, input, labels, testSet, dataDir, run, provider, batch, output, header, noHeader, allowNonFinite, prompt, generate, json,
        };
        command.SetAction(parse => CliAction.Run(_ =>
        {
            var choice = ParseProvider(parse.GetValue(provider));
            int batchRows = parse.GetValue(batch);
            if (batchRows <= 0)
            {
                throw new UserInputException($"--batch {batchRows}: must be positive");
            }

            string? inputPath = parse.GetValue(input);
            string? testName = parse.GetValue(testSet);
            string? labelsPath = parse.GetValue(labels);
            string? promptText = parse.GetValue(prompt);
            string modelFile = parse.GetValue(model)!;
            bool languageModel = !Directory.Exists(modelFile) && File.Exists(modelFile)
                && LanguageModelSession.IsLanguageModel(OnnxModelReader.LoadMetadata(modelFile).Metadata);
            if (languageModel)
            {
                string? unsupported = labelsPath is not null ? "--labels" : testName is not null ? "--test-set" : parse.GetValue(output) is not null ? "--out"
                    : parse.GetValue(header) ? "--header" : parse.GetValue(noHeader) ? "--no-header" : parse.GetValue(allowNonFinite) ? "--allow-nonfinite" : null;
                if (unsupported is not null)
                {
                    throw new UserInputException($"{unsupported} does not apply to the language model {modelFile}: give --input TEXT to score a text or --prompt WORDS to continue one");
                }

                if ((inputPath is null) == (promptText is null))
                {
                    throw new UserInputException($"{modelFile} is a language model: give exactly one of --input TEXT (score a text) and --prompt WORDS (continue it)");
                }

                int words = parse.GetValue(generate);
                if (parse.GetResult(generate) is { Implicit: false } && promptText is null)
                {
                    throw new UserInputException("--generate goes with --prompt");
                }

                if (words <= 0)
                {
                    throw new UserInputException($"--generate {words}: must be positive");
                }

                int chunk = parse.GetResult(batch) is { Implicit: false } ? batchRows : LanguageModelInfer.DefaultChunk;
                return LanguageModelInfer.Run(new LanguageModelInfer.Request(modelFile, inputPath, promptText, words, chunk, choice, parse.GetValue(json), parse.GetValue(run)));
            }

            if (File.Exists(modelFile) && (promptText is not null || parse.GetResult(generate) is { Implicit: false } || parse.GetValue(json)))
            {
                string given = promptText is not null ? "--prompt" : parse.GetValue(json) ? "--json" : "--generate";
                throw new UserInputException($"{given} goes with a language model; {modelFile} is not one (its metadata has no vocabulary)");
            }

            if ((inputPath is null) == (testName is null))
            {
                throw new UserInputException("give exactly one of --input FILE and --test-set NAME");
            }

            if (labelsPath is not null && testName is not null)
            {
                throw new UserInputException("--labels goes with --input; --test-set brings its own labels");
            }

            if (parse.GetValue(header) && parse.GetValue(noHeader))
            {
                throw new UserInputException("give at most one of --header and --no-header");
            }

            var csv = new CsvReadOptions(
                parse.GetValue(header) ? CsvHeader.Present : parse.GetValue(noHeader) ? CsvHeader.Absent : CsvHeader.Auto,
                parse.GetValue(allowNonFinite));
            string modelPath = parse.GetValue(model)!;
            if (Directory.Exists(modelPath))
            {
                throw new UserInputException($"--model '{modelPath}' is a folder, not an ONNX file");
            }

            using var session = OnnxInferenceSession.Create(modelPath, choice, line => Console.Error.WriteLine($"onepass: {line}"));
            session.MaxBatchRows = batchRows;

            InferenceBatch rows;
            InferenceBatch? truth = null;
            string source;
            if (testName is not null)
            {
                (rows, truth) = TestSetRows.Read(testName, parse.GetValue(dataDir));
                source = $"{testName} test split";
            }
            else
            {
                // A model trained on a table with a header takes a CSV's columns by name, in any order.
                var names = ColumnOrder.ModelInputNames(OnnxModelReader.LoadMetadata(modelPath).Metadata, modelPath);
                rows = InferenceInput.Read(inputPath!, csv with { Columns = names });
                // A multi-target model's targets are taken from a labels CSV with a header by name, in any order.
                var targetNames = TargetScaling.TargetNames(OnnxModelReader.LoadMetadata(modelPath).Metadata);
                truth = labelsPath is null ? null : InferenceLabels.Read(labelsPath, targetNames is { Count: > 1 } ? targetNames : null);
                source = inputPath!;
            }

            if (rows.Width != session.InputWidth)
            {
                throw new UserInputException($"{source}: {InputWidthException.Describe(session.InputWidth, rows.Width, session.InputShape, rows.Shape)}");
            }

            // A small warm-up call keeps one-time session set-up out of the throughput figure.
            int warm = Math.Min(rows.Rows, 16);
            session.Run(rows.Data.AsSpan(0, warm * rows.Width).ToArray(), warm);
            var clock = Stopwatch.StartNew();
            var outputs = session.Run(rows.Data, rows.Rows);
            double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            var inv = CultureInfo.InvariantCulture;
            string providerName = session.UsesCuda ? "CUDA" : "CPU";
            Console.WriteLine($"{rows.Rows.ToString("N0", inv)} rows in {(seconds * 1000).ToString("F1", inv)} ms: {(rows.Rows / seconds).ToString("N0", inv)} rows/s ({providerName} execution provider, batch {batchRows})");

            string? outPath = parse.GetValue(output) ?? (inputPath is null ? null : inputPath + ".predictions.csv");
            if (outPath is not null)
            {
                // A multi-target regression model's prediction columns are headed by its target names.
                var targetNames = TargetScaling.TargetNames(OnnxModelReader.LoadMetadata(modelPath).Metadata);
                var columnNames = targetNames is { Count: > 1 }
                    ? new Dictionary<string, IReadOnlyList<string>> { [OnnxExporter.PredictionName] = targetNames }
                    : null;
                PredictionWriter.WriteCsv(outPath, session.OutputNames, outputs, rows.Rows, columnNames);
                Console.WriteLine($"predictions written to {outPath}");
            }

            if (truth is not null)
            {
                var metadata = OnnxModelReader.LoadMetadata(modelPath).Metadata;
                InferenceReport.Print(outputs, rows.Rows, truth, labelsPath ?? source, metadata, providerName, parse.GetValue(run));
            }

            return 0;
        }));
        return command;
    }

    private static ExecutionProviderChoice ParseProvider(string? name) => name switch
    {
        "auto" => ExecutionProviderChoice.Auto,
        "cuda" => ExecutionProviderChoice.Cuda,
        "cpu" => ExecutionProviderChoice.Cpu,
        _ => throw new UserInputException($"--provider '{name}': expected auto, cuda or cpu"),
    };
}
