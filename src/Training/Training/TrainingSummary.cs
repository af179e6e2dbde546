using System.Text.Json.Serialization;

namespace OnePass.Training.Training;

/// <summary>The contents of a run's summary.json.</summary>
public sealed record TrainingSummary
{
    /// <summary>Losses (and accuracy) on every split at one moment.</summary>
    public sealed record Metrics(
        [property: JsonPropertyName("training_loss")] double TrainingLoss,
        [property: JsonPropertyName("validation_loss")] double? ValidationLoss,
        [property: JsonPropertyName("test_loss")] double TestLoss,
        [property: JsonPropertyName("test_accuracy")][property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? TestAccuracy,
        [property: JsonPropertyName("test_perplexity")][property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? TestPerplexity = null);

    /// <summary>Data set name.</summary>
    [JsonPropertyName("dataset")] public required string DataSet { get; init; }

    /// <summary>Hyperparameter optimiser.</summary>
    [JsonPropertyName("algorithm")] public required string Algorithm { get; init; }

    /// <summary>Backend name (cpu or cuda).</summary>
    [JsonPropertyName("backend")] public required string Backend { get; init; }

    /// <summary>Seed.</summary>
    [JsonPropertyName("seed")] public required int Seed { get; init; }

    /// <summary>Model description.</summary>
    [JsonPropertyName("model")] public required string Model { get; init; }

    /// <summary>The model's architecture and parameters, as checkpoints record them.</summary>
    [JsonPropertyName("model_spec")] public Models.ModelSpec? ModelSpec { get; init; }

    /// <summary>Weight steps taken.</summary>
    [JsonPropertyName("weight_steps")] public required long WeightSteps { get; init; }

    /// <summary>Hyperparameter steps taken.</summary>
    [JsonPropertyName("hyperparameter_steps")] public required int HyperparameterSteps { get; init; }

    /// <summary>Wall time of the whole run, evaluation included.</summary>
    [JsonPropertyName("wall_seconds")] public required double WallSeconds { get; init; }

    /// <summary>Wall time of weight and hyperparameter steps alone (no evaluation or logging).</summary>
    [JsonPropertyName("train_seconds")] public required double TrainSeconds { get; init; }

    /// <summary>Seconds spent evaluating the splits for the logged rows (the initial row included).</summary>
    [JsonPropertyName("evaluation_seconds")] public double EvaluationSeconds { get; init; }

    /// <summary>Metrics before training.</summary>
    [JsonPropertyName("initial")] public required Metrics Initial { get; init; }

    /// <summary>Metrics after training (NaN losses when the run diverged).</summary>
    [JsonPropertyName("final")] public required Metrics Final { get; init; }

    /// <summary>Final hyperparameters in natural space (per-weight ones summarised).</summary>
    [JsonPropertyName("hyperparameters")] public required Dictionary<string, double> Hyperparameters { get; init; }

    /// <summary>Initial hyperparameters in natural space.</summary>
    [JsonPropertyName("initial_hyperparameters")] public required Dictionary<string, double> InitialHyperparameters { get; init; }

    /// <summary>True when the loss stopped being finite and the run was stopped.</summary>
    [JsonPropertyName("diverged")] public bool Diverged { get; init; }

    /// <summary>Why the run stopped early, if it did.</summary>
    [JsonPropertyName("message")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Message { get; init; }

    /// <summary>The folder the data set was read from.</summary>
    [JsonPropertyName("data_folder")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? DataFolder { get; init; }

    /// <summary>SHA-256 of the resolved configuration.</summary>
    [JsonPropertyName("config_sha256")] public required string ConfigSha256 { get; init; }
}
