namespace OnePass.Native.Interop;

/// <summary>One place the native library search looked, and what it found there.</summary>
/// <param name="Candidate">A bare file name (handed to the system loader) or a full path.</param>
/// <param name="Outcome">"loaded", "not found by the system loader", "no such file" or "failed to load".</param>
public sealed record LibrarySearchAttempt(string Candidate, string Outcome);
