namespace OnePass.Training.Reporting;

/// <summary>
/// TensorBoard tags for metrics.csv columns, named as the reference implementation names its charts:
/// <c>training_loss</c> → <c>Loss/Training</c> (likewise validation, test; accuracy → <c>Accuracy/…</c>,
/// perplexity → <c>Perplexity/…</c>), a hyperparameter <c>lr</c> → <c>Hyperparameter/Lr</c>
/// (<c>weight_decay</c> → <c>Hyperparameter/Weight_Decay</c>, <c>momentum</c> → <c>Hyperparameter/Momentum</c>),
/// a per-weight summary <c>lr.q25</c> → <c>Hyperparameter/Lr/q25</c> (the reference logs a histogram there), and
/// <c>hyper_step</c> → <c>Progress/Hyperparameter_Step</c>. Any other column keeps its own name.
/// </summary>
public static class TensorBoardTags
{
    private static readonly Dictionary<string, string> Splits = new(StringComparer.Ordinal)
    {
        ["training"] = "Training", ["validation"] = "Validation", ["test"] = "Test",
    };

    private static readonly Dictionary<string, string> Metrics = new(StringComparer.Ordinal)
    {
        ["loss"] = "Loss", ["accuracy"] = "Accuracy", ["perplexity"] = "Perplexity",
    };

    private static readonly HashSet<string> Hyperparameters = new(StringComparer.Ordinal) { "lr", "weight_decay", "momentum" };

    /// <summary>The tag for metrics.csv column <paramref name="column"/>.</summary>
    public static string For(string column)
    {
        ArgumentNullException.ThrowIfNull(column);
        if (column == "hyper_step")
        {
            return "Progress/Hyperparameter_Step";
        }

        int underscore = column.IndexOf('_', StringComparison.Ordinal);
        if (underscore > 0 && Splits.TryGetValue(column[..underscore], out string? split) && Metrics.TryGetValue(column[(underscore + 1)..], out string? metric))
        {
            return $"{metric}/{split}";
        }

        int dot = column.IndexOf('.', StringComparison.Ordinal);
        string name = dot < 0 ? column : column[..dot];
        if (Hyperparameters.Contains(name))
        {
            return $"Hyperparameter/{Title(name)}" + (dot < 0 ? "" : "/" + column[(dot + 1)..]);
        }

        return column;
    }

    // Python's str.title() on these names: the first letter of every run of letters upper-cased.
    private static string Title(string name) => string.Join('_', name.Split('_').Select(w => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..]));
}
