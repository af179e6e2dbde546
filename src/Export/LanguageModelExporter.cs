using System.Globalization;
using OnePass.Export.Onnx;
using OnePass.Training.Checkpoints;
using OnePass.Training.Graphs;
using OnePass.Training.Graphs.Ops;
using OnePass.Training.Models;

namespace OnePass.Export;

/// <summary>
/// The ONNX form of a recurrent language model (Embedding → stacked LSTM → Linear decoder) for streaming inference.
/// Inputs: <c>tokens</c> int64 [T, N] (T time steps of N independent streams, both dynamic) and the optional initial
/// states <c>h0</c>, <c>c0</c> float [L, N, H] (L LSTM layers; default zeros; a [L, 1, H] state is broadcast to every
/// stream). Outputs: <c>logits</c>, <c>log_probabilities</c> (LogSoftmax) and <c>probabilities</c> (Softmax), each
/// [T, N, V] over the next token, and the final states <c>hn</c>, <c>cn</c> [L, N, H], which a caller feeds back as
/// <c>h0</c>, <c>c0</c> to continue the same streams with the next chunk. The vocabulary (words in id order, one per
/// line) is in the metadata under <see cref="VocabularyKey"/>.
/// </summary>
public static class LanguageModelExporter
{
    /// <summary>The token-id input, int64 [T, N].</summary>
    public const string TokensName = "tokens";

    /// <summary>Optional input: initial hidden states of every layer, [L, N, H].</summary>
    public const string InitialHiddenName = "h0";

    /// <summary>Optional input: initial cell states of every layer, [L, N, H].</summary>
    public const string InitialCellName = "c0";

    /// <summary>Output: final hidden states of every layer, [L, N, H].</summary>
    public const string FinalHiddenName = "hn";

    /// <summary>Output: final cell states of every layer, [L, N, H].</summary>
    public const string FinalCellName = "cn";

    /// <summary>Output: log-softmax of the logits over the vocabulary, [T, N, V].</summary>
    public const string LogProbabilitiesName = "log_probabilities";

    /// <summary>Metadata key of the vocabulary: the words in token-id order, joined by newlines.</summary>
    public const string VocabularyKey = "vocabulary";

    /// <summary>Metadata key of the number of LSTM layers (L).</summary>
    public const string LayersKey = "lstm_layers";

    /// <summary>Metadata key of the LSTM width (H).</summary>
    public const string HiddenSizeKey = "lstm_hidden_size";

    /// <summary>True when <paramref name="model"/> is a language model (its input feeds an embedding lookup).</summary>
    public static bool IsLanguageModel(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.HasCarriedState || model.Graph.Nodes.Any(n => n.Op is EmbeddingOp && n.Inputs[0] == model.Input);
    }

    /// <summary>
    /// Checks that <paramref name="vocabulary"/> can name the <paramref name="size"/> tokens of a model: null when it
    /// can, else the problem in a few words.
    /// </summary>
    public static string? VocabularyProblem(string[]? vocabulary, int size)
    {
        if (vocabulary is null)
        {
            return "has no vocabulary (the header's \"vocabulary\" field), so the exported model could not map words to token ids";
        }

        if (vocabulary.Length != size)
        {
            return $"has a vocabulary of {vocabulary.Length} words for a model of {size} tokens";
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int k = 0; k < vocabulary.Length; k++)
        {
            string word = vocabulary[k];
            if (string.IsNullOrEmpty(word) || word.Any(char.IsWhiteSpace))
            {
                return $"has vocabulary entry {k} '{word}', which is empty or holds white space";
            }

            if (!seen.Add(word))
            {
                return $"has the word '{word}' twice in its vocabulary (entry {k})";
            }
        }

        return null;
    }

