using System.Globalization;
using OnePass.Export.Onnx;
using OnePass.Training.Checkpoints;
using OnePass.Training.Data;
using OnePass.Training.Graphs;
using OnePass.Training.Models;

namespace OnePass.Export;

/// <summary>
/// Turns a trained model into a self-describing ONNX model (opset 17): raw inputs are normalised inside the
/// graph, each op of the inference path is written by its own <see cref="Op.ToOnnx"/> mapping, regression
/// outputs are returned in the original target units, and classifiers output logits and probabilities. Language
/// models (token ids in) are written by <see cref="LanguageModelExporter"/>.
/// </summary>
public static class OnnxExporter
{
    /// <summary>Name of the raw-feature input.</summary>
    public const string InputName = "input";

    /// <summary>Output of regression models, in original target units.</summary>
    public const string PredictionName = "prediction";

    /// <summary>Classifier output: unnormalised class scores.</summary>
    public const string LogitsName = "logits";

    /// <summary>Classifier output: softmax of the logits.</summary>
    public const string ProbabilitiesName = "probabilities";

    /// <summary>Metadata key of the input feature names, a JSON array in input order (models trained on a table with a header).</summary>
    public const string InputNamesKey = "input_names";

    /// <summary>Metadata key of the class labels, a JSON array in class index order (classifiers trained on a table).</summary>
    public const string ClassLabelsKey = "class_labels";

    /// <summary>Metadata key of the regression target names, a JSON array in output order (models trained on a table with a header).</summary>
    public const string TargetNamesKey = "target_names";

    /// <summary>Metadata key of the target means (regression): a number, or a JSON list with one per target.</summary>
    public const string TargetMeanKey = "target_mean";

    /// <summary>Metadata key of the target standard deviations (regression): a number, or a JSON list with one per target.</summary>
    public const string TargetStdKey = "target_std";

    /// <summary>Exports the model stored in a checkpoint.</summary>
    public static ModelProto Export(Checkpoint checkpoint, string checkpointPath)
    {
        var model = CheckpointModel.Build(checkpoint, checkpointPath);
        if (LanguageModelExporter.IsLanguageModel(model)
            && LanguageModelExporter.VocabularyProblem(checkpoint.Header.Vocabulary, model.OutputWidth) is { } problem)
        {
            throw new CheckpointException(checkpointPath, problem);
        }

        return Export(model, checkpoint.Weights, checkpoint.Header, checkpoint.State);
    }

