namespace OnePass.Training.Reporting;

/// <summary>A box plot (quartiles, median, whiskers at min/max) of one value per group, drawn as rectangles and lines.</summary>
public static class BoxPlot
{
    /// <summary>Writes a PNG with one box per group (NaN values left out).</summary>
    public static void Write(string path, IReadOnlyList<(string Name, double[] Values)> groups, string yLabel)
    {
        var plot = new ScottPlot.Plot();
        var ticks = new List<ScottPlot.Tick>();
        for (int i = 0; i < groups.Count; i++)
        {
            double[] v = groups[i].Values.Where(double.IsFinite).Order().ToArray();
            ticks.Add(new ScottPlot.Tick(i, groups[i].Name));
            if (v.Length == 0)
            {
                continue;
            }

            double q1 = Quantile(v, 0.25), median = Quantile(v, 0.5), q3 = Quantile(v, 0.75);
            plot.Add.Rectangle(i - 0.3, i + 0.3, q1, q3);
            plot.Add.Line(i - 0.3, median, i + 0.3, median);
            plot.Add.Line(i, v[0], i, q1);
            plot.Add.Line(i, q3, i, v[^1]);
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.YLabel(yLabel);
        Training.AtomicFile.Write(path, temp => plot.SavePng(temp, Math.Max(600, 110 * groups.Count), 500));
    }

    private static double Quantile(double[] sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + ((pos - lo) * (sorted[hi] - sorted[lo]));
    }
}
