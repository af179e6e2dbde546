namespace OnePass.Training.Checkpoints;

/// <summary>A checkpoint file that cannot be read: wrong format, another version, or truncated.</summary>
public sealed class CheckpointException(string path, string problem) : IOException($"{path}: {problem}")
{
    /// <summary>The checkpoint file.</summary>
    public string FilePath { get; } = path;
}
