using System.Globalization;
using System.Text.Json;

namespace OnePass.Export;

/// <summary>
/// The regression facts an exported model records in its metadata: the target means and standard deviations
/// (<see cref="OnnxExporter.TargetMeanKey"/>, <see cref="OnnxExporter.TargetStdKey"/>; a number for one target, a
/// JSON list for several) and the target names (<see cref="OnnxExporter.TargetNamesKey"/>).
/// </summary>
public static class TargetScaling
{
    /// <summary>A number (round-trip format) for one value, a JSON list for several.</summary>
    public static string Format(IReadOnlyList<float> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var inv = CultureInfo.InvariantCulture;
        return values.Count == 1
            ? values[0].ToString("R", inv)
            : "[" + string.Join(",", values.Select(v => v.ToString("R", inv))) + "]";
    }

    /// <summary>
    /// The per-target values of <paramref name="key"/>: one for a number, one per element for a JSON list; null when
    /// the key is absent or its value is not a number or a list of numbers.
    /// </summary>
    public static double[]? Read(IReadOnlyDictionary<string, string> metadata, string key)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (!metadata.TryGetValue(key, out string? text))
        {
            return null;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double single))
        {
            return [single];
        }

        try
        {
            return JsonSerializer.Deserialize<double[]>(text) is { Length: > 0 } list ? list : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The model's target names in output order, or null when it records none (or they are malformed).</summary>
    public static IReadOnlyList<string>? TargetNames(IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (!metadata.TryGetValue(OnnxExporter.TargetNamesKey, out string? json))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<string[]>(json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
