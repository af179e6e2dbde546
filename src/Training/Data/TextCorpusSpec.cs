namespace OnePass.Training.Data;

/// <summary>
/// The <c>dataset: {kind: text, ...}</c> form of the dataset key: a word-level corpus (Mikolov's Penn Treebank format:
/// one sentence a line, words split on whitespace, <c>&lt;eos&gt;</c> appended to every line) whose three splits are
/// files named in the configuration, so that a run can use the text that exists (for example the official
/// validation and test files only, as <c>configs/ptb-small.yaml</c> does).
/// </summary>
public sealed record TextCorpusSpec
{
    /// <summary>Optional short name (the data set's name is <c>text:NAME</c>, else <c>text:</c> and the training file's name).</summary>
    public string? Name { get; init; }

    /// <summary>The training text (required).</summary>
    public string TrainFile { get; init; } = "";

    /// <summary>The validation text (required): the hypergradients' validation loss.</summary>
    public string ValidationFile { get; init; } = "";

    /// <summary>The test text (required).</summary>
    public string TestFile { get; init; } = "";

    /// <summary>
    /// When <see cref="ValidationFile"/> and <see cref="TestFile"/> are the same file: the proportion of its lines,
    /// from the start, that form the validation split (the rest is the test split). Must be set then, and only then.
    /// </summary>
    public double? ValidationLineShare { get; init; }

    /// <summary>
    /// Where the vocabulary comes from: <c>all</c> (the words of the three files, as the reference builds it) or
    /// <c>train</c> (the training file's words only: a word of another file outside it is an error naming the file,
    /// line and word).
    /// </summary>
    public string Vocabulary { get; init; } = "all";

    /// <summary>The data set's name in summaries and checkpoints.</summary>
    public string DataSetName => "text:" + (Name ?? System.IO.Path.GetFileNameWithoutExtension(TrainFile));
}
