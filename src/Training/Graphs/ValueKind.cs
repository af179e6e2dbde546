namespace OnePass.Training.Graphs;

/// <summary>What a value in the graph is.</summary>
public enum ValueKind
{
    /// <summary>Model input features, fed per batch.</summary>
    Input,

    /// <summary>Training targets (regression values or class indices), fed per batch.</summary>
    Target,

    /// <summary>A trainable weight tensor, a view into the flat weight vector.</summary>
    Parameter,

    /// <summary>Computed by a node.</summary>
    Intermediate,
}
