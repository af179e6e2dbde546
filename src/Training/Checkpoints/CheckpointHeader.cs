using System.Text.Json.Serialization;

namespace OnePass.Training.Checkpoints;

/// <summary>
/// The self-describing part of a checkpoint: enough to rebuild the model, its input normalisation and the
/// facts an exported model records in its metadata. Serialised as JSON inside the checkpoint file.
/// </summary>
public sealed record CheckpointHeader
{
    /// <summary>OnePass version that wrote the file.</summary>
    [JsonPropertyName("onepass_version")] public string OnePassVersion { get; init; } = "";

    /// <summary>Data set name, e.g. "fashion-mnist" or "uci-energy".</summary>
    [JsonPropertyName("dataset")] public string DataSet { get; init; } = "";

    /// <summary>"regression" or "classification".</summary>
    [JsonPropertyName("task")] public string Task { get; init; } = "";

    /// <summary>The model's architecture and parameters (format 2); null in format-1 files, which describe an MLP by <see cref="LayerSizes"/>.</summary>
    [JsonPropertyName("model")] public Models.ModelSpec? Model { get; init; }

    /// <summary>SHA-256 (hex) of the weight and state section that follows the header (format 2).</summary>
    [JsonPropertyName("payload_sha256")] public string PayloadSha256 { get; init; } = "";

    /// <summary>Layer sizes of an MLP, input first (format 1, and format 2 MLPs for readers of the header).</summary>
    [JsonPropertyName("layer_sizes")] public int[] LayerSizes { get; init; } = [];

    /// <summary>Hidden activation: relu, tanh or sigmoid.</summary>
    [JsonPropertyName("activation")] public string Activation { get; init; } = "";

    /// <summary>Training loss: "mse" or "cross-entropy".</summary>
    [JsonPropertyName("loss")] public string Loss { get; init; } = "";

    /// <summary>Per-feature input mean (raw units).</summary>
    [JsonPropertyName("input_mean")] public float[] InputMean { get; init; } = [];

    /// <summary>Per-feature input standard deviation (raw units).</summary>
    [JsonPropertyName("input_std")] public float[] InputStd { get; init; } = [];

    /// <summary>
    /// Per-target mean (regression; [0] for classification); a single value applies to every output. Written as a
    /// single number when there is one value (as every earlier version wrote it, so such files read the same
    /// everywhere) and as a list otherwise.
    /// </summary>
    [JsonPropertyName("target_mean"), JsonConverter(typeof(ScalarOrListConverter))] public float[] TargetMean { get; init; } = [0f];

    /// <summary>Per-target standard deviation (regression; [1] for classification); a single number or a list, as <see cref="TargetMean"/>.</summary>
    [JsonPropertyName("target_std"), JsonConverter(typeof(ScalarOrListConverter))] public float[] TargetStd { get; init; } = [1f];

    /// <summary>The regression target column names in output order (a table with a header row); null otherwise.</summary>
    [JsonPropertyName("target_names"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string[]? TargetNames { get; init; }

    /// <summary>Hyperparameter optimiser used for training.</summary>
    [JsonPropertyName("algorithm")] public string Algorithm { get; init; } = "";

    /// <summary>Weight steps taken when the checkpoint was written.</summary>
    [JsonPropertyName("weight_step")] public long WeightStep { get; init; }

    /// <summary>Seed of the run.</summary>
    [JsonPropertyName("seed")] public int Seed { get; init; }

    /// <summary>Hyperparameters in natural space: scalars, or summary statistics for per-weight values (name → value).</summary>
    [JsonPropertyName("hyperparameters")] public Dictionary<string, double> Hyperparameters { get; init; } = [];

    /// <summary>Metrics at the time of writing (name → value), e.g. test_loss, test_accuracy.</summary>
    [JsonPropertyName("metrics")] public Dictionary<string, double> Metrics { get; init; } = [];

    /// <summary>Input feature names in the model's input order (a table with a header row); null otherwise.</summary>
    [JsonPropertyName("input_names"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string[]? InputNames { get; init; }

    /// <summary>Class labels in class index order (a table's classification targets); null otherwise.</summary>
    [JsonPropertyName("class_labels"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string[]? ClassLabels { get; init; }

    /// <summary>
    /// A language model's vocabulary, words in token-id order (id k is Vocabulary[k]); null for other models. The
    /// exporter writes it into the ONNX model's metadata so that inference can map words to ids.
    /// </summary>
    [JsonPropertyName("vocabulary"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string[]? Vocabulary { get; init; }

    /// <summary>SHA-256 (hex) of the resolved training configuration.</summary>
    [JsonPropertyName("config_sha256")] public string ConfigSha256 { get; init; } = "";
}
