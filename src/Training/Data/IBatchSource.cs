namespace OnePass.Training.Data;

/// <summary>Where training or validation batches come from: shuffled rows, or consecutive rows of a token stream.</summary>
public interface IBatchSource
{
    /// <summary>
    /// The next batch. It may be a buffer owned by the source that the next call overwrites: copy it to keep it.
    /// </summary>
    Batch Next();
}
