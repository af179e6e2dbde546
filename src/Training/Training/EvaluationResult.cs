namespace OnePass.Training.Training;

/// <summary>Loss (and accuracy for classification) of the model on one split.</summary>
public readonly record struct EvaluationResult(double Loss, double? Accuracy);
