namespace OnePass.Native.Interop;

/// <summary>The outcome of searching for one native library.</summary>
/// <param name="LogicalName">"cuda", "nvrtc" or "cublas".</param>
/// <param name="Handle">The loaded library, or zero when nothing loaded.</param>
/// <param name="LoadedFrom">The candidate that loaded, or null.</param>
/// <param name="Attempts">Every candidate tried, in order.</param>
public sealed record LibrarySearchResult(string LogicalName, nint Handle, string? LoadedFrom, IReadOnlyList<LibrarySearchAttempt> Attempts)
{
    /// <summary>True when a candidate loaded.</summary>
    public bool Found => Handle != 0;
}
