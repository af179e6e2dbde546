namespace OnePass.Training.Data;

/// <summary>
/// The affine normalisation applied to raw data: <c>normalised = (raw − mean) / std</c>, per input
/// feature and (for regression) for the target. An exported model can fold these constants in so
/// that it consumes raw values (for Fashion-MNIST: pixel bytes 0..255, so mean and std are in byte
/// units).
/// </summary>
public sealed class Normalisation
{
    /// <summary>Smallest standard deviation used; constant columns get this instead of zero.</summary>
    public const float MinStd = 1e-6f;

    /// <summary>Creates a normalisation; standard deviations are floored at <see cref="MinStd"/>.</summary>
    /// <param name="inputMean">Per-feature mean of the raw inputs.</param>
    /// <param name="inputStd">Per-feature standard deviation of the raw inputs.</param>
    /// <param name="targetMean">Mean of the raw regression target (0 for classification).</param>
    /// <param name="targetStd">Standard deviation of the raw regression target (1 for classification).</param>
    public Normalisation(float[] inputMean, float[] inputStd, float targetMean = 0f, float targetStd = 1f)
    {
        ArgumentNullException.ThrowIfNull(inputMean);
        ArgumentNullException.ThrowIfNull(inputStd);
        if (inputMean.Length != inputStd.Length)
        {
            throw new ArgumentException(
                $"inputMean has {inputMean.Length} entries but inputStd has {inputStd.Length}.", nameof(inputStd));
        }

        InputMean = inputMean;
        InputStd = new float[inputStd.Length];
        for (int i = 0; i < inputStd.Length; i++)
        {
            InputStd[i] = Floor(inputStd[i]);
        }

        TargetMean = targetMean;
        TargetStd = Floor(targetStd);
    }

    /// <summary>Per-input-feature mean of the raw data.</summary>
    public float[] InputMean { get; }

    /// <summary>Per-input-feature standard deviation of the raw data (at least <see cref="MinStd"/>).</summary>
    public float[] InputStd { get; }

    /// <summary>Mean of the raw regression target; 0 for classification.</summary>
    public float TargetMean { get; }

    /// <summary>Standard deviation of the raw regression target; 1 for classification.</summary>
    public float TargetStd { get; }

    /// <summary>Number of input features.</summary>
    public int InputWidth => InputMean.Length;

    /// <summary>Normalises one raw input row into <paramref name="destination"/>.</summary>
    public void NormaliseInput(ReadOnlySpan<float> raw, Span<float> destination)
    {
        if (raw.Length != InputWidth || destination.Length != InputWidth)
        {
            throw new ArgumentException($"Rows must have {InputWidth} features.");
        }

        for (int i = 0; i < raw.Length; i++)
        {
            destination[i] = (raw[i] - InputMean[i]) / InputStd[i];
        }
    }

    /// <summary>Normalises a raw target value.</summary>
    public float NormaliseTarget(float raw) => (raw - TargetMean) / TargetStd;

    /// <summary>Maps a normalised target (or prediction) back to raw units.</summary>
    public float DenormaliseTarget(float normalised) => normalised * TargetStd + TargetMean;

    private static float Floor(float std) => float.IsFinite(std) && std > MinStd ? std : MinStd;
}
