using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace OnePass.Training.Configuration;

/// <summary>
/// A training run's configuration, read from YAML. Keys follow the reference implementation where it has them
/// (network_weight_steps, hyperparameter_steps, batch_size, validation_proportion,
/// hyperparameter_rollback_distance, lr, weight_decay, momentum, lr_multiplier, model.layer_sizes). Initial
/// hyperparameters are in unconstrained space: log10 for lr and weight_decay, logit for momentum.
/// </summary>
public sealed partial class TrainingConfig
{
    /// <summary>Data set: fashion-mnist, cifar10, uci-energy, uci-kin8nm or uci-power; <c>table:NAME</c> for a <see cref="Table"/>.</summary>
    public string DataSet { get; set; } = "fashion-mnist";

    /// <summary>Hyperparameter optimiser: random, lorraine, baydin, diff-through-opt, ours-wd-lr, ours-wd-lr-m, ours-wd-hdlr-m.</summary>
    public string Algorithm { get; set; } = "random";

    /// <summary>Seed for weights, shuffling and anything else random.</summary>
    public int Seed { get; set; }

    /// <summary>Weight steps between hyperparameter steps (T).</summary>
    public int NetworkWeightSteps { get; set; } = 10;

    /// <summary>Number of hyperparameter steps; the run takes NetworkWeightSteps × this many weight steps.</summary>
    public int HyperparameterSteps { get; set; } = 1000;

    /// <summary>Training batch size; 0 means full batch (the whole training split).</summary>
    public int BatchSize { get; set; } = 50;

    /// <summary>Validation batch size for hypergradients; 0 means the batch size (full batch when that is 0).</summary>
    public int ValidationBatchSize { get; set; }

    /// <summary>Fraction of the training data held out for validation, or null for the data set's standard split.</summary>
    public double? ValidationProportion { get; set; }

    /// <summary>Neumann series depth i (and the unroll length K of diff-through-opt).</summary>
    public int HyperparameterRollbackDistance { get; set; } = 5;

    /// <summary>Adam learning rate for the hyperparameters (in unconstrained space).</summary>
    public double HyperLr { get; set; } = 0.05;

    /// <summary>Initial log10 learning rate.</summary>
    public double Lr { get; set; } = -1.0;

    /// <summary>Initial log10 weight decay.</summary>
    public double WeightDecay { get; set; } = -5.0;

    /// <summary>Initial logit of the momentum (0 means μ = 0.5).</summary>
    public double Momentum { get; set; }

    /// <summary>Clip range for log10 lr.</summary>
    public double[] LrClip { get; set; } = [-10, 0];

    /// <summary>Learning-rate multiplier per hyperparameter step (the last entry repeats); [1] for none.</summary>
    public double[] LrMultiplier { get; set; } = [1];

    /// <summary>Hyperparameter steps between metric rows and checkpoints (0: about 100 rows per run).</summary>
    public int LogEvery { get; set; }

    /// <summary>Layer sizes, input first (must match the data set's input and output widths).</summary>
    public int[] LayerSizes { get; set; } = [784, 50, 10];

    /// <summary>Hidden activation: relu, tanh or sigmoid.</summary>
    public string Activation { get; set; } = "relu";

    /// <summary>Model architecture: mlp (default), cnn or resnet18.</summary>
    public string Architecture { get; set; } = "mlp";

    /// <summary>Shape of one input example for convolutional models [channels, height, width]; null: the data set's image shape.</summary>
    public int[]? InputShape { get; set; }

    /// <summary>Classes of a convolutional classifier; 0: the data set's class count.</summary>
    public int Classes { get; set; }

    /// <summary>Channels of the first stage of a convolutional model; 0: the architecture's default (resnet18 64, cnn 32).</summary>
    public int BaseWidth { get; set; }

    /// <summary>Token embedding width of a language model (model.embedding_size; lstm only).</summary>
    public int EmbeddingSize { get; set; }

    /// <summary>LSTM units per layer (model.hidden_size; lstm only).</summary>
    public int HiddenSize { get; set; }

    /// <summary>Stacked LSTM layers (model.layers; lstm only).</summary>
    public int Layers { get; set; }

