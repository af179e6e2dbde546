namespace OnePass.Training.Models;

/// <summary>Training loss of a model.</summary>
public enum LossKind
{
    /// <summary>Mean squared error (regression).</summary>
    MeanSquaredError,

    /// <summary>Softmax cross-entropy (classification).</summary>
    CrossEntropy,
}