    /// <summary>
    /// Exports <paramref name="model"/> with <paramref name="weights"/> and the facts in <paramref name="header"/>.
    /// Throws <see cref="ArgumentException"/> when the weights or the normalisation do not fit the model, and
    /// <see cref="NotSupportedException"/> naming the op when an op on the inference path has no ONNX mapping.
    /// <paramref name="state"/> is the model's non-parameter state (running statistics; null: its initial state).
    /// </summary>
    public static ModelProto Export(Model model, float[] weights, CheckpointHeader header, float[]? state = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(header);
        if (LanguageModelExporter.IsLanguageModel(model))
        {
            // Token ids in, next-token scores and the recurrent states out; the carried state a checkpoint holds is
            // not exported (a stream starts from zeros, or from the states its caller feeds).
            return LanguageModelExporter.Export(model, weights, header);
        }

        state ??= model.InitialState();
        Validate(model, weights, header);
        if (state.Length != model.StateCount)
        {
            throw new ArgumentException($"{model.Description} has {model.StateCount} state values, {state.Length} were given");
        }

        var builder = new OnnxGraphBuilder("onepass");
        int inputs = model.InputWidth, outputs = model.OutputWidth;
        int[] exampleShape = model.InputShape;
        string layout = exampleShape.Length == 1 ? "one example per row" : $"N×{string.Join("×", exampleShape)} (batch, channels, height, width)";
        string raw = builder.AddInput(InputName, [null, .. exampleShape.Select(d => (int?)d)], $"{InputDescription(header.DataSet, inputs)}, {layout}");
        string mean = builder.AddInitializer("input_mean", exampleShape, header.InputMean);
        string std = builder.AddInitializer("input_std", exampleShape, header.InputStd);

        // Sub then Div (not Mul by 1/std) so the graph normalises exactly as the engine's data loader does.
        string centred = builder.AddNode("Sub", [raw, mean]);
        string normalised = builder.AddNode("Div", [centred, std]);

        var names = new Dictionary<Value, string> { [model.Input] = normalised };
        var emitter = new OnnxEmitter(builder);
        var path = InferencePath(model);
        foreach (var p in model.Parameters)
        {
            if (path.Any(n => n.Inputs.Contains(p.Value)))
            {
                names[p.Value] = builder.AddInitializer(p.Name, p.Shape, weights.AsSpan(p.Offset, p.Length));
            }
        }

        var stateOf = model.States.ToDictionary(x => x.Node, x => (ReadOnlyMemory<float>)state.AsMemory(x.Offset, x.Length));
        foreach (var node in path)
        {
            emitter.State = stateOf.GetValueOrDefault(node, ReadOnlyMemory<float>.Empty);
            names[node.Output] = node.Op.ToOnnx(emitter, node.Inputs.Select(i => names[i]).ToArray());
        }

        string output = names[model.Prediction];
        bool classifier = model.LossKind == LossKind.CrossEntropy;
        if (classifier)
        {
            string logits = builder.AddNode("Identity", [output], LogitsName);
            builder.AddNode("Softmax", [logits], ProbabilitiesName, OnnxAttribute.Int("axis", 1));
            builder.AddOutput(LogitsName, [null, outputs], "class scores before softmax");
            builder.AddOutput(ProbabilitiesName, [null, outputs], "class probabilities (softmax of the logits)");
        }
        else
        {
            // One scale and shift per target column, broadcast over the rows ([1] for a single target, as before).
            int targets = header.TargetStd.Length;
            string scale = builder.AddInitializer("target_std", [targets], header.TargetStd);
            string shift = builder.AddInitializer("target_mean", [targets], header.TargetMean);
            string scaled = builder.AddNode("Mul", [output, scale]);
            builder.AddNode("Add", [scaled, shift], PredictionName);
            builder.AddOutput(PredictionName, [null, outputs], outputs == 1
                ? "prediction in the original target units"
                : $"predictions of the {outputs} targets{(header.TargetNames is { } n ? $" ({string.Join(", ", n)})" : "")}, in their original units");
        }

        return OnnxModelFactory.CreateModel(builder, DocString(model, header), Metadata(model, header));
    }

    /// <summary>
    /// What the raw input of a model trained on <paramref name="dataSet"/> holds, e.g. "raw pixel values 0-255"
    /// for Fashion-MNIST; used in the model's doc strings.
    /// </summary>
    public static string InputDescription(string dataSet, int width) => dataSet switch
    {
        FashionMnist.Name => $"raw pixel values 0-255 ({width} per image, row-major 28×28)",
        "cifar10" => $"raw pixel values 0-255 ({width} per image: red, green and blue planes of 32×32)",
        _ => $"{width} raw (unnormalised) features",
    };

    private static string DocString(Model model, CheckpointHeader header)
    {
        string what = model.LossKind == LossKind.CrossEntropy ? "class logits and probabilities" : "predictions in the original target units";
        string dataSet = string.IsNullOrEmpty(header.DataSet) ? "an unnamed data set" : header.DataSet;
        string algorithm = string.IsNullOrEmpty(header.Algorithm) ? string.Empty : $" with {header.Algorithm}";
        return $"OnePass {model.Description} trained on {dataSet}{algorithm}: input {InputDescription(header.DataSet, model.InputWidth)}, outputs {what}.";
    }

