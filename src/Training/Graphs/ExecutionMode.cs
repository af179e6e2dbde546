namespace OnePass.Training.Graphs;

/// <summary>
/// How ops that behave differently in training and inference run: batch normalisation uses the batch's
/// statistics in <see cref="Training"/> mode and its running statistics in <see cref="Evaluation"/> mode.
/// </summary>
public enum ExecutionMode
{
    /// <summary>Training behaviour (batch statistics); used by training steps and hypergradient passes.</summary>
    Training,

    /// <summary>Inference behaviour (running statistics); used for evaluation and export checks.</summary>
    Evaluation,
}
