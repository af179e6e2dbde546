namespace OnePass.Export;

/// <summary>
/// A model file is missing, corrupt, truncated or otherwise not a loadable ONNX model.
/// The message is a single line that names the file.
/// </summary>
public sealed class ModelFileException : IOException
{
    /// <summary>Creates the exception for <paramref name="path"/> with a one-line reason.</summary>
    public ModelFileException(string path, string reason, Exception? innerException = null)
        : base($"{Path.GetFileName(path)}: {OneLine(reason)}", innerException)
    {
        FilePath = path;
    }

    /// <summary>The path of the offending model file.</summary>
    public string FilePath { get; }

    internal static string OneLine(string text)
    {
        var trimmed = text.Trim();
        var end = trimmed.IndexOfAny(['\r', '\n']);
        return end < 0 ? trimmed : trimmed[..end].TrimEnd();
    }
}
