namespace OnePass.Training.Data;

/// <summary>
/// A mini-batch: row-major inputs and targets for <see cref="Count"/> rows. A batch returned by
/// <see cref="BatchSampler.Next"/> is a buffer owned by the sampler and is overwritten by the next
/// call; copy it to keep it.
/// </summary>
public sealed class Batch
{
    /// <summary>Creates an empty batch with room for <paramref name="count"/> rows.</summary>
    public Batch(int count, int inputWidth, int targetWidth)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetWidth);
        Inputs = new float[checked(count * inputWidth)];
        Targets = new float[checked(count * targetWidth)];
        Count = count;
        InputWidth = inputWidth;
        TargetWidth = targetWidth;
    }

    /// <summary>Inputs, row-major, <see cref="Count"/> × <see cref="InputWidth"/>.</summary>
    public float[] Inputs { get; }

    /// <summary>Targets, row-major, <see cref="Count"/> × <see cref="TargetWidth"/>.</summary>
    public float[] Targets { get; }

    /// <summary>
    /// True for the first batch of a pass through a token stream (<see cref="SequentialBatchSampler"/>): carried
    /// recurrent states must restart from zero before it. Always false for shuffled batches.
    /// </summary>
    public bool StartsPass { get; internal set; }

    /// <summary>Number of rows.</summary>
    public int Count { get; }

    /// <summary>Input features per row.</summary>
    public int InputWidth { get; }

    /// <summary>Target values per row.</summary>
    public int TargetWidth { get; }

    /// <summary>
    /// A new batch holding copies of rows <c>[start, start + count)</c> of <paramref name="split"/>,
    /// for sequential evaluation.
    /// </summary>
    public static Batch FromSplit(DataSplit split, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if ((long)start + count > split.Count)
        {
            throw new ArgumentOutOfRangeException(
                nameof(count), $"Rows {start}..{(long)start + count} exceed the split's {split.Count} rows.");
        }

        var batch = new Batch(count, split.InputWidth, split.TargetWidth);
        split.Inputs.AsSpan(start * split.InputWidth, count * split.InputWidth).CopyTo(batch.Inputs);
        split.Targets.AsSpan(start * split.TargetWidth, count * split.TargetWidth).CopyTo(batch.Targets);
        return batch;
    }

    /// <summary>Copies row <paramref name="row"/> of <paramref name="split"/> into slot <paramref name="slot"/>.</summary>
    internal void CopyRow(DataSplit split, int row, int slot)
    {
        split.Inputs.AsSpan(row * InputWidth, InputWidth).CopyTo(Inputs.AsSpan(slot * InputWidth, InputWidth));
        split.Targets.AsSpan(row * TargetWidth, TargetWidth).CopyTo(Targets.AsSpan(slot * TargetWidth, TargetWidth));
    }
}