    private static void Validate(Model model, float[] weights, CheckpointHeader header)
    {
        if (weights.Length != model.ParameterCount)
        {
            throw new ArgumentException($"{model.Description} has {model.ParameterCount} weights, {weights.Length} were given");
        }

        if (header.InputMean.Length != model.InputWidth || header.InputStd.Length != model.InputWidth)
        {
            throw new ArgumentException(
                $"{model.Description} takes {model.InputWidth} features but the input normalisation has {header.InputMean.Length} means and {header.InputStd.Length} standard deviations");
        }

        for (int i = 0; i < header.InputStd.Length; i++)
        {
            if (!(header.InputStd[i] > 0) || !float.IsFinite(header.InputStd[i]) || !float.IsFinite(header.InputMean[i]))
            {
                throw new ArgumentException($"input normalisation of feature {i} is mean {header.InputMean[i]}, std {header.InputStd[i]}: expected a finite mean and a positive finite std");
            }
        }

        if (model.LossKind == LossKind.CrossEntropy)
        {
            return;
        }

        // One mean and standard deviation per target, or a single pair for every output (as single-target files hold).
        if (header.TargetMean.Length != header.TargetStd.Length || (header.TargetStd.Length != 1 && header.TargetStd.Length != model.OutputWidth))
        {
            throw new ArgumentException(
                $"{model.Description} predicts {model.OutputWidth} targets but the target scaling has {header.TargetMean.Length} means and {header.TargetStd.Length} standard deviations");
        }

        for (int t = 0; t < header.TargetStd.Length; t++)
        {
            if (!(header.TargetStd[t] > 0) || !float.IsFinite(header.TargetStd[t]) || !float.IsFinite(header.TargetMean[t]))
            {
                string which = header.TargetStd.Length == 1 ? "target scaling" : $"target scaling of target {t}";
                throw new ArgumentException($"{which} is mean {header.TargetMean[t]}, std {header.TargetStd[t]}: expected a finite mean and a positive finite std");
            }
        }
    }

    // Nodes the prediction depends on, in graph order (the loss and anything only it needs are left out).
    internal static List<Node> InferencePath(Model model)
    {
        var needed = new HashSet<Value> { model.Prediction };
        var nodes = new List<Node>();
        foreach (var node in model.Graph.Nodes.Reverse())
        {
            if (needed.Contains(node.Output))
            {
                nodes.Add(node);
                foreach (var input in node.Inputs)
                {
                    needed.Add(input);
                }
            }
        }

        if (needed.Contains(model.Target))
        {
            throw new NotSupportedException("the prediction depends on the training targets; the model cannot be exported for inference");
        }

        nodes.Reverse();
        return nodes;
    }

    internal static Dictionary<string, string> Metadata(Model model, CheckpointHeader header)
    {
        var inv = CultureInfo.InvariantCulture;
        var metadata = new Dictionary<string, string>
        {
            ["onepass_version"] = header.OnePassVersion,
            ["dataset"] = header.DataSet,
            ["task"] = header.Task,
            ["algorithm"] = header.Algorithm,
            ["model"] = model.Description,
            ["weight_steps"] = header.WeightStep.ToString(inv),
            ["seed"] = header.Seed.ToString(inv),
            ["config_sha256"] = header.ConfigSha256,
            ["checkpoint_format"] = Checkpoint.FormatVersion.ToString(inv),
            ["input_width"] = model.InputWidth.ToString(inv),
            ["output_width"] = model.OutputWidth.ToString(inv),
        };
        if (model.LossKind != LossKind.CrossEntropy)
        {
            // Lets a scorer report the loss on normalised targets, the figure training logs as test_loss: a number for a
            // single target (as before), a JSON list with one value per target otherwise (see TargetScaling).
            metadata[TargetMeanKey] = TargetScaling.Format(header.TargetMean);
            metadata[TargetStdKey] = TargetScaling.Format(header.TargetStd);
            if (header.TargetNames is { } targetNames)
            {
                metadata[TargetNamesKey] = System.Text.Json.JsonSerializer.Serialize(targetNames);
            }
        }

        // JSON arrays, so that any name survives: infer reorders a CSV's columns by these names.
        if (header.InputNames is { } inputNames)
        {
            metadata[InputNamesKey] = System.Text.Json.JsonSerializer.Serialize(inputNames);
        }

        if (header.ClassLabels is { } classLabels)
        {
            metadata[ClassLabelsKey] = System.Text.Json.JsonSerializer.Serialize(classLabels);
        }

        foreach (var (k, v) in header.Hyperparameters)
        {
            metadata[$"hyperparameter.{k}"] = Shortest(v);
        }

        foreach (var (k, v) in header.Metrics)
        {
            metadata[$"metric.{k}"] = Shortest(v);
        }

        return metadata;
    }

    // Values trained in float32 reach the header widened to double (0.1f → 0.10000000149011612); print those as
    // the float they were, anything else in full.
    private static string Shortest(double value)
    {
        float single = (float)value;
        return (double)single == value && float.IsFinite(single)
            ? single.ToString("R", CultureInfo.InvariantCulture)
            : value.ToString("R", CultureInfo.InvariantCulture);
    }
}
