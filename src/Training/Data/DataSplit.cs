namespace OnePass.Training.Data;

/// <summary>
/// One split (training, validation or test) of a data set, held as dense row-major arrays of
/// already-normalised values.
/// </summary>
public sealed class DataSplit
{
    /// <summary>Creates a split and checks that the array lengths agree with the shape.</summary>
    /// <param name="inputs">Row-major inputs, <paramref name="count"/> × <paramref name="inputWidth"/>.</param>
    /// <param name="targets">Row-major targets, <paramref name="count"/> × <paramref name="targetWidth"/>.</param>
    /// <param name="count">Number of rows (examples).</param>
    /// <param name="inputWidth">Number of input features per row.</param>
    /// <param name="targetWidth">Number of target values per row (1 for UCI targets and for class labels).</param>
    public DataSplit(float[] inputs, float[] targets, int count, int inputWidth, int targetWidth = 1)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetWidth);
        if (inputs.LongLength != (long)count * inputWidth)
        {
            throw new ArgumentException(
                $"inputs has {inputs.LongLength} values but {count} rows × {inputWidth} features need {(long)count * inputWidth}.",
                nameof(inputs));
        }

        if (targets.LongLength != (long)count * targetWidth)
        {
            throw new ArgumentException(
                $"targets has {targets.LongLength} values but {count} rows × {targetWidth} targets need {(long)count * targetWidth}.",
                nameof(targets));
        }

        Inputs = inputs;
        Targets = targets;
        Count = count;
        InputWidth = inputWidth;
        TargetWidth = targetWidth;
    }

    /// <summary>Normalised inputs, row-major, <see cref="Count"/> × <see cref="InputWidth"/>.</summary>
    public float[] Inputs { get; }

    /// <summary>
    /// Targets, row-major, <see cref="Count"/> × <see cref="TargetWidth"/>: normalised values for
    /// regression, class indices (or token ids) stored as <see cref="float"/> for classification: exact up to 2²⁴, and
    /// converted to int32 (with that check) when a batch is uploaded.
    /// </summary>
    public float[] Targets { get; }

    /// <summary>Number of rows (examples) in the split.</summary>
    public int Count { get; }

    /// <summary>Number of input features per row.</summary>
    public int InputWidth { get; }

    /// <summary>Number of target values per row (1 for UCI regression and for class labels).</summary>
    public int TargetWidth { get; }

    /// <summary>The inputs of row <paramref name="row"/>.</summary>
    public ReadOnlySpan<float> InputRow(int row) => Inputs.AsSpan(checked(row * InputWidth), InputWidth);

    /// <summary>The targets of row <paramref name="row"/>.</summary>
    public ReadOnlySpan<float> TargetRow(int row) => Targets.AsSpan(checked(row * TargetWidth), TargetWidth);
}
