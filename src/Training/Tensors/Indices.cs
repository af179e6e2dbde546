using System.Globalization;

namespace OnePass.Training.Tensors;

/// <summary>
/// Conversion of integer ids held as floats on the host (the data sets' row arrays) into int32 for an
/// <see cref="IndexBuffer"/>. A float holds every integer up to 2²⁴ exactly; above that, neighbouring integers share
/// a float, so an id there may already have been rounded and is rejected rather than passed on as another id.
/// </summary>
public static class Indices
{
    /// <summary>The largest id accepted from float storage: 2²⁴, the end of the range where every integer is a float.</summary>
    public const int MaxExactFloatId = 1 << 24;

    /// <summary>
    /// Writes <paramref name="source"/> as ints into <paramref name="destination"/> (same length); throws when a value
    /// is not an integer in [0, <see cref="MaxExactFloatId"/>]. Range checks against a vocabulary or class count are
    /// the kernels'.
    /// </summary>
    /// <param name="source">Ids stored as floats.</param>
    /// <param name="destination">Where the ints go.</param>
    /// <param name="what">What the ids are (e.g. "the targets"), for the error message.</param>
    public static void FromFloats(ReadOnlySpan<float> source, Span<int> destination, string what)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"{what}: {source.Length} ids for {destination.Length} places");
        }

        for (int k = 0; k < source.Length; k++)
        {
            float value = source[k];
            if (!(value >= 0f) || value > MaxExactFloatId || value != MathF.Floor(value))
            {
                string reason = value > MaxExactFloatId && float.IsFinite(value)
                    ? $"is above 2^24 = {MaxExactFloatId}, where floats no longer hold every integer (it may already have been rounded)"
                    : "is not a non-negative integer";
                throw new ArgumentException($"{what}: id {value.ToString("R", CultureInfo.InvariantCulture)} at position {k} {reason}");
            }

            destination[k] = (int)value;
        }
    }
}
