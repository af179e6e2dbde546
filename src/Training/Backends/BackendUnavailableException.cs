namespace OnePass.Training.Backends;

/// <summary>The requested backend cannot run on this machine; the message says why in one line.</summary>
public sealed class BackendUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BackendUnavailableException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
