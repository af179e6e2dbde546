namespace OnePass.Training.Data;

/// <summary>
/// A table of data in a file, as a configuration's <c>dataset: {kind: table, ...}</c> mapping describes it: which
/// columns are the targets and the features, the task, and how the rows are split into training, validation and
/// test. Relative paths are resolved by the loader (see <c>DataSetLoader</c>).
/// </summary>
public sealed record TableSpec
{
    /// <summary>The data file: comma-separated, or whitespace-separated when its first row has no comma.</summary>
    public string Path { get; init; } = "";

    /// <summary>The target column(s): names, or zero-based indices written as integers.</summary>
    public IReadOnlyList<string> Target { get; init; } = [];

    /// <summary>Regression (numeric targets, normalised) or classification (any labels; the sorted class list is kept).</summary>
    public TaskKind Task { get; init; } = TaskKind.Regression;

    /// <summary>The feature columns, in the model's input order; null: every column that is not a target, in file order.</summary>
    public IReadOnlyList<string>? Features { get; init; }

    /// <summary>Fraction of the rows in the test split (without <see cref="TestSize"/>); null: 0.1.</summary>
    public double? TestProportion { get; init; }

    /// <summary>Fraction of training + validation rows in the validation split (without <see cref="ValidationSize"/>); null: 0.2.</summary>
    public double? ValidationProportion { get; init; }

    /// <summary>Seed of the row shuffle when there is no <see cref="Permutation"/> file.</summary>
    public int Seed { get; init; }

    /// <summary>A file of zero-based row indices, one a line: the row order (first rows train + validation, last rows test).</summary>
    public string? Permutation { get; init; }

    /// <summary>Rows in the test split (the last rows after permuting); null: from <see cref="TestProportion"/>.</summary>
    public int? TestSize { get; init; }

    /// <summary>Rows in the validation split (the last rows of training + validation); null: from <see cref="ValidationProportion"/>.</summary>
    public int? ValidationSize { get; init; }

    /// <summary>Whether the first row is a header: true, false, or null to detect it (every cell a name, none a number).</summary>
    public bool? Header { get; init; }

    /// <summary>A short name for summaries and exported models; null: the data file's name.</summary>
    public string? Name { get; init; }

    /// <summary>The data set name recorded in summaries, checkpoints and exported models: <c>table:NAME</c>.</summary>
    public string DataSetName => "table:" + (Name ?? System.IO.Path.GetFileName(Path));
}
