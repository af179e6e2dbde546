namespace OnePass.Training.Optimisation;

/// <summary>The plain-training baseline: the initial hyperparameters are never changed.</summary>
public sealed class RandomHyperOptimiser(int stepInterval) : IHyperOptimiser
{
    /// <inheritdoc />
    public string Name => "random";

    /// <inheritdoc />
    public int StepInterval { get; } = stepInterval;

    /// <inheritdoc />
    public bool UsesValidation => true;

    /// <inheritdoc />
    public void BeforeUpdate(TrainingState state)
    {
    }

    /// <inheritdoc />
    public void Step(TrainingState state)
    {
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
