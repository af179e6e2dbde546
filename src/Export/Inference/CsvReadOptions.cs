namespace OnePass.Export;

/// <summary>Whether the first row of an inference CSV is a header.</summary>
public enum CsvHeader
{
    /// <summary>A header only when every cell of the first row is a non-empty, non-numeric name.</summary>
    Auto,

    /// <summary>The first row is a header, whatever it holds.</summary>
    Present,

    /// <summary>Every row is data.</summary>
    Absent,
}

/// <summary>How <see cref="InferenceInput.ReadCsv(string, CsvReadOptions?)"/> treats headers and non-finite values.</summary>
/// <param name="Header">Header handling (default: detected).</param>
/// <param name="AllowNonFinite">Pass NaN, ±Infinity and values beyond float32's range through instead of rejecting them.</param>
/// <param name="Columns">
/// The columns to read, by header name and in this order (a model's input names); other columns, text ones included,
/// are skipped. Applies only to a file with a header row; null: every column, in file order.
/// </param>
public sealed record CsvReadOptions(CsvHeader Header = CsvHeader.Auto, bool AllowNonFinite = false, IReadOnlyList<string>? Columns = null)
{
    /// <summary>Detected header; non-finite values rejected.</summary>
    public static CsvReadOptions Default { get; } = new();

    /// <summary>True when <paramref name="cells"/>, the first content row, is a header under these options.</summary>
    public bool IsHeader(string[] cells) => Header switch
    {
        CsvHeader.Present => true,
        CsvHeader.Absent => false,
        _ => cells.All(IsName),
    };

    // A header cell is a name: something other than blank and other than anything a number parser would read
    // (NaN and Infinity included, so a data row of non-finite values is never mistaken for a header).
    private static bool IsName(string cell)
    {
        var trimmed = cell.AsSpan().Trim().Trim('"');
        return !trimmed.IsEmpty
            && !double.TryParse(trimmed, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _);
    }
}
