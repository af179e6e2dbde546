using System.CommandLine;
using OnePass.Export;
using OnePass.Training.Checkpoints;

namespace OnePass.Cli.Commands;

/// <summary>`onepass export`: a train run's checkpoint as a self-describing ONNX model.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "Output folder of `onepass train` (holds model.ckpt)", Required = true };
        var output = new Option<string?>("--out") { Description = "ONNX file to write (default RUN/model.onnx)" };
        var command = new Command("export", "Export a trained model to ONNX (input normalisation and target scaling inside the graph)") { run, output };
        command.SetAction(parse => CliAction.Run(_ =>
        {
            string dir = parse.GetValue(run)!;
            string checkpointPath = Path.Combine(dir, Checkpoint.FileName);
            if (!File.Exists(checkpointPath))
            {
                throw new UserInputException($"{checkpointPath} does not exist: --run must name a folder written by `onepass train`");
            }

            var checkpoint = Checkpoint.Load(checkpointPath);
            if (checkpoint.Warning is { } warning)
            {
                Console.Error.WriteLine($"onepass: warning: {warning}");
            }

            var model = OnnxExporter.Export(checkpoint, checkpointPath);
            string path = parse.GetValue(output) ?? Path.Combine(dir, "model.onnx");
            OnnxModelWriter.Save(model, path);
            Console.WriteLine($"wrote {path} ({new FileInfo(path).Length:N0} bytes): {model.DocString}");
            foreach (var entry in model.MetadataProps)
            {
                // A language model's vocabulary is thousands of lines: say how many words, and the first few.
                string value = entry.Key == LanguageModelExporter.VocabularyKey
                    ? VocabularySummary(entry.Value.Split('\n'))
                    : entry.Value;
                Console.WriteLine($"  {entry.Key} = {value}");
            }

            return 0;
        }));
        return command;
    }

    private static string VocabularySummary(string[] words) =>
        $"{words.Length:N0} words ({string.Join(" ", words.Take(8))}{(words.Length > 8 ? " …" : string.Empty)})";
}
