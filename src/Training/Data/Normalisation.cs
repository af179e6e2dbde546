namespace OnePass.Training.Data;

/// <summary>
/// The affine normalisation applied to raw data: <c>normalised = (raw − mean) / std</c>, per input
/// feature and (for regression) per target column. An exported model can fold these constants in so
/// that it consumes raw values (for Fashion-MNIST: pixel bytes 0..255, so mean and std are in byte
/// units) and returns predictions in the targets' raw units.
/// </summary>
public sealed class Normalisation
{
    /// <summary>Smallest standard deviation used; constant columns get this instead of zero.</summary>
    public const float MinStd = 1e-6f;

    /// <summary>Creates a normalisation with one target; standard deviations are floored at <see cref="MinStd"/>.</summary>
    /// <param name="inputMean">Per-feature mean of the raw inputs.</param>
    /// <param name="inputStd">Per-feature standard deviation of the raw inputs.</param>
    /// <param name="targetMean">Mean of the raw regression target (0 for classification).</param>
    /// <param name="targetStd">Standard deviation of the raw regression target (1 for classification).</param>
    public Normalisation(float[] inputMean, float[] inputStd, float targetMean = 0f, float targetStd = 1f)
        : this(inputMean, inputStd, [targetMean], [targetStd])
    {
    }

    /// <summary>Creates a normalisation with one mean and standard deviation per target column (regression).</summary>
    /// <param name="inputMean">Per-feature mean of the raw inputs.</param>
    /// <param name="inputStd">Per-feature standard deviation of the raw inputs.</param>
    /// <param name="targetMeans">Per-target mean of the raw regression targets (at least one).</param>
    /// <param name="targetStds">Per-target standard deviation of the raw regression targets.</param>
    public Normalisation(float[] inputMean, float[] inputStd, float[] targetMeans, float[] targetStds)
    {
        ArgumentNullException.ThrowIfNull(inputMean);
        ArgumentNullException.ThrowIfNull(inputStd);
        ArgumentNullException.ThrowIfNull(targetMeans);
        ArgumentNullException.ThrowIfNull(targetStds);
        if (inputMean.Length != inputStd.Length)
        {
            throw new ArgumentException(
                $"inputMean has {inputMean.Length} entries but inputStd has {inputStd.Length}.", nameof(inputStd));
        }

        if (targetMeans.Length == 0 || targetMeans.Length != targetStds.Length)
        {
            throw new ArgumentException(
                $"targetMeans has {targetMeans.Length} entries and targetStds {targetStds.Length}; expected the same positive count.", nameof(targetStds));
        }

        InputMean = inputMean;
        InputStd = Array.ConvertAll(inputStd, Floor);
        TargetMeans = (float[])targetMeans.Clone();
        TargetStds = Array.ConvertAll(targetStds, Floor);
    }

    /// <summary>Per-input-feature mean of the raw data.</summary>
    public float[] InputMean { get; }

    /// <summary>Per-input-feature standard deviation of the raw data (at least <see cref="MinStd"/>).</summary>
    public float[] InputStd { get; }

    /// <summary>Per-target-column mean of the raw regression targets; [0] for classification.</summary>
    public float[] TargetMeans { get; }

    /// <summary>Per-target-column standard deviation of the raw regression targets (each at least <see cref="MinStd"/>); [1] for classification.</summary>
    public float[] TargetStds { get; }

    /// <summary>Number of target columns the target statistics cover (1 for classification).</summary>
    public int TargetWidth => TargetMeans.Length;

    /// <summary>Mean of the raw regression target of a single-target data set; 0 for classification.</summary>
    /// <exception cref="InvalidOperationException">The data set has more than one target (use <see cref="TargetMeans"/>).</exception>
    public float TargetMean => Single(TargetMeans, nameof(TargetMeans));

    /// <summary>Standard deviation of the raw regression target of a single-target data set; 1 for classification.</summary>
    /// <exception cref="InvalidOperationException">The data set has more than one target (use <see cref="TargetStds"/>).</exception>
    public float TargetStd => Single(TargetStds, nameof(TargetStds));

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

    /// <summary>Normalises a raw value of target column <paramref name="column"/> (0: the only target).</summary>
    public float NormaliseTarget(float raw, int column = 0) => (raw - TargetMeans[column]) / TargetStds[column];

    /// <summary>Maps a normalised value (target or prediction) of target column <paramref name="column"/> back to raw units.</summary>
    public float DenormaliseTarget(float normalised, int column = 0) => normalised * TargetStds[column] + TargetMeans[column];

    /// <summary>
    /// Maps row-major normalised targets (or predictions), <see cref="TargetWidth"/> values a row, back to raw units.
    /// </summary>
    public float[] DenormaliseTargets(ReadOnlySpan<float> normalised)
    {
        int k = TargetWidth;
        if (normalised.Length % k != 0)
        {
            throw new ArgumentException($"{normalised.Length} values are not whole rows of {k} targets.", nameof(normalised));
        }

        var raw = new float[normalised.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            raw[i] = DenormaliseTarget(normalised[i], i % k);
        }

        return raw;
    }

    private static float Single(float[] values, string plural) => values.Length == 1
        ? values[0]
        : throw new InvalidOperationException($"The data set has {values.Length} targets; use {plural}.");

    private static float Floor(float std) => float.IsFinite(std) && std > MinStd ? std : MinStd;
}
