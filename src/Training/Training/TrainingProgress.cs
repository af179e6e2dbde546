namespace OnePass.Training.Training;

/// <summary>A progress report from the trainer.</summary>
public sealed record TrainingProgress(long WeightStep, long TotalWeightSteps, double TrainingLoss, double? ValidationLoss, double? TestLoss, string Hyperparameters);
