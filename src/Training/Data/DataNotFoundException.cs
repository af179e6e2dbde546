namespace OnePass.Training.Data;

/// <summary>
/// No usable copy of a data set was found. The message lists every place tried and what to do.
/// </summary>
public sealed class DataNotFoundException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The full message, listing the options tried.</param>
    /// <param name="attempts">One line per option tried, with why it did not qualify.</param>
    public DataNotFoundException(string message, IReadOnlyList<string> attempts)
        : base(message)
    {
        Attempts = attempts;
    }

    /// <summary>One line per option tried, with why it did not qualify.</summary>
    public IReadOnlyList<string> Attempts { get; }
}
