namespace OnePass.Training.Data;

/// <summary>The kind of supervised task a <see cref="DataSet"/> poses.</summary>
public enum TaskKind
{
    /// <summary>Real-valued targets, trained with a squared-error loss.</summary>
    Regression,

    /// <summary>Integer class labels (stored as <see cref="float"/>), trained with cross-entropy.</summary>
    Classification,
}
