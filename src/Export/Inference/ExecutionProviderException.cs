namespace OnePass.Export;

/// <summary>The requested execution provider (e.g. CUDA) could not be initialised.</summary>
public sealed class ExecutionProviderException : InvalidOperationException
{
    /// <summary>Creates the exception with a one-line message.</summary>
    public ExecutionProviderException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
