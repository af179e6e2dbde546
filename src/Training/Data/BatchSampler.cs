namespace OnePass.Training.Data;

/// <summary>
/// Draws full-size mini-batches from a split, reshuffling (with <see cref="Random"/> seeded by the
/// given seed, so the sequence is deterministic) at the start of every epoch. An epoch ends when
/// fewer than <see cref="BatchSize"/> unseen rows remain; those rows are skipped for that epoch.
/// When the batch size is at least the row count, every call returns all rows in their stored order
/// (full-batch training).
/// </summary>
public sealed class BatchSampler : IBatchSource
{
    private readonly DataSplit _split;
    private readonly Random _random;
    private readonly int[] _order;
    private readonly Batch _batch;
    private readonly bool _fullBatch;
    private bool _fullBatchFilled;
    private int _position;

    /// <summary>Creates a sampler.</summary>
    /// <param name="split">The rows to draw from (must not be empty).</param>
    /// <param name="batchSize">Rows per batch; values ≥ the row count mean full-batch training.</param>
    /// <param name="seed">Seed of the shuffling.</param>
    public BatchSampler(DataSplit split, int batchSize, int seed)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (split.Count == 0)
        {
            throw new ArgumentException("Cannot sample batches from an empty split.", nameof(split));
        }

        _split = split;
        _random = new Random(seed);
        _fullBatch = batchSize >= split.Count;
        BatchSize = _fullBatch ? split.Count : batchSize;
        _order = new int[split.Count];
        for (int i = 0; i < _order.Length; i++)
        {
            _order[i] = i;
        }

        _batch = new Batch(BatchSize, split.InputWidth, split.TargetWidth);
        _position = _order.Length; // Forces a shuffle (a new epoch) on the first call.
        Epoch = -1;
    }

    /// <summary>Rows per batch (the row count in full-batch mode).</summary>
    public int BatchSize { get; }

    /// <summary>Full batches per epoch: <c>Count / BatchSize</c>, rounded down.</summary>
    public int BatchesPerEpoch => _split.Count / BatchSize;

    /// <summary>Zero-based index of the epoch of the most recent batch; −1 before the first.</summary>
    public int Epoch { get; private set; }

    /// <summary>
    /// The next batch. The returned object is a buffer owned by this sampler: the next call
    /// overwrites it (in full-batch mode it is filled once and returned every time).
    /// </summary>
    public Batch Next()
    {
        if (_fullBatch)
        {
            if (!_fullBatchFilled)
            {
                for (int i = 0; i < _split.Count; i++)
                {
                    _batch.CopyRow(_split, i, i);
                }

                _fullBatchFilled = true;
            }

            Epoch++;
            return _batch;
        }

        if (_position + BatchSize > _order.Length)
        {
            _random.Shuffle(_order);
            _position = 0;
            Epoch++;
        }

        for (int i = 0; i < BatchSize; i++)
        {
            _batch.CopyRow(_split, _order[_position + i], i);
        }

        _position += BatchSize;
        return _batch;
    }
}
