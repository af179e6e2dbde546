using System.Globalization;
using System.Text.Json.Serialization;

namespace OnePass.Training.Models;

/// <summary>
/// What a model is: its architecture and that architecture's parameters. Stored in checkpoints and
/// summary.json; <see cref="ModelBuilder"/> turns it into a graph, so training, export and inference all
/// rebuild the same model from it.
/// </summary>
public sealed record ModelSpec
{
    /// <summary>The architectures OnePass builds.</summary>
    public static IReadOnlyList<string> Architectures { get; } = ["mlp", "cnn", "resnet18", "lstm"];

    /// <summary>mlp, cnn, resnet18 or lstm.</summary>
    [JsonPropertyName("architecture")] public string Architecture { get; init; } = "mlp";

    /// <summary>Shape of one example without the batch dimension: [features] for an MLP, [channels, height, width] for images.</summary>
    [JsonPropertyName("input_shape")] public int[] InputShape { get; init; } = [];

    /// <summary>Model outputs: the class count for classification, the target count for regression.</summary>
    [JsonPropertyName("outputs")] public int Outputs { get; init; }

    /// <summary>Training loss: "cross-entropy" or "mse".</summary>
    [JsonPropertyName("loss")] public string Loss { get; init; } = "cross-entropy";

    /// <summary>MLP layer sizes, input first (mlp only).</summary>
    [JsonPropertyName("layer_sizes")] public int[]? LayerSizes { get; init; }

    /// <summary>Hidden activation of an MLP: relu, tanh or sigmoid (mlp only).</summary>
    [JsonPropertyName("activation")] public string Activation { get; init; } = "relu";

    /// <summary>Channels of the first stage (resnet18: 64 as in torchvision; cnn: 32); the later stages double it.</summary>
    [JsonPropertyName("base_width")] public int BaseWidth { get; init; }

    /// <summary>Token embedding width (lstm only).</summary>
    [JsonPropertyName("embedding_size")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int EmbeddingSize { get; init; }

    /// <summary>LSTM units per layer (lstm only).</summary>
    [JsonPropertyName("hidden_size")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int HiddenSize { get; init; }

    /// <summary>Stacked LSTM layers (lstm only).</summary>
    [JsonPropertyName("layers")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int Layers { get; init; }

    /// <summary>Parallel sequences N, the second dimension of a batch of token ids [time steps, N] (lstm only).</summary>
    [JsonPropertyName("sequences")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int Sequences { get; init; }

    /// <summary>
    /// Time steps per batch T (the truncated back-propagation length; lstm only; 0 means the default,
    /// <see cref="DefaultSteps"/>). The graph itself takes any number of steps as its batch dimension.
    /// </summary>
    [JsonPropertyName("steps")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int Steps { get; init; }

    /// <summary>The reference's truncated back-propagation length: 70 time steps.</summary>
    public const int DefaultSteps = 70;

    /// <summary><see cref="Steps"/>, or <see cref="DefaultSteps"/> when it is 0.</summary>
    [JsonIgnore]
    public int TimeSteps => Steps > 0 ? Steps : DefaultSteps;

    /// <summary>The vocabulary size of a language model: its <see cref="Outputs"/>.</summary>
    [JsonIgnore]
    public int Vocabulary => Outputs;

    /// <summary>The loss as an enum; throws <see cref="ArgumentException"/> for an unknown name.</summary>
    [JsonIgnore]
    public LossKind LossKind => Loss switch
    {
        "cross-entropy" => LossKind.CrossEntropy,
        "mse" => LossKind.MeanSquaredError,
        _ => throw new ArgumentException($"unknown loss '{Loss}' (expected cross-entropy or mse)"),
    };

    /// <summary>One line, e.g. "resnet18 (base width 64) on 3x32x32, 10 outputs".</summary>
    public string Describe()
    {
        string shape = string.Join("x", InputShape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
        return Architecture switch
        {
            "mlp" => $"mlp [{string.Join(", ", LayerSizes ?? [])}], {Activation}",
            "lstm" => $"lstm language model: vocabulary {Outputs}, embedding {EmbeddingSize}, {Layers}x{HiddenSize} LSTM, {Sequences} sequences x {TimeSteps} steps",
            _ => $"{Architecture} (base width {BaseWidth}) on {shape}, {Outputs} outputs",
        };
    }
}
