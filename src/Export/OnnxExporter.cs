using System.Globalization;
using OnePass.Export.Onnx;
using OnePass.Training.Checkpoints;
using OnePass.Training.Graphs;
using OnePass.Training.Models;

namespace OnePass.Export;

/// <summary>
/// Turns a trained model into a self-describing ONNX model (opset 17): raw inputs are normalised inside the
/// graph, each op of the inference path is written by its own <see cref="Op.ToOnnx"/> mapping, regression
/// outputs are returned in the original target units, and classifiers output logits and probabilities.
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

    /// <summary>Exports the model stored in a checkpoint.</summary>
    public static ModelProto Export(Checkpoint checkpoint, string checkpointPath)
    {
        var model = CheckpointModel.Build(checkpoint.Header, checkpointPath);
        if (checkpoint.Weights.Length != model.ParameterCount)
        {
            throw new CheckpointException(checkpointPath, $"holds {checkpoint.Weights.Length} weights; {model.Description} has {model.ParameterCount}");
        }

        return Export(model, checkpoint.Weights, checkpoint.Header);
    }

    /// <summary>Exports <paramref name="model"/> with <paramref name="weights"/> and the facts in <paramref name="header"/>.</summary>
    public static ModelProto Export(Model model, float[] weights, CheckpointHeader header)
    {
        var builder = new OnnxGraphBuilder("onepass");
        int inputs = model.InputWidth, outputs = model.OutputWidth;
        string raw = builder.AddInput(InputName, [null, inputs], "raw features (Fashion-MNIST: pixel values 0-255)");
        string mean = builder.AddInitializer("input_mean", [inputs], header.InputMean);
        string std = builder.AddInitializer("input_std", [inputs], header.InputStd);
        string centred = builder.AddNode("Sub", [raw, mean]);
        string normalised = builder.AddNode("Div", [centred, std]);

        var names = new Dictionary<Value, string> { [model.Input] = normalised };
        foreach (var p in model.Parameters)
        {
            names[p.Value] = builder.AddInitializer(p.Name, p.Shape, weights.AsSpan(p.Offset, p.Length));
        }

        var emitter = new OnnxEmitter(builder);
        foreach (var node in InferencePath(model))
        {
            names[node.Output] = node.Op.ToOnnx(emitter, node.Inputs.Select(i => names[i]).ToArray());
        }

        string output = names[model.Prediction];
        bool classifier = model.LossKind == LossKind.CrossEntropy;
        if (classifier)
        {
            string logits = builder.AddNode("Identity", [output], LogitsName);
            builder.AddNode("Softmax", [logits], ProbabilitiesName, OnnxAttribute.Int("axis", 1));
            builder.AddOutput(LogitsName, [null, outputs], "class scores before softmax");
            builder.AddOutput(ProbabilitiesName, [null, outputs], "class probabilities");
        }
        else
        {
            string scale = builder.AddInitializer("target_std", [1], [header.TargetStd]);
            string shift = builder.AddInitializer("target_mean", [1], [header.TargetMean]);
            string scaled = builder.AddNode("Mul", [output, scale]);
            builder.AddNode("Add", [scaled, shift], PredictionName);
            builder.AddOutput(PredictionName, [null, outputs], "prediction in the original target units");
        }

        string what = classifier ? "class logits and probabilities" : "predictions in the original target units";
        string doc = $"OnePass {model.Description} trained on {header.DataSet} with {header.Algorithm}: takes raw features, outputs {what}.";
        return OnnxModelFactory.CreateModel(builder, doc, Metadata(model, header));
    }

    // Nodes the prediction depends on, in graph order (the loss and anything only it needs are left out).
    private static List<Node> InferencePath(Model model)
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

    private static Dictionary<string, string> Metadata(Model model, CheckpointHeader header)
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
        };
        foreach (var (k, v) in header.Hyperparameters)
        {
            metadata[$"hyperparameter.{k}"] = v.ToString("R", inv);
        }

        foreach (var (k, v) in header.Metrics)
        {
            metadata[$"metric.{k}"] = v.ToString("R", inv);
        }

        return metadata;
    }
}