    /// <summary>Parallel sequences per batch (model.sequences; lstm only).</summary>
    public int Sequences { get; set; }

    /// <summary>Time steps per batch, the truncated back-propagation length (model.steps; lstm only; 70 by default).</summary>
    public int Steps { get; set; } = Models.ModelSpec.DefaultSteps;

    /// <summary>Vocabulary size (model.vocabulary; lstm only); 0: the data set's.</summary>
    public int Vocabulary { get; set; }

    /// <summary>Examples per forward pass when evaluating a split; 0: derived from the model's activation size.</summary>
    public int EvaluationChunk { get; set; }

    /// <summary>
    /// Whether every logged row evaluates the whole training split (true) or logs the mean of the training batches'
    /// losses since the previous row (false, the default: far cheaper, as most trainers log it).
    /// </summary>
    public bool EvaluateFullTrainingSet { get; set; }

    /// <summary>
    /// Global norm the training gradient is clipped to inside the weight update (network_weight_grad_clipping.norm;
    /// PyTorch's clip_grad_norm_, differentiated through by every hyperparameter optimiser); 0: no clipping.
    /// </summary>
    public double GradientClipNorm { get; set; }

    /// <summary>
    /// Whether the CUDA backend replays a training step's and a hyperparameter step's repeated work as CUDA graphs
    /// (cuda_graphs; default true; ignored on the CPU).
    /// </summary>
    public bool CudaGraphs { get; set; } = true;

    /// <summary>Where the configuration came from (for messages).</summary>
    public string Source { get; private set; } = "defaults";

    private static readonly Dictionary<string, Action<TrainingConfig, YamlNode, string>> Keys = new(StringComparer.Ordinal)
    {
        ["dataset"] = (c, n, w) => c.SetDataSet(n, w),
        ["algorithm"] = (c, n, w) => c.Algorithm = Text(n, w),
        ["seed"] = (c, n, w) => c.Seed = Integer(n, w),
        ["network_weight_steps"] = (c, n, w) => c.NetworkWeightSteps = Integer(n, w),
        ["hyperparameter_steps"] = (c, n, w) => c.HyperparameterSteps = Integer(n, w),
        ["batch_size"] = (c, n, w) => c.BatchSize = Integer(n, w),
        ["validation_batch_size"] = (c, n, w) => c.ValidationBatchSize = Integer(n, w),
        ["validation_proportion"] = (c, n, w) => c.ValidationProportion = IsNull(n) ? null : Number(n, w),
        ["hyperparameter_rollback_distance"] = (c, n, w) => c.HyperparameterRollbackDistance = Integer(n, w),
        ["hyper_lr"] = (c, n, w) => c.HyperLr = Number(n, w),
        ["lr"] = (c, n, w) => c.Lr = Number(n, w),
        ["weight_decay"] = (c, n, w) => c.WeightDecay = Number(n, w),
        ["momentum"] = (c, n, w) => c.Momentum = Number(n, w),
        ["lr_clip"] = (c, n, w) => c.LrClip = Numbers(n, w),
        ["lr_multiplier"] = (c, n, w) => c.LrMultiplier = n is YamlSequenceNode ? Numbers(n, w) : [Number(n, w)],
        ["log_every"] = (c, n, w) => c.LogEvery = Integer(n, w),
        ["model.layer_sizes"] = (c, n, w) => c.LayerSizes = Array.ConvertAll(Numbers(n, w), v => v == Math.Floor(v) ? (int)v : throw new ConfigException($"{w}: layer sizes must be integers")),
        ["model.activation"] = (c, n, w) => c.Activation = Text(n, w),
        ["model.architecture"] = (c, n, w) => c.Architecture = Text(n, w),
        ["model.input_shape"] = (c, n, w) => c.InputShape = IsNull(n) ? null : Array.ConvertAll(Numbers(n, w), v => v == Math.Floor(v) && v >= 1 && v <= 1 << 16 ? (int)v : throw new ConfigException($"{w}: every dimension must be an integer between 1 and 65536, got {v}")),
        ["model.classes"] = (c, n, w) => c.Classes = Integer(n, w),
        ["model.base_width"] = (c, n, w) => c.BaseWidth = Integer(n, w),
        ["model.embedding_size"] = (c, n, w) => c.EmbeddingSize = Integer(n, w),
        ["model.hidden_size"] = (c, n, w) => c.HiddenSize = Integer(n, w),
        ["model.layers"] = (c, n, w) => c.Layers = Integer(n, w),
        ["model.sequences"] = (c, n, w) => c.Sequences = Integer(n, w),
        ["model.steps"] = (c, n, w) => c.Steps = Integer(n, w),
        ["model.vocabulary"] = (c, n, w) => c.Vocabulary = Integer(n, w),
        ["evaluation_chunk"] = (c, n, w) => c.EvaluationChunk = Integer(n, w),
        ["evaluate_full_training_set"] = (c, n, w) => c.EvaluateFullTrainingSet = Boolean(n, w),
        ["cuda_graphs"] = (c, n, w) => c.CudaGraphs = Boolean(n, w),
        ["network_weight_grad_clipping.norm"] = (c, n, w) => c.GradientClipNorm = IsNull(n) ? 0 : Number(n, w),
    };

