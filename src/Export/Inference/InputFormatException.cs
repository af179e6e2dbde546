namespace OnePass.Export;

/// <summary>An inference input file is malformed. The message is one line naming the file (and line/column where known).</summary>
public sealed class InputFormatException : FormatException
{
    /// <summary>Creates the exception; <paramref name="line"/> and <paramref name="column"/> are 1-based, 0 when not applicable.</summary>
    public InputFormatException(string path, string reason, int line = 0, int column = 0, Exception? innerException = null)
        : base(Format(path, reason, line, column), innerException)
    {
        FilePath = path;
        Line = line;
        Column = column;
    }

    /// <summary>The offending file.</summary>
    public string FilePath { get; }

    /// <summary>1-based line number, or 0.</summary>
    public int Line { get; }

    /// <summary>1-based column number, or 0.</summary>
    public int Column { get; }

    private static string Format(string path, string reason, int line, int column)
    {
        var location = Path.GetFileName(path);
        if (line > 0)
        {
            location += $", line {line}";
        }

        if (column > 0)
        {
            location += $", column {column}";
        }

        return $"{location}: {reason}";
    }
}