    /// <summary>Exports a language model; called by <see cref="OnnxExporter.Export(Model, float[], CheckpointHeader, float[])"/>.</summary>
    internal static ModelProto Export(Model model, float[] weights, CheckpointHeader header)
    {
        if (weights.Length != model.ParameterCount)
        {
            throw new ArgumentException($"{model.Description} has {model.ParameterCount} weights, {weights.Length} were given");
        }

        int vocabularySize = model.OutputWidth;
        if (VocabularyProblem(header.Vocabulary, vocabularySize) is { } problem)
        {
            throw new ArgumentException($"the language model {problem}");
        }

        var path = OnnxExporter.InferencePath(model);
        var lstms = path.Where(n => n.Op is LstmOp).ToList();
        if (lstms.Count == 0 || lstms.Any(n => !n.Op.CarriesState))
        {
            throw new NotSupportedException($"{model.Description}: only language models whose LSTM layers carry their state can be exported");
        }

        int layers = lstms.Count, hidden = ((LstmOp)lstms[0].Op).HiddenSize;
        if (lstms.Any(n => ((LstmOp)n.Op).HiddenSize != hidden))
        {
            throw new NotSupportedException($"{model.Description}: LSTM layers of different widths cannot share the [layers, N, H] state inputs");
        }

        var builder = new OnnxGraphBuilder("onepass");
        string tokens = builder.AddInput(TokensName, TensorProto.Types.DataType.Int64, ["T", "N"],
            $"token ids [time steps, streams], each in [0, {vocabularySize}) (the metadata's \"{VocabularyKey}\" lists the words in id order)");
        string h0 = builder.AddInput(InitialHiddenName, TensorProto.Types.DataType.Float, [layers, "N", hidden],
            "optional initial hidden state of every LSTM layer [layers, streams, hidden] (default zeros; [layers, 1, hidden] applies to every stream): the previous chunk's hn");
        string c0 = builder.AddInput(InitialCellName, TensorProto.Types.DataType.Float, [layers, "N", hidden],
            "optional initial cell state of every LSTM layer [layers, streams, hidden] (default zeros; [layers, 1, hidden] applies to every stream): the previous chunk's cn");
        var zeros = new float[layers * hidden];
        builder.AddInputDefault(h0, [layers, 1, hidden], zeros);
        builder.AddInputDefault(c0, [layers, 1, hidden], zeros);

        // Zeros [1, N, 1] taken from the tokens, so that adding them broadcasts a [L, 1, H] state (the default) to
        // [L, N, H] with every dimension known to shape inference (an Expand to a computed shape would hide N).
        string axis0 = builder.AddInt64Initializer("axis_0", [0]);
        string zero = builder.AddInt64Initializer("index_0", [0]);
        string one = builder.AddInt64Initializer("index_1", [1]);
        string axis2 = builder.AddInt64Initializer("axis_2", [2]);
        string firstStep = builder.AddNode("Slice", [tokens, zero, one, axis0]);
        string column = builder.AddNode("Unsqueeze", [firstStep, axis2]);
        string asFloat = builder.AddNode("Cast", [column], null, OnnxAttribute.Int("to", (long)TensorProto.Types.DataType.Float));
        string streamZeros = builder.AddNode("Mul", [asFloat, builder.AddInitializer("zero", [], [0f])]);
        string hAll = builder.AddNode("Add", [h0, streamZeros]);
        string cAll = builder.AddNode("Add", [c0, streamZeros]);

        var names = new Dictionary<Value, string> { [model.Input] = tokens };
        foreach (var p in model.Parameters)
        {
            if (path.Any(n => n.Inputs.Contains(p.Value)))
            {
                names[p.Value] = builder.AddInitializer(p.Name, p.Shape, weights.AsSpan(p.Offset, p.Length));
            }
        }

        var emitter = new OnnxEmitter(builder);
        var finalHidden = new List<string>();
        var finalCell = new List<string>();
        foreach (var node in path)
        {
            emitter.CarriedStateInputs = [];
            emitter.CarriedStateOutputs = [];
            if (node.Op is LstmOp)
            {
                int layer = finalHidden.Count;
                string from = builder.AddInt64Initializer($"layer_{layer}", [layer]);
                string to = builder.AddInt64Initializer($"layer_{layer}_end", [layer + 1]);
                emitter.CarriedStateInputs =
                [
                    builder.AddNode("Slice", [hAll, from, to, axis0]),
                    builder.AddNode("Slice", [cAll, from, to, axis0]),
                ];
            }

            names[node.Output] = node.Op.ToOnnx(emitter, node.Inputs.Select(i => names[i]).ToArray());
            if (node.Op is LstmOp)
            {
                if (emitter.CarriedStateOutputs is not [string h, string c])
                {
                    throw new InvalidOperationException($"LSTM layer {finalHidden.Count}: the LSTM's ONNX mapping did not report its final states");
                }

                finalHidden.Add(h);
                finalCell.Add(c);
            }
        }

        string logits = builder.AddNode("Identity", [names[model.Prediction]], OnnxExporter.LogitsName);
        builder.AddNode("LogSoftmax", [logits], LogProbabilitiesName, OnnxAttribute.Int("axis", 2));
        builder.AddNode("Softmax", [logits], OnnxExporter.ProbabilitiesName, OnnxAttribute.Int("axis", 2));
        builder.AddNode("Concat", finalHidden, FinalHiddenName, OnnxAttribute.Int("axis", 0));
        builder.AddNode("Concat", finalCell, FinalCellName, OnnxAttribute.Int("axis", 0));
        object[] scores = ["T", "N", vocabularySize];
        builder.AddOutput(OnnxExporter.LogitsName, scores, "next-token scores before softmax [time steps, streams, vocabulary]");
        builder.AddOutput(LogProbabilitiesName, scores, "log-probabilities of the next token (log-softmax of the logits)");
        builder.AddOutput(OnnxExporter.ProbabilitiesName, scores, "probabilities of the next token (softmax of the logits)");
        builder.AddOutput(FinalHiddenName, [layers, "N", hidden], "hidden state of every LSTM layer after the last time step: feed it back as h0 to continue the streams");
        builder.AddOutput(FinalCellName, [layers, "N", hidden], "cell state of every LSTM layer after the last time step: feed it back as c0 to continue the streams");

        // The engine's description names its training batch (sequences), which the exported model does not fix.
        var encoder = path.First(n => n.Op is EmbeddingOp).Inputs[1];
        int embedding = model.Parameters.First(p => p.Value == encoder).Shape[1];
        string description = $"LSTM language model: vocabulary {vocabularySize}, embedding {embedding}, {layers}x{hidden} LSTM";
        var metadata = OnnxExporter.Metadata(model, header);
        metadata.Remove("input_width");
        metadata["model"] = description;
        var inv = CultureInfo.InvariantCulture;
        metadata[VocabularyKey] = string.Join('\n', header.Vocabulary!);
        metadata[LayersKey] = layers.ToString(inv);
        metadata[HiddenSizeKey] = hidden.ToString(inv);
        string dataSet = string.IsNullOrEmpty(header.DataSet) ? "an unnamed text" : header.DataSet;
        string algorithm = string.IsNullOrEmpty(header.Algorithm) ? string.Empty : $" with {header.Algorithm}";
        string doc = $"OnePass {description} trained on {dataSet}{algorithm}: input token ids [T, N] (optional states h0, c0 [{layers}, N, {hidden}]), "
            + $"outputs next-token logits, log-probabilities and probabilities [T, N, {vocabularySize}] and the final states hn, cn.";
        return OnnxModelFactory.CreateModel(builder, doc, metadata);
    }
}
