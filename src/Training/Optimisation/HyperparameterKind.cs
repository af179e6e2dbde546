namespace OnePass.Training.Optimisation;

/// <summary>The weight-update hyperparameters OnePass tunes.</summary>
public enum HyperparameterKind
{
    /// <summary>Learning rate η = 10^φ.</summary>
    LearningRate,

    /// <summary>Weight decay ξ = 10^φ.</summary>
    WeightDecay,

    /// <summary>Momentum μ = sigmoid(φ).</summary>
    Momentum,
}
