using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OnePass.Training.Training;

namespace OnePass.Cli.Commands;

/// <summary>`onepass report DIR`: merges every summary.json a sweep (or its shards) wrote and summarises per algorithm.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("dir") { Description = "Sweep folder" };
        var strict = new Option<bool>("--strict") { Description = "A summary.json that cannot be read is an error (default: a warning, and the file is skipped)" };
        var command = new Command("report", "Median and interquartile range of the final test loss per data set and algorithm; writes report.csv and report.md") { dir, strict };
        command.SetAction(parse => CliAction.Run(_ =>
        {
            string root = parse.GetValue(dir)!;
            if (!Directory.Exists(root))
            {
                throw new UserInputException($"{root} is not a folder");
            }

            var rows = new List<(string DataSet, string Algorithm, double Loss, double? Accuracy, double Wall, bool Diverged, string File, bool LanguageModel)>();
            foreach (string file in Directory.EnumerateFiles(root, "summary.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                try
                {
                    using var doc = JsonDocument.Parse(File.ReadAllText(file), new JsonDocumentOptions());
                    var r = doc.RootElement;
                    var final = r.GetProperty("final");
                    double loss = final.GetProperty("test_loss").ValueKind == JsonValueKind.Number ? final.GetProperty("test_loss").GetDouble() : double.NaN;
                    double? acc = final.TryGetProperty("test_accuracy", out var a) && a.ValueKind == JsonValueKind.Number ? a.GetDouble() : null;
                    string dataSet = r.TryGetProperty("dataset", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "unknown data set";
                    rows.Add((dataSet, r.GetProperty("algorithm").GetString() ?? throw new InvalidDataException("'algorithm' is null"), loss, acc,
                        r.GetProperty("wall_seconds").GetDouble(), r.GetProperty("diverged").GetBoolean() || !double.IsFinite(loss), file,
                        r.TryGetProperty("initial", out var initial) && initial.TryGetProperty("test_perplexity", out JsonElement _)));
                }
                catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or InvalidDataException)
                {
                    string why = e is KeyNotFoundException ? "a required field (final.test_loss, algorithm, wall_seconds, diverged) is missing" : e.Message.ReplaceLineEndings(" ");
                    string message = $"{file}: not a readable summary.json ({why})";
                    if (parse.GetValue(strict))
                    {
                        throw new UserInputException(message);
                    }

                    Console.Error.WriteLine($"onepass: warning: skipping {message}");
                }
            }

            if (rows.Count == 0)
            {
                throw new UserInputException($"no summary.json under {root}");
            }

            var inv = CultureInfo.InvariantCulture;
            var md = new StringBuilder();
            var csv = new StringBuilder("dataset,algorithm,runs,diverged,median_test_loss,q1_test_loss,q3_test_loss,median_test_accuracy,median_wall_seconds\n");
            // Runs on different data sets never share a row: one table per data set.
            foreach (var dataSet in rows.GroupBy(r => r.DataSet).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                md.AppendLine(inv, $"## {dataSet.Key}").AppendLine();
                string? differing = DifferingSettings(dataSet.Select(r => r.File));
                if (differing is not null)
                {
                    md.AppendLine(inv, $"Note: these runs' configurations differ in more than the initial hyperparameters: {differing}.").AppendLine();
                }

                // A language model's perplexity is exp(loss), monotone: the median perplexity is exp(median loss).
                bool languageModel = dataSet.All(r => r.LanguageModel);
                md.Append(languageModel
                    ? "| algorithm | runs | diverged | median test loss | IQR | median test perplexity | median test accuracy | median wall s |\n|---|---|---|---|---|---|---|---|\n"
                    : "| algorithm | runs | diverged | median test loss | IQR | median test accuracy | median wall s |\n|---|---|---|---|---|---|---|\n");
                foreach (var group in dataSet.GroupBy(r => r.Algorithm).OrderBy(g => g.Key, StringComparer.Ordinal))
                {
                    // A diverged run ranks worst (test loss +∞, accuracy 0) instead of leaving the sample, which would flatter
                    // the algorithms that diverge most.
                    int diverged = group.Count(r => r.Diverged);
                    double[] losses = group.Select(r => r.Diverged ? double.PositiveInfinity : r.Loss).Order().ToArray();
                    bool classification = group.Any(r => r.Accuracy is not null);
                    double[] accs = classification ? group.Select(r => r.Diverged ? 0.0 : r.Accuracy ?? 0.0).Order().ToArray() : [];
                    double med = Quantile(losses, 0.5), q1 = Quantile(losses, 0.25), q3 = Quantile(losses, 0.75);
                    double acc = Quantile(accs, 0.5), wall = Quantile(group.Select(r => r.Wall).Order().ToArray(), 0.5);
                    string accText = accs.Length > 0 ? acc.ToString("P2", inv) : "-";
                    string perplexity = languageModel ? $" {(double.IsFinite(med) ? Math.Exp(med).ToString("F1", inv) : "∞")} |" : "";
                    md.AppendLine(inv, $"| {group.Key} | {group.Count()} | {diverged} | {Text(med)} | [{Text(q1)}, {Text(q3)}] |{perplexity} {accText} | {wall:F2} |");
                    csv.AppendLine(inv, $"{dataSet.Key},{group.Key},{group.Count()},{diverged},{med:R},{q1:R},{q3:R},{(accs.Length > 0 ? acc.ToString("R", inv) : "")},{wall:R}");
                }

                md.AppendLine();
            }

            if (rows.Any(r => r.Diverged))
            {
                md.AppendLine().AppendLine("Diverged runs rank worst: test loss ∞ and accuracy 0 in the medians and quartiles.");
            }

            bool several = rows.Select(r => r.DataSet).Distinct().Count() > 1;
            var groups = rows.GroupBy(r => several ? $"{r.DataSet}/{r.Algorithm}" : r.Algorithm).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => (g.Key, g.Select(r => r.Loss).ToArray())).ToList();
            try
            {
                OnePass.Training.Reporting.BoxPlot.Write(Path.Combine(root, "report.png"), groups, "final test loss");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Console.Error.WriteLine($"onepass: warning: report.png not written ({e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")})");
            }

            AtomicFile.WriteAllText(Path.Combine(root, "report.md"), md.ToString());
            AtomicFile.WriteAllText(Path.Combine(root, "report.csv"), csv.ToString());
            Console.Write(md.ToString());
            Console.WriteLine($"written {Path.Combine(root, "report.md")}, report.csv and report.png");
            return 0;
        }));
        return command;
    }

    // Settings (other than the initial hyperparameters, the algorithm and the seed, which a sweep varies) whose values
    // differ between the runs' config.yaml files, e.g. "hyperparameter_steps (150, 400)"; null when none differ.
    private static string? DifferingSettings(IEnumerable<string> summaryFiles)
    {
        string[] varied = ["lr", "weight_decay", "momentum", "algorithm", "seed"];
        var values = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (string summary in summaryFiles)
        {
            string config = Path.Combine(Path.GetDirectoryName(summary)!, "config.yaml");
            if (!File.Exists(config))
            {
                continue;
            }

            Dictionary<string, string> flat;
            try
            {
                flat = SweepResume.Flatten(File.ReadAllText(config));
            }
            catch (YamlDotNet.Core.YamlException)
            {
                continue;
            }

            foreach (var (key, value) in flat.Where(kv => !varied.Contains(kv.Key)))
            {
                if (!values.TryGetValue(key, out var set))
                {
                    values[key] = set = new SortedSet<string>(StringComparer.Ordinal);
                }

                set.Add(value);
            }
        }

        var differing = values.Where(kv => kv.Value.Count > 1).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => $"{kv.Key} ({string.Join(", ", kv.Value)})").ToList();
        return differing.Count == 0 ? null : string.Join("; ", differing);
    }

    private static string Text(double value) => double.IsPositiveInfinity(value) ? "∞" : value.ToString("F4", CultureInfo.InvariantCulture);

    // Linear interpolation between order statistics (NaN for an empty list); between a finite value and +∞, +∞.
    private static double Quantile(double[] sorted, double q)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        if (lo == hi || double.IsPositiveInfinity(sorted[hi]))
        {
            return sorted[hi];
        }

        return sorted[lo] + ((pos - lo) * (sorted[hi] - sorted[lo]));
    }
}
