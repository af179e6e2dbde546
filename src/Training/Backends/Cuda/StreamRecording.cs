namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// The device work a stretch of host code queued, held back instead of issued: each command is its identity (every
/// value that reaches the device — kernel or library entry point, launch shape, pointers, scalars) and a closure that
/// issues it. Two recordings with equal identities would queue exactly the same work, so a CUDA graph captured from
/// one can stand in for the other. Work is issued in recording order, on the stream the closures name.
/// </summary>
internal sealed class StreamRecording
{
    private readonly List<Action> issue = [];
    private readonly List<ulong> identity = [];

    /// <summary>Commands recorded so far.</summary>
    public int Count => issue.Count;

    /// <summary>Appends one command: its identity (a command kind first, then its values) and how to issue it.</summary>
    public void Add(ReadOnlySpan<ulong> commandIdentity, Action issueCommand)
    {
        ArgumentNullException.ThrowIfNull(issueCommand);
        identity.Add((ulong)commandIdentity.Length);
        foreach (ulong value in commandIdentity)
        {
            identity.Add(value);
        }

        issue.Add(issueCommand);
    }

    /// <summary>True when <paramref name="other"/> recorded the same commands with the same values in the same order.</summary>
    public bool SameWorkAs(StreamRecording other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return issue.Count == other.issue.Count && System.Runtime.InteropServices.CollectionsMarshal.AsSpan(identity)
            .SequenceEqual(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(other.identity));
    }

    /// <summary>Issues every command, in order (once eagerly, or once into a stream that is capturing a graph).</summary>
    public void IssueAll()
    {
        foreach (var command in issue)
        {
            command();
        }
    }
}
