namespace OnePass.Training.Optimisation;

/// <summary>
/// A hyperparameter optimiser plugged into the trainer. The trainer calls <see cref="BeforeUpdate"/> after each
/// training gradient is computed and before the weights change (so w_{t−1}, b_{t−1} and g(w_{t−1}) are visible),
/// and <see cref="Step"/> after every <see cref="StepInterval"/> weight steps.
/// </summary>
public interface IHyperOptimiser : IDisposable
{
    /// <summary>Algorithm name as in configs, e.g. "ours-wd-lr-m".</summary>
    string Name { get; }

    /// <summary>Weight steps between hyperparameter steps (T).</summary>
    int StepInterval { get; }

    /// <summary>False for methods that train on training + validation data and never look at a validation split.</summary>
    bool UsesValidation { get; }

    /// <summary>Called before each weight update, with the gradient at the current weights computed.</summary>
    void BeforeUpdate(TrainingState state);

    /// <summary>One hyperparameter step (after the interval's weight steps).</summary>
    void Step(TrainingState state);
}
