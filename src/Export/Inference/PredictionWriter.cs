using System.Globalization;
using System.Text;

namespace OnePass.Export;

/// <summary>Writes model predictions as CSV (invariant culture).</summary>
public static class PredictionWriter
{
    /// <summary>
    /// Writes one line per row with the outputs side by side, preceded by a header. An output with a
    /// single column is headed by its name; one with k columns by name_0 … name_{k-1}, unless
    /// <paramref name="columnNames"/> names its k columns (a multi-target regression model's target names).
    /// </summary>
    public static void WriteCsv(
        TextWriter writer,
        IReadOnlyList<string> outputNames,
        IReadOnlyDictionary<string, float[]> outputs,
        int rows,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? columnNames = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(outputNames);
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);

        var arrays = new float[outputNames.Count][];
        var widths = new int[outputNames.Count];
        var header = new List<string>();
        for (var o = 0; o < outputNames.Count; o++)
        {
            var name = outputNames[o];
            if (!outputs.TryGetValue(name, out var data))
            {
                throw new ArgumentException($"No values for output '{name}'.", nameof(outputs));
            }

            if (rows == 0 ? data.Length != 0 : data.Length % rows != 0)
            {
                throw new ArgumentException($"Output '{name}' has {data.Length} values, not a whole number of values for {rows} rows.", nameof(outputs));
            }

            arrays[o] = data;
            widths[o] = rows == 0 ? 0 : data.Length / rows;
            if (columnNames is not null && columnNames.TryGetValue(name, out var named) && named.Count == widths[o] && widths[o] > 1)
            {
                header.AddRange(named);
            }
            else if (widths[o] == 1)
            {
                header.Add(name);
            }
            else
            {
                for (var k = 0; k < widths[o]; k++)
                {
                    header.Add(string.Create(CultureInfo.InvariantCulture, $"{name}_{k}"));
                }
            }
        }

        writer.WriteLine(string.Join(",", header.Select(Escape)));
        var line = new StringBuilder();
        for (var r = 0; r < rows; r++)
        {
            line.Clear();
            for (var o = 0; o < arrays.Length; o++)
            {
                var w = widths[o];
                var baseIndex = (long)r * w;
                for (var k = 0; k < w; k++)
                {
                    if (line.Length > 0)
                    {
                        line.Append(',');
                    }

                    line.Append(arrays[o][baseIndex + k].ToString("R", CultureInfo.InvariantCulture));
                }
            }

            writer.WriteLine(line);
        }
    }

    /// <summary>Writes the predictions CSV to <paramref name="path"/> (see the <see cref="TextWriter"/> overload).</summary>
    public static void WriteCsv(
        string path,
        IReadOnlyList<string> outputNames,
        IReadOnlyDictionary<string, float[]> outputs,
        int rows,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? columnNames = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        writer.NewLine = "\n";
        WriteCsv(writer, outputNames, outputs, rows, columnNames);
    }

    private static string Escape(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
