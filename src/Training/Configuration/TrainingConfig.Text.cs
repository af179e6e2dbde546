using System.Globalization;
using System.Text;
using OnePass.Training.Data;
using YamlDotNet.RepresentationModel;

namespace OnePass.Training.Configuration;

/// <summary>The <c>dataset: {kind: text, ...}</c> form of the dataset key: a word-level corpus in three named files.</summary>
public sealed partial class TrainingConfig
{
    /// <summary>Keys of the text mapping, in the canonical order <see cref="ToYaml"/> writes them.</summary>
    public static IReadOnlyList<string> TextKeys { get; } =
        ["kind", "name", "train_file", "validation_file", "test_file", "validation_line_share", "vocabulary"];

    /// <summary>The corpus a <c>dataset: {kind: text}</c> mapping describes; null otherwise.</summary>
    public TextCorpusSpec? TextCorpus { get; private set; }

    /// <summary>True when the data set is a word-level corpus (the built-in <c>ptb</c> or a text mapping).</summary>
    public bool IsTextCorpus => TextCorpus is not null || (Table is null && DataSet == PennTreebank.Name);

    private void SetText(TextCorpusSpec spec, string where)
    {
        foreach (var (file, key) in new[] { (spec.TrainFile, "train_file"), (spec.ValidationFile, "validation_file"), (spec.TestFile, "test_file") })
        {
            if (string.IsNullOrWhiteSpace(file))
            {
                throw new ConfigException($"{where}: dataset.{key} is required for kind: text (the {key.Replace("_file", "", StringComparison.Ordinal)} split's text file)");
            }
        }

        bool shared = string.Equals(spec.ValidationFile, spec.TestFile, StringComparison.Ordinal);
        if (shared && spec.ValidationLineShare is null)
        {
            throw new ConfigException($"{where}: dataset.validation_file and dataset.test_file are the same file ('{spec.TestFile}'); set dataset.validation_line_share (the proportion of its lines, from the start, used for validation; the rest is the test split)");
        }

        if (!shared && spec.ValidationLineShare is not null)
        {
            throw new ConfigException($"{where}: dataset.validation_line_share applies only when validation_file and test_file are the same file; here they are '{spec.ValidationFile}' and '{spec.TestFile}'");
        }

        TextCorpus = spec;
        Table = null;
        DataSet = spec.DataSetName;
    }

    private static TextCorpusSpec SetTextKey(TextCorpusSpec spec, string key, YamlNode value, string where) => key switch
    {
        "kind" => Text(value, where) == "text" ? spec : throw new ConfigException($"{where}: kind '{Text(value, where)}' is not text; a corpus mapping cannot change its kind"),
        "name" => spec with { Name = IsNull(value) ? null : Text(value, where) },
        "train_file" => spec with { TrainFile = Text(value, where) },
        "validation_file" => spec with { ValidationFile = Text(value, where) },
        "test_file" => spec with { TestFile = Text(value, where) },
        "validation_line_share" => spec with { ValidationLineShare = IsNull(value) ? null : Proportion(Number(value, where), where) },
        "vocabulary" => spec with
        {
            Vocabulary = Text(value, where) is "all" or "train" ? Text(value, where)
                : throw new ConfigException($"{where} must be all (the words of the three files) or train (the training file's words only), got {Show(value)}"),
        },
        _ => throw new ConfigException($"{where}: unknown key '{key}' in the text dataset mapping (known keys: {string.Join(", ", TextKeys)})"),
    };

    // The text mapping as YAML (block form, canonical key order, only keys that are set).
    private void AppendText(StringBuilder sb)
    {
        var t = TextCorpus!;
        var inv = CultureInfo.InvariantCulture;
        static string Quote(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";
        sb.AppendLine("dataset:");
        sb.AppendLine("  kind: text");
        if (t.Name is not null)
        {
            sb.AppendLine(inv, $"  name: {Quote(t.Name)}");
        }

        sb.AppendLine(inv, $"  train_file: {Quote(t.TrainFile)}");
        sb.AppendLine(inv, $"  validation_file: {Quote(t.ValidationFile)}");
        sb.AppendLine(inv, $"  test_file: {Quote(t.TestFile)}");
        if (t.ValidationLineShare is { } share)
        {
            sb.AppendLine(inv, $"  validation_line_share: {share.ToString("R", inv)}");
        }

        sb.AppendLine(inv, $"  vocabulary: {t.Vocabulary}");
    }
}
