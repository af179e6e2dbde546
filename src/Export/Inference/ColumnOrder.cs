using System.Text.Json;

namespace OnePass.Export;

/// <summary>
/// The input column names a model records (metadata <see cref="OnnxExporter.InputNamesKey"/>, written when it was
/// trained on a table with a header), so that a CSV with a header row may hold them in any order, with other
/// columns besides (see <see cref="CsvReadOptions.Columns"/>).
/// </summary>
public static class ColumnOrder
{
    /// <summary>The model's input names in input order, or null when it records none.</summary>
    public static IReadOnlyList<string>? ModelInputNames(IReadOnlyDictionary<string, string> metadata, string modelPath)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (!metadata.TryGetValue(OnnxExporter.InputNamesKey, out string? json))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<string[]>(json) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new InputFormatException(modelPath, $"the model's {OnnxExporter.InputNamesKey} metadata is not a JSON list of names: {e.Message}");
        }
    }
}
