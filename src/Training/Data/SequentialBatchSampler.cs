namespace OnePass.Training.Data;

/// <summary>
/// Consecutive rows of a split, in order and without shuffling, for truncated back-propagation through time over a
/// token stream (<see cref="DataSet.IsTokenStream"/>): batch k holds rows <c>k·B .. k·B + B − 1</c>, the last batch
/// of a pass holds what is left (fewer rows, as the reference's <c>seq_len = min(bptt, len − 1 − i)</c>), and the
/// pass then starts again at row 0 with <see cref="Batch.StartsPass"/> set, the moment carried states restart.
/// </summary>
public sealed class SequentialBatchSampler : IBatchSource
{
    private readonly DataSplit _split;
    private readonly Dictionary<int, Batch> _buffers = [];
    private int _next;

    /// <summary>Creates the sampler over <paramref name="split"/> with <paramref name="batchRows"/> rows a batch.</summary>
    public SequentialBatchSampler(DataSplit split, int batchRows)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchRows);
        if (split.Count == 0)
        {
            throw new ArgumentException("Cannot take batches from an empty split.", nameof(split));
        }

        _split = split;
        BatchRows = batchRows;
    }

    /// <summary>Rows of a full batch.</summary>
    public int BatchRows { get; }

    /// <summary>Batches per pass (the last may be short).</summary>
    public int BatchesPerPass => (_split.Count + BatchRows - 1) / BatchRows;

    /// <summary>Completed passes so far.</summary>
    public int Pass { get; private set; }

    /// <inheritdoc />
    /// <remarks>The batch is a buffer of this sampler (one per batch length), overwritten by a later batch of that length.</remarks>
    public Batch Next()
    {
        int start = _next;
        int rows = Math.Min(BatchRows, _split.Count - start);
        if (!_buffers.TryGetValue(rows, out var batch))
        {
            batch = new Batch(rows, _split.InputWidth, _split.TargetWidth);
            _buffers[rows] = batch;
        }

        _split.Inputs.AsSpan(start * _split.InputWidth, rows * _split.InputWidth).CopyTo(batch.Inputs);
        _split.Targets.AsSpan(start * _split.TargetWidth, rows * _split.TargetWidth).CopyTo(batch.Targets);
        batch.StartsPass = start == 0;
        _next = start + rows;
        if (_next == _split.Count)
        {
            _next = 0;
            Pass++;
        }

        return batch;
    }
}