    /// <summary>Every key a configuration may hold (nested keys dotted).</summary>
    public static IReadOnlyCollection<string> KnownKeys => Keys.Keys;

    /// <summary>Reads a YAML file, then applies <c>key=value</c> overrides (dotted keys for nested ones).</summary>
    public static TrainingConfig Load(string path, IEnumerable<string>? overrides = null)
    {
        if (Directory.Exists(path))
        {
            throw new ConfigException($"configuration file '{path}' is a folder, not a file");
        }

        if (!File.Exists(path))
        {
            throw new ConfigException($"configuration file '{path}' does not exist");
        }

        var config = new TrainingConfig { Source = path };
        YamlNode? root;
        try
        {
            var stream = new YamlStream();
            using var reader = new StreamReader(path);
            stream.Load(reader);
            root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new ConfigException($"{path}: not valid YAML at line {e.Start.Line}: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's parser gives up this way on, for example, a flow list left open before more keys.
            throw new ConfigException($"{path}: not valid YAML (an unclosed [ or {{ before later keys?): {e.Message}");
        }

        if (root is null || root is YamlScalarNode { Value: null or "" })
        {
            Console.Error.WriteLine($"onepass: warning: {path} is empty: every key takes its default");
        }

        if (root is YamlMappingNode mapping)
        {
            config.Apply(mapping, "", path);
        }
        else if (root is not null && !(root is YamlScalarNode s && string.IsNullOrEmpty(s.Value)))
        {
            throw new ConfigException($"{path}: the configuration must be a mapping of keys to values");
        }

        foreach (string item in overrides ?? [])
        {
            config.Set(item);
        }

        config.Validate();
        return config;
    }

    /// <summary>Applies one <c>key=value</c> override; the value is parsed as YAML (so lists work: [8,50,1]).</summary>
    public void Set(string assignment)
    {
        int eq = assignment.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new ConfigException($"--set '{assignment}': expected key=value");
        }

        string key = assignment[..eq].Trim();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(assignment[(eq + 1)..]));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new ConfigException($"--set {key}: cannot parse the value ({e.Message})");
        }

        YamlNode value = stream.Documents.Count == 0 ? new YamlScalarNode("") : stream.Documents[0].RootNode;
        SetKey(key, value, $"--set {key}");
    }

    private void Apply(YamlMappingNode mapping, string prefix, string where)
    {
        foreach (var (keyNode, value) in mapping.Children)
        {
            string key = prefix + (keyNode is YamlScalarNode scalarKey
                ? scalarKey.Value
                : throw new ConfigException($"{where}: line {keyNode.Start.Line}: a key must be a plain name, not a {keyNode.NodeType.ToString().ToLowerInvariant()}"));
            if (value is YamlMappingNode nested && !Keys.ContainsKey(key))
            {
                Apply(nested, key + ".", where);
                continue;
            }

            SetKey(key, value, $"{where}: key '{key}' (line {keyNode.Start.Line})");
        }
    }

    private void SetKey(string key, YamlNode value, string where)
    {
        if (TrySetTableKey(key, value, where))
        {
            return;
        }

        if (!Keys.TryGetValue(key, out var setter))
        {
            string known = string.Join(", ", Keys.Keys.Order(StringComparer.Ordinal));
            throw new ConfigException($"{where}: unknown key '{key}' (known keys: {known})");
        }

        setter(this, value, where);
    }

    private static bool IsNull(YamlNode n) => n is YamlScalarNode { Value: null or "" or "null" or "~" };

    private static string Text(YamlNode n, string where) =>
        n is YamlScalarNode { Value: { Length: > 0 } v } ? v : throw new ConfigException($"{where} must be a non-empty string");

    private static double Number(YamlNode n, string where) =>
        IsQuoted(n) ? throw new ConfigException($"{where} must be a number, got the quoted string {Show(n)} (remove the quotes)") :
        n is YamlScalarNode { Value: { } v } && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d)
            ? d
            : throw new ConfigException($"{where} must be a number, got {Show(n)}");

    private static int Integer(YamlNode n, string where) =>
        IsQuoted(n) ? throw new ConfigException($"{where} must be an integer, got the quoted string {Show(n)} (remove the quotes)") :
        n is YamlScalarNode { Value: { } v } && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i)
            ? i
            : throw new ConfigException($"{where} must be an integer, got {Show(n)}");

    private static bool Boolean(YamlNode n, string where) => n is YamlScalarNode { Value: { } v } && !IsQuoted(n)
        ? v switch
        {
            "true" or "True" or "yes" => true,
            "false" or "False" or "no" => false,
            _ => throw new ConfigException($"{where} must be true or false, got {Show(n)}"),
        }
        : throw new ConfigException($"{where} must be true or false, got {Show(n)}");

    private static double[] Numbers(YamlNode n, string where) =>
        n is YamlSequenceNode seq
            ? seq.Children.Select(c => Number(c, where)).ToArray()
            : throw new ConfigException($"{where} must be a list of numbers, got {Show(n)}");

    private static bool IsQuoted(YamlNode n) =>
        n is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted };

    private static string Show(YamlNode n) => n is YamlScalarNode s ? $"'{s.Value}'" : n.NodeType.ToString().ToLowerInvariant();

    /// <summary>Checks ranges and names; throws <see cref="ConfigException"/> naming the key.</summary>
    public void Validate()
    {
        string[] algorithms = ["random", "lorraine", "baydin", "diff-through-opt", "ours-wd-lr", "ours-wd-lr-m", "ours-wd-hdlr-m"];
        string[] datasets = ["fashion-mnist", "cifar10", "uci-energy", "uci-kin8nm", "uci-power", "ptb"];
        Require(Table is not null || TextCorpus is not null || datasets.Contains(DataSet), $"dataset '{DataSet}' is not one of {string.Join(", ", datasets)}");
        Require(algorithms.Contains(Algorithm), $"algorithm '{Algorithm}' is not one of {string.Join(", ", algorithms)}");
        Require(NetworkWeightSteps >= 1, "network_weight_steps must be at least 1");
        Require(HyperparameterSteps >= 1, "hyperparameter_steps must be at least 1");
        Require(BatchSize >= 0, "batch_size must be 0 (full batch) or positive");
        Require(ValidationBatchSize >= 0, "validation_batch_size must be 0 or positive");
        Require(ValidationProportion is null or (> 0 and < 1), "validation_proportion must lie strictly between 0 and 1");
        Require(HyperparameterRollbackDistance >= 1, "hyperparameter_rollback_distance must be at least 1");
        Require(HyperLr > 0, "hyper_lr must be positive");
        Require(LrClip.Length == 2 && LrClip[0] < LrClip[1], "lr_clip must be [min, max] with min < max");
        Require(LrMultiplier.Length >= 1 && LrMultiplier.All(m => m >= 0), "lr_multiplier must be a non-negative number or list");
        Require(LogEvery >= 0, "log_every must be 0 (automatic) or positive");
        Require(LayerSizes.Length >= 2 && LayerSizes.All(s => s > 0), "model.layer_sizes must list at least two positive sizes");
        long weightCount = LayerSizes.Zip(LayerSizes.Skip(1), (a, b) => ((long)a + 1) * b).Sum();
        Require(weightCount <= MaxWeights, $"model.layer_sizes [{string.Join(", ", LayerSizes)}] has {weightCount} weights, more than the {MaxWeights} one model may have");
        Require(Activation is "relu" or "tanh" or "sigmoid", $"model.activation '{Activation}' is not one of relu, tanh, sigmoid");
        Require(Models.ModelSpec.Architectures.Contains(Architecture), $"model.architecture '{Architecture}' is not one of {string.Join(", ", Models.ModelSpec.Architectures)}");
        Require(InputShape is null || InputShape.Length == 3, $"model.input_shape must be [channels, height, width], got [{string.Join(", ", InputShape ?? [])}]");
        Require(Classes >= 0, "model.classes must be 0 (the data set's) or positive");
        Require(BaseWidth >= 0 && BaseWidth <= 4096, "model.base_width must be 0 (the architecture's default) or between 1 and 4096");
        Require(IsTextCorpus == (Architecture == "lstm"), Architecture == "lstm"
            ? $"model.architecture lstm is a language model; dataset '{DataSet}' is not a text corpus (use ptb or a kind: text mapping)"
            : $"dataset {DataSet} is a text corpus; it needs model.architecture lstm, not {Architecture}");
        if (Architecture == "lstm")
        {
            Require(EmbeddingSize is >= 1 and <= 65536, $"model.embedding_size must be between 1 and 65536, got {EmbeddingSize}");
            Require(HiddenSize is >= 1 and <= 65536, $"model.hidden_size must be between 1 and 65536, got {HiddenSize}");
            Require(Layers is >= 1 and <= 64, $"model.layers must be between 1 and 64, got {Layers}");
            Require(Sequences is >= 1 and <= 1 << 20, $"model.sequences must be between 1 and 1048576, got {Sequences}");
            Require(Steps is >= 1 and <= 1 << 20, $"model.steps must be between 1 and 1048576, got {Steps}");
            Require(Vocabulary is >= 0 and <= 1 << 24, $"model.vocabulary must be 0 (the data set's) or between 2 and 16777216, got {Vocabulary}");
            Require(Vocabulary != 1, "model.vocabulary must be 0 (the data set's) or at least 2");
            Require(BatchSize == Steps, $"batch_size (a language model's rows are time steps) must equal model.steps: batch_size is {BatchSize}, model.steps {Steps}");
            Require(ValidationBatchSize == 0 || ValidationBatchSize == Steps, $"validation_batch_size must be 0 or model.steps ({Steps}) for a language model, got {ValidationBatchSize}");
        }

        Require(EvaluationChunk >= 0, "evaluation_chunk must be 0 (automatic) or positive");
        Require(GradientClipNorm >= 0, $"network_weight_grad_clipping.norm must be 0 (no clipping) or positive, got {GradientClipNorm.ToString("R", CultureInfo.InvariantCulture)}");
    }

    /// <summary>The most weights a model may have (float32 buffers indexed by int, with room for optimiser state).</summary>
    public const long MaxWeights = 1L << 28;

    private void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ConfigException($"{Source}: {message}");
        }
    }

    /// <summary>The learning-rate multiplier at a hyperparameter step (the last entry repeats).</summary>
    public double LrMultiplierAt(int hyperStep) => LrMultiplier[Math.Min(hyperStep, LrMultiplier.Length - 1)];

    /// <summary>The resolved configuration as YAML (every key, canonical order).</summary>
    public string ToYaml()
    {
        var inv = CultureInfo.InvariantCulture;
        string List<T>(IEnumerable<T> xs) => "[" + string.Join(", ", xs.Select(x => Convert.ToString(x, inv))) + "]";
        var sb = new StringBuilder();
        if (TextCorpus is not null)
        {
            AppendText(sb);
        }
        else if (Table is null)
        {
            sb.AppendLine(inv, $"dataset: {DataSet}");
        }
        else
        {
            AppendTable(sb);
        }

        sb.AppendLine(inv, $"algorithm: {Algorithm}");
        sb.AppendLine(inv, $"seed: {Seed}");
        sb.AppendLine(inv, $"network_weight_steps: {NetworkWeightSteps}");
        sb.AppendLine(inv, $"hyperparameter_steps: {HyperparameterSteps}");
        sb.AppendLine(inv, $"batch_size: {BatchSize}");
        sb.AppendLine(inv, $"validation_batch_size: {ValidationBatchSize}");
        sb.AppendLine(inv, $"validation_proportion: {(ValidationProportion is { } p ? p.ToString("R", inv) : "null")}");
        sb.AppendLine(inv, $"hyperparameter_rollback_distance: {HyperparameterRollbackDistance}");
        sb.AppendLine(inv, $"hyper_lr: {HyperLr.ToString("R", inv)}");
        sb.AppendLine(inv, $"lr: {Lr.ToString("R", inv)}");
        sb.AppendLine(inv, $"weight_decay: {WeightDecay.ToString("R", inv)}");
        sb.AppendLine(inv, $"momentum: {Momentum.ToString("R", inv)}");
        sb.AppendLine(inv, $"lr_clip: {List(LrClip)}");
        sb.AppendLine(inv, $"lr_multiplier: {List(LrMultiplier)}");
        sb.AppendLine(inv, $"log_every: {LogEvery}");
        if (EvaluateFullTrainingSet)
        {
            sb.AppendLine("evaluate_full_training_set: true");
        }

        if (!CudaGraphs)
        {
            sb.AppendLine("cuda_graphs: false");
        }

        if (EvaluationChunk != 0)
        {
            sb.AppendLine(inv, $"evaluation_chunk: {EvaluationChunk}");
        }

        if (GradientClipNorm != 0)
        {
            // Only when set, so that configurations without clipping hash as they always have.
            sb.AppendLine("network_weight_grad_clipping:");
            sb.AppendLine(inv, $"  norm: {GradientClipNorm.ToString("R", inv)}");
        }

        sb.AppendLine("model:");
        if (Architecture == "lstm")
        {
            // The language model's keys are written only for it, so that every other configuration hashes as before.
            sb.AppendLine(inv, $"  architecture: {Architecture}");
            sb.AppendLine(inv, $"  vocabulary: {Vocabulary}");
            sb.AppendLine(inv, $"  embedding_size: {EmbeddingSize}");
            sb.AppendLine(inv, $"  hidden_size: {HiddenSize}");
            sb.AppendLine(inv, $"  layers: {Layers}");
            sb.AppendLine(inv, $"  sequences: {Sequences}");
            sb.AppendLine(inv, $"  steps: {Steps}");
        }
        else if (Architecture != "mlp")
        {
            // Only non-default keys beyond the MLP's, so that an MLP configuration hashes as it always has.
            sb.AppendLine(inv, $"  architecture: {Architecture}");
            sb.AppendLine(inv, $"  input_shape: {(InputShape is null ? "null" : List(InputShape))}");
            sb.AppendLine(inv, $"  classes: {Classes}");
            sb.AppendLine(inv, $"  base_width: {BaseWidth}");
        }
        else
        {
            sb.AppendLine(inv, $"  layer_sizes: {List(LayerSizes)}");
            sb.AppendLine(inv, $"  activation: {Activation}");
        }
        return sb.ToString();
    }

    /// <summary>SHA-256 (hex) of <see cref="ToYaml"/>: identifies the training configuration in exported models.</summary>
    public string Sha256() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToYaml())));

    /// <summary>A deep copy (sweeps vary a copy per run).</summary>
    public TrainingConfig Clone()
    {
        var copy = (TrainingConfig)MemberwiseClone();
        copy.LrClip = (double[])LrClip.Clone();
        copy.LrMultiplier = (double[])LrMultiplier.Clone();
        copy.LayerSizes = (int[])LayerSizes.Clone();
        copy.InputShape = (int[]?)InputShape?.Clone();
        return copy;
    }
}
