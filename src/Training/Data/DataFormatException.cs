namespace OnePass.Training.Data;

/// <summary>A data file is missing or malformed. The message names the file and the problem.</summary>
public sealed class DataFormatException : Exception
{
    /// <summary>Creates the exception; the message is <c>"{filePath}: {problem}"</c>.</summary>
    /// <param name="filePath">The file at fault.</param>
    /// <param name="problem">What is wrong, including a line number or byte offset where known.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public DataFormatException(string filePath, string problem, Exception? innerException = null)
        : base($"{filePath}: {problem}", innerException)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file at fault.</summary>
    public string FilePath { get; }

    /// <summary>The problem, without the file path.</summary>
    public string Problem { get; }
}
