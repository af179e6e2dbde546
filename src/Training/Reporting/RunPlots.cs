using System.Globalization;

namespace OnePass.Training.Reporting;

/// <summary>PNG plots of a run's metrics.csv: loss curves per split, and hyperparameter trajectories (log scale).</summary>
public static class RunPlots
{
    /// <summary>Writes losses.png and hyperparameters.png beside <paramref name="metricsPath"/>.</summary>
    public static void Write(string metricsPath)
    {
        string[] lines = File.ReadAllLines(metricsPath);
        if (lines.Length < 2)
        {
            return;
        }

        string[] header = lines[0].Split(',');
        double[][] columns = header.Select((_, c) => lines.Skip(1).Select(l => Parse(l.Split(',')[c])).ToArray()).ToArray();
        double[] steps = columns[0];
        string dir = Path.GetDirectoryName(Path.GetFullPath(metricsPath))!;

        var losses = new ScottPlot.Plot();
        foreach (string name in new[] { "training_loss", "validation_loss", "test_loss" })
        {
            int c = Array.IndexOf(header, name);
            if (c >= 0 && columns[c].Any(double.IsFinite))
            {
                losses.Add.Scatter(steps, columns[c]).LegendText = name;
            }
        }

        losses.XLabel("weight step");
        losses.YLabel("loss");
        losses.ShowLegend();
        Training.AtomicFile.Write(Path.Combine(dir, "losses.png"), temp => losses.SavePng(temp, 900, 500));

        var hypers = new ScottPlot.Plot();
        int first = Array.IndexOf(header, "lr") >= 0 ? Array.IndexOf(header, "lr") : Array.FindIndex(header, h => h.StartsWith("lr.", StringComparison.Ordinal));
        for (int c = Math.Max(first, 0); c < header.Length && first >= 0; c++)
        {
            hypers.Add.Scatter(steps, columns[c].Select(v => v > 0 ? Math.Log10(v) : double.NaN).ToArray()).LegendText = header[c];
        }

        hypers.XLabel("weight step");
        hypers.YLabel("log10 value (per-weight lr: mean and quantiles 0, .25, .5, .75, 1)");
        hypers.ShowLegend();
        Training.AtomicFile.Write(Path.Combine(dir, "hyperparameters.png"), temp => hypers.SavePng(temp, 900, 500));
    }

    private static double Parse(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;
}
