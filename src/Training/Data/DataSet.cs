namespace OnePass.Training.Data;

/// <summary>A normalised data set with training, validation and test splits.</summary>
public sealed class DataSet
{
    /// <summary>Creates a data set and checks that the splits agree on their widths.</summary>
    public DataSet(
        string name,
        TaskKind task,
        int inputWidth,
        int outputWidth,
        DataSplit train,
        DataSplit validation,
        DataSplit test,
        Normalisation normalisation)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(normalisation);
        foreach (var split in new[] { train, validation, test })
        {
            if (split.InputWidth != inputWidth)
            {
                throw new ArgumentException($"A split has {split.InputWidth} input features, expected {inputWidth}.");
            }
        }

        if (normalisation.InputWidth != inputWidth)
        {
            throw new ArgumentException(
                $"The normalisation covers {normalisation.InputWidth} features, expected {inputWidth}.",
                nameof(normalisation));
        }

        Name = name;
        Task = task;
        InputWidth = inputWidth;
        OutputWidth = outputWidth;
        Train = train;
        Validation = validation;
        Test = test;
        Normalisation = normalisation;
    }

    /// <summary>Short name, e.g. <c>energy</c> or <c>fashion-mnist</c>.</summary>
    public string Name { get; }

    /// <summary>Whether targets are regression values or class labels.</summary>
    public TaskKind Task { get; }

    /// <summary>Number of input features.</summary>
    public int InputWidth { get; }

    /// <summary>Number of model outputs: the class count for classification, the number of target columns for regression (1 for the built-in sets).</summary>
    public int OutputWidth { get; }

    /// <summary>
    /// For image data sets, the shape of one example [channels, height, width] (its C·H·W values are stored
    /// row-major in that order); null for tabular data.
    /// </summary>
    public int[]? ImageShape { get; init; }

    /// <summary>The shape facts a model is built from.</summary>
    public DataShape Shape => new(InputWidth, OutputWidth, Task, ImageShape);

    /// <summary>Training split.</summary>
    public DataSplit Train { get; }

    /// <summary>Validation split (used for the hyperparameter objective).</summary>
    public DataSplit Validation { get; }

    /// <summary>Held-out test split.</summary>
    public DataSplit Test { get; }

    /// <summary>The normalisation that maps raw values to the values stored in the splits.</summary>
    public Normalisation Normalisation { get; }

    /// <summary>The names of the input features, in the model's input order, when the data came from a table with a header; else null.</summary>
    public IReadOnlyList<string>? ColumnNames { get; init; }

    /// <summary>The names of the regression target columns, in the model's output order, when the data came from a table with a header; else null.</summary>
    public IReadOnlyList<string>? TargetNames { get; init; }

    /// <summary>The class labels, class index order, when a table's classification targets were labels; else null.</summary>
    public IReadOnlyList<string>? ClassLabels { get; init; }

    /// <summary>
    /// For a word-level corpus, the word of each token id; null otherwise. Such a data set's rows are time steps:
    /// row t of a split holds the tokens at position t of its <see cref="InputWidth"/> parallel sequences (inputs)
    /// and the tokens that follow them (targets), so consecutive rows continue every sequence and a batch of
    /// consecutive rows is a truncated back-propagation window.
    /// </summary>
    public IReadOnlyList<string>? Vocabulary { get; init; }

    /// <summary>True when the splits are token streams (see <see cref="Vocabulary"/>): batches must keep row order.</summary>
    public bool IsTokenStream => Vocabulary is not null;

    /// <summary>The folder the data was read from, when it came from files (recorded in summary.json).</summary>
    public string? Folder { get; set; }
}
