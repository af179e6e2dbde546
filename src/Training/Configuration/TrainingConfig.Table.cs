using System.Globalization;
using System.Text;
using OnePass.Training.Data;
using YamlDotNet.RepresentationModel;

namespace OnePass.Training.Configuration;

/// <summary>The <c>dataset: {kind: table, ...}</c> form of the dataset key: a user's own table of data.</summary>
public sealed partial class TrainingConfig
{
    /// <summary>Keys of the table mapping, in the canonical order <see cref="ToYaml"/> writes them.</summary>
    public static IReadOnlyList<string> TableKeys { get; } =
    [
        "kind", "name", "path", "target", "task", "features", "header", "permutation", "test_size", "validation_size",
        "test_proportion", "validation_proportion", "seed",
    ];

    /// <summary>The table a <c>dataset:</c> mapping describes; null when <see cref="DataSet"/> names a built-in set.</summary>
    public TableSpec? Table { get; private set; }

    // dataset: NAME, or dataset: {kind: table, ...}, or dataset: {kind: text, ...}.
    private void SetDataSet(YamlNode node, string where)
    {
        if (node is YamlMappingNode mapping)
        {
            string? kindName = mapping.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: "kind" }).Value is YamlScalarNode { Value: { } k0 } ? k0 : null;
            if (kindName is null)
            {
                throw new ConfigException($"{where}: a dataset mapping needs kind: table (a table of data) or kind: text (a word-level corpus)");
            }

            if (kindName == "text")
            {
                var text = new TextCorpusSpec();
                foreach (var (keyNode, value) in mapping.Children)
                {
                    string key = keyNode is YamlScalarNode { Value: { } k } ? k : throw new ConfigException($"{where}: a key must be a plain name");
                    text = SetTextKey(text, key, value, $"{where}: dataset.{key} (line {keyNode.Start.Line})");
                }

                SetText(text, where);
                return;
            }

            var spec = new TableSpec();
            foreach (var (keyNode, value) in mapping.Children)
            {
                string key = keyNode is YamlScalarNode { Value: { } k } ? k : throw new ConfigException($"{where}: a key must be a plain name");
                spec = SetTableKey(spec, key, value, $"{where}: dataset.{key} (line {keyNode.Start.Line})");
            }

