using System.Text.Json;
using OnePass.Training.Configuration;
using YamlDotNet.RepresentationModel;

namespace OnePass.Cli.Commands;

/// <summary>
/// Decides whether a sweep run folder with a summary.json really holds the run the sweep would start now: the
/// configuration hash recorded in summary.json must equal the hash of the configuration the run would get.
/// </summary>
internal static class SweepResume
{
    /// <summary>The outcome for one run folder.</summary>
    public enum State
    {
        /// <summary>No usable summary.json: the run is to be (re)started.</summary>
        Unfinished,

        /// <summary>Finished with the same configuration.</summary>
        Finished,

        /// <summary>Finished with another configuration.</summary>
        Stale,
    }

    /// <summary>Compares the run in <paramref name="runDir"/> with <paramref name="expected"/>; names the differing keys when stale.</summary>
    public static State Inspect(string runDir, TrainingConfig expected, out string differences)
    {
        differences = "";
        string summaryPath = Path.Combine(runDir, "summary.json");
        if (!File.Exists(summaryPath))
        {
            return State.Unfinished;
        }

        string? recorded;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(summaryPath));
            recorded = doc.RootElement.TryGetProperty("config_sha256", out var hash) && hash.ValueKind == JsonValueKind.String ? hash.GetString() : null;
        }
        catch (JsonException)
        {
            return State.Unfinished;
        }

        if (recorded == expected.Sha256())
        {
            return State.Finished;
        }

        differences = Differences(Path.Combine(runDir, "config.yaml"), expected.ToYaml());
        return State.Stale;
    }

    // The keys whose values differ between the run's config.yaml and the configuration it would get now.
    private static string Differences(string recordedPath, string expectedYaml)
    {
        if (!File.Exists(recordedPath))
        {
            return "configuration hash differs (no config.yaml to compare)";
        }

        Dictionary<string, string> before, after;
        try
        {
            before = Flatten(File.ReadAllText(recordedPath));
            after = Flatten(expectedYaml);
        }
        catch (YamlDotNet.Core.YamlException)
        {
            return "configuration hash differs (config.yaml unreadable)";
        }

        var keys = before.Keys.Union(after.Keys).Order(StringComparer.Ordinal)
            .Where(k => !before.TryGetValue(k, out string? b) || !after.TryGetValue(k, out string? a) || a != b)
            .Select(k => $"{k} {(before.TryGetValue(k, out string? b) ? b : "(absent)")} -> {(after.TryGetValue(k, out string? a) ? a : "(absent)")}")
            .ToList();
        return keys.Count == 0 ? "configuration hash differs" : string.Join(", ", keys);
    }

    /// <summary>A YAML mapping as dotted keys and their values as text (lists as [a, b]).</summary>
    public static Dictionary<string, string> Flatten(string yaml)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        if (stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode root)
        {
            Add(root, "");
        }

        return result;

        void Add(YamlMappingNode mapping, string prefix)
        {
            foreach (var (key, value) in mapping.Children)
            {
                string name = prefix + (key is YamlScalarNode s ? s.Value : key.ToString());
                if (value is YamlMappingNode nested)
                {
                    Add(nested, name + ".");
                }
                else
                {
                    result[name] = value is YamlSequenceNode seq
                        ? "[" + string.Join(", ", seq.Children.Select(c => c is YamlScalarNode cs ? cs.Value : c.ToString())) + "]"
                        : value is YamlScalarNode scalar ? scalar.Value ?? "" : value.ToString();
                }
            }
        }
    }
}
