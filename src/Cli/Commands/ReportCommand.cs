using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace OnePass.Cli.Commands;

/// <summary>`onepass report DIR`: merges every summary.json a sweep (or its shards) wrote and summarises per algorithm.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("dir") { Description = "Sweep folder" };
        var command = new Command("report", "Median and interquartile range of the final test loss per algorithm; writes report.csv and report.md") { dir };
        command.SetAction(parse => CliAction.Run(_ =>
        {
            string root = parse.GetValue(dir)!;
            if (!Directory.Exists(root))
            {
                throw new UserInputException($"{root} is not a folder");
            }

            var rows = new List<(string Algorithm, double Loss, double? Accuracy, double Wall, bool Diverged)>();
            foreach (string file in Directory.EnumerateFiles(root, "summary.json", SearchOption.AllDirectories))
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(file), new JsonDocumentOptions());
                var r = doc.RootElement;
                var final = r.GetProperty("final");
                double loss = final.GetProperty("test_loss").ValueKind == JsonValueKind.Number ? final.GetProperty("test_loss").GetDouble() : double.NaN;
                double? acc = final.TryGetProperty("test_accuracy", out var a) && a.ValueKind == JsonValueKind.Number ? a.GetDouble() : null;
                rows.Add((r.GetProperty("algorithm").GetString()!, loss, acc, r.GetProperty("wall_seconds").GetDouble(), r.GetProperty("diverged").GetBoolean() || !double.IsFinite(loss)));
            }

            if (rows.Count == 0)
            {
                throw new UserInputException($"no summary.json under {root}");
            }

            var inv = CultureInfo.InvariantCulture;
            var md = new StringBuilder("| algorithm | runs | diverged | median test loss | IQR | median test accuracy | median wall s |\n|---|---|---|---|---|---|---|\n");
            var csv = new StringBuilder("algorithm,runs,diverged,median_test_loss,q1_test_loss,q3_test_loss,median_test_accuracy,median_wall_seconds\n");
            foreach (var group in rows.GroupBy(r => r.Algorithm).OrderBy(g => g.Key, StringComparer.Ordinal))
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
                md.AppendLine(inv, $"| {group.Key} | {group.Count()} | {diverged} | {Text(med)} | [{Text(q1)}, {Text(q3)}] | {accText} | {wall:F2} |");
                csv.AppendLine(inv, $"{group.Key},{group.Count()},{diverged},{med:R},{q1:R},{q3:R},{(accs.Length > 0 ? acc.ToString("R", inv) : "")},{wall:R}");
            }

            if (rows.Any(r => r.Diverged))
            {
                md.AppendLine().AppendLine("Diverged runs rank worst: test loss ∞ and accuracy 0 in the medians and quartiles.");
            }

            var groups = rows.GroupBy(r => r.Algorithm).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => (g.Key, g.Select(r => r.Loss).ToArray())).ToList();
            try
            {
                OnePass.Training.Reporting.BoxPlot.Write(Path.Combine(root, "report.png"), groups, "final test loss");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Console.Error.WriteLine($"onepass: warning: report.png not written ({e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")})");
            }

            File.WriteAllText(Path.Combine(root, "report.md"), md.ToString());
            File.WriteAllText(Path.Combine(root, "report.csv"), csv.ToString());
            Console.Write(md.ToString());
            Console.WriteLine($"written {Path.Combine(root, "report.md")}, report.csv and report.png");
            return 0;
        }));
        return command;
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
