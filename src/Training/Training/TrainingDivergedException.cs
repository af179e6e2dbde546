namespace OnePass.Training.Training;

/// <summary>The training loss became NaN or infinite; the message names the step and the hyperparameters.</summary>
public sealed class TrainingDivergedException(string message, long weightStep) : Exception(message)
{
    /// <summary>The weight step at which the loss stopped being finite.</summary>
    public long WeightStep { get; } = weightStep;
}
