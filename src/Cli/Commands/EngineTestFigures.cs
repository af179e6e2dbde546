using System.Globalization;
using System.Text.Json;

namespace OnePass.Cli.Commands;

/// <summary>The engine's own final test figures, read from a train run's summary.json (<c>final.test_loss</c>, <c>final.test_accuracy</c>).</summary>
internal sealed record EngineTestFigures(double? TestLoss, double? TestAccuracy)
{
    public const string SummaryFileName = "summary.json";

    /// <summary>
    /// Null (with a note on stderr) when the folder has no readable summary. A summary of another data set than
    /// <paramref name="dataSet"/> (the scored model's) is an error: its figures would be compared with the wrong test set.
    /// </summary>
    public static EngineTestFigures? TryRead(string runDir, string? dataSet = null)
    {
        string path = Path.Combine(runDir, SummaryFileName);
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"onepass: {path} not found; engine figures not shown");
            return null;
        }

        try
        {
            using var summary = JsonDocument.Parse(File.ReadAllText(path));
            if (!summary.RootElement.TryGetProperty("final", out var final) || final.ValueKind != JsonValueKind.Object)
            {
                Console.Error.WriteLine($"onepass: {path} has no 'final' figures; engine figures not shown");
                return null;
            }

            if (!string.IsNullOrEmpty(dataSet) && summary.RootElement.TryGetProperty("dataset", out var recorded)
                && recorded.ValueKind == JsonValueKind.String && recorded.GetString() is { Length: > 0 } name && name != dataSet)
            {
                throw new UserInputException($"--run {runDir}: its summary.json is of a run on '{name}', but the model scores '{dataSet}'; give the run the model was exported from");
            }

            return new EngineTestFigures(Number(final, "test_loss"), Number(final, "test_accuracy"));
        }
        catch (JsonException e)
        {
            Console.Error.WriteLine($"onepass: {path} is not valid JSON ({e.Message.ReplaceLineEndings(" ")}); engine figures not shown");
            return null;
        }
    }

    // Numbers, or "NaN"-style strings written for a diverged run.
    private static double? Number(JsonElement parent, string name)
    {
        if (!parent.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.Number => value.GetDouble(),
            JsonValueKind.String when double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
            _ => null,
        };
    }
}