            SetTable(spec, where);
            return;
        }

        DataSet = Text(node, where);
        Table = null;
        TextCorpus = null;
    }

    private void SetTable(TableSpec spec, string where)
    {
        if (string.IsNullOrWhiteSpace(spec.Path))
        {
            throw new ConfigException($"{where}: dataset.path (the data file) is required for kind: table");
        }

        if (spec.Target.Count == 0)
        {
            throw new ConfigException($"{where}: dataset.target (the target column's name or zero-based index) is required for kind: table");
        }

        Table = spec;
        TextCorpus = null;
        DataSet = spec.DataSetName;
    }

    // --set dataset.KEY=VALUE on a configuration whose dataset is a table.
    private bool TrySetTableKey(string key, YamlNode value, string where)
    {
        if (!key.StartsWith("dataset.", StringComparison.Ordinal))
        {
            return false;
        }

        if (TextCorpus is not null)
        {
            SetText(SetTextKey(TextCorpus, key["dataset.".Length..], value, where), where);
            return true;
        }

        if (Table is null)
        {
            throw new ConfigException($"{where}: '{key}' needs a dataset mapping (kind: table or kind: text); this configuration's dataset is '{DataSet}'");
        }

        SetTable(SetTableKey(Table, key["dataset.".Length..], value, where), where);
        return true;
    }

    private static TableSpec SetTableKey(TableSpec spec, string key, YamlNode value, string where) => key switch
    {
        "kind" => Text(value, where) == "table" ? spec : throw new ConfigException($"{where}: kind '{Text(value, where)}' is not table or text (the kinds of data set a mapping describes)"),
        "name" => spec with { Name = IsNull(value) ? null : Text(value, where) },
        "path" => spec with { Path = Text(value, where) },
        "target" => spec with { Target = Columns(value, where) },
        "features" => spec with { Features = IsNull(value) ? null : Columns(value, where) },
        "task" => spec with
        {
            Task = Text(value, where) switch
            {
                "regression" => TaskKind.Regression,
                "classification" => TaskKind.Classification,
                var t => throw new ConfigException($"{where}: task '{t}' is not regression or classification"),
            },
        },
        "header" => spec with
        {
            Header = IsNull(value) || value is YamlScalarNode { Value: "auto" } ? null
                : value is YamlScalarNode { Value: "true" or "True" or "yes" } ? true
                : value is YamlScalarNode { Value: "false" or "False" or "no" } ? false
                : throw new ConfigException($"{where} must be true, false or auto, got {Show(value)}"),
        },
        "permutation" => spec with { Permutation = IsNull(value) ? null : Text(value, where) },
        "test_size" => spec with { TestSize = IsNull(value) ? null : Positive(Integer(value, where), where) },
        "validation_size" => spec with { ValidationSize = IsNull(value) ? null : Positive(Integer(value, where), where) },
        "test_proportion" => spec with { TestProportion = IsNull(value) ? null : Proportion(Number(value, where), where) },
        "validation_proportion" => spec with { ValidationProportion = IsNull(value) ? null : Proportion(Number(value, where), where) },
        "seed" => spec with { Seed = Integer(value, where) },
        _ => throw new ConfigException($"{where}: unknown key '{key}' in the dataset mapping (known keys: {string.Join(", ", TableKeys)})"),
    };

    private static int Positive(int value, string where) => value > 0 ? value : throw new ConfigException($"{where} must be positive, got {value}");

    private static double Proportion(double value, string where) =>
        value is > 0 and < 1 ? value : throw new ConfigException($"{where} must lie strictly between 0 and 1, got {value.ToString("R", CultureInfo.InvariantCulture)}");

    private static string[] Columns(YamlNode value, string where) => value switch
    {
        YamlSequenceNode seq when seq.Children.Count > 0 => seq.Children.Select(c => Text(c, where)).ToArray(),
        YamlScalarNode => [Text(value, where)],
        _ => throw new ConfigException($"{where} must be a column name or zero-based index, or a list of them"),
    };

    // The table mapping as YAML (block form, canonical key order, only keys that are set).
    private void AppendTable(StringBuilder sb)
    {
        var t = Table!;
        var inv = CultureInfo.InvariantCulture;
        static string Quote(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";
        string List(IEnumerable<string> xs) => "[" + string.Join(", ", xs.Select(Quote)) + "]";
        sb.AppendLine("dataset:");
        sb.AppendLine("  kind: table");
        if (t.Name is not null)
        {
            sb.AppendLine(inv, $"  name: {Quote(t.Name)}");
        }

        sb.AppendLine(inv, $"  path: {Quote(t.Path)}");
        sb.AppendLine(inv, $"  target: {List(t.Target)}");
        sb.AppendLine(inv, $"  task: {(t.Task == TaskKind.Classification ? "classification" : "regression")}");
        if (t.Features is not null)
        {
            sb.AppendLine(inv, $"  features: {List(t.Features)}");
        }

        sb.AppendLine(inv, $"  header: {(t.Header is { } h ? (h ? "true" : "false") : "auto")}");
        if (t.Permutation is not null)
        {
            sb.AppendLine(inv, $"  permutation: {Quote(t.Permutation)}");
        }

        if (t.TestSize is { } ts)
        {
            sb.AppendLine(inv, $"  test_size: {ts}");
        }

        if (t.ValidationSize is { } vs)
        {
            sb.AppendLine(inv, $"  validation_size: {vs}");
        }

        if (t.TestProportion is { } tp)
        {
            sb.AppendLine(inv, $"  test_proportion: {tp.ToString("R", inv)}");
        }

        if (t.ValidationProportion is { } vp)
        {
            sb.AppendLine(inv, $"  validation_proportion: {vp.ToString("R", inv)}");
        }

        sb.AppendLine(inv, $"  seed: {t.Seed}");
    }
}
