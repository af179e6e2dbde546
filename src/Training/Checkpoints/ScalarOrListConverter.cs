using System.Text.Json;
using System.Text.Json.Serialization;

namespace OnePass.Training.Checkpoints;

/// <summary>
/// Reads a JSON number as a one-element array and a JSON list of numbers as an array; writes a one-element array as
/// a bare number and anything else as a list. Checkpoint headers of single-target models keep the scalar
/// <c>target_mean</c> and <c>target_std</c> every earlier version wrote, while multi-target models list one value per target.
/// </summary>
public sealed class ScalarOrListConverter : JsonConverter<float[]>
{
    /// <inheritdoc />
    public override float[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return [reader.GetSingle()];
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException($"expected a number or a list of numbers, found {reader.TokenType}");
        }

        var values = new List<float>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number)
            {
                throw new JsonException($"expected a number in the list, found {reader.TokenType}");
            }

            values.Add(reader.GetSingle());
        }

        if (values.Count == 0)
        {
            throw new JsonException("expected at least one number, found an empty list");
        }

        return [.. values];
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, float[] value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 1)
        {
            writer.WriteNumberValue(value[0]);
            return;
        }

        writer.WriteStartArray();
        foreach (float v in value)
        {
            writer.WriteNumberValue(v);
        }

        writer.WriteEndArray();
    }
}
