using OnePass.Training.Graphs;
using OnePass.Training.Graphs.Ops;

namespace OnePass.Training.Models;

/// <summary>
/// Builders of recurrent language models: the Penn Treebank model of the reference (Embedding → stacked LSTM →
/// Linear decoder, trained with mean softmax cross-entropy over every token). Parameters are named as PyTorch's
/// word-language-model example names them (encoder.weight, rnn.weight_ih_l0, …, decoder.weight, decoder.bias), and
/// initialised with PyTorch's defaults (Embedding N(0, 1); LSTM and Linear uniform in ±1/√H).
/// </summary>
public static class LanguageModels
{
    /// <summary>
    /// The LSTM language model of <paramref name="spec"/>: token ids [time steps, sequences] (integers stored as
    /// floats; the batch dimension is the time steps) and next-token targets of the same shape; logits
    /// [time steps, sequences, vocabulary]. Its LSTM layers carry their hidden and cell states from one batch to the
    /// next as model state (<see cref="LstmOp.CarriesState"/>), detached: truncated back-propagation through time.
    /// </summary>
    public static Model Lstm(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int v = spec.Outputs, e = spec.EmbeddingSize, h = spec.HiddenSize, layers = spec.Layers, n = spec.Sequences;
        void Positive(int value, string field)
        {
            if (value < 1)
            {
                throw new ArgumentException($"lstm needs a positive {field}, got {value}");
            }
        }

        if (v < 2)
        {
            throw new ArgumentException($"lstm needs a vocabulary (outputs) of at least 2 words, got {v}");
        }

        Positive(e, "embedding_size");
        Positive(h, "hidden_size");
        Positive(layers, "layers");
        Positive(n, "sequences");
        if (spec.LossKind != LossKind.CrossEntropy)
        {
            throw new ArgumentException($"lstm trains with cross-entropy, not {spec.Loss}");
        }

        var graph = new Graph();
        var init = new Dictionary<Value, ParameterInit>();
        var ids = graph.AddIndexInput("input", Value.Batch, n);
        var target = graph.AddIndexTarget("target", Value.Batch, n);
        var encoder = graph.AddParameter("encoder.weight", v, e);
        init[encoder] = new ParameterInit.Normal(1f);
        var x = graph.Apply(new EmbeddingOp(), "encoder", ids, encoder);
        var uniform = new ParameterInit.Uniform(1f / MathF.Sqrt(h));
        for (int layer = 0; layer < layers; layer++)
        {
            int inputs = layer == 0 ? e : h;
            var wih = graph.AddParameter($"rnn.weight_ih_l{layer}", 4 * h, inputs);
            var whh = graph.AddParameter($"rnn.weight_hh_l{layer}", 4 * h, h);
            var bih = graph.AddParameter($"rnn.bias_ih_l{layer}", 4 * h);
            var bhh = graph.AddParameter($"rnn.bias_hh_l{layer}", 4 * h);
            init[wih] = init[whh] = init[bih] = init[bhh] = uniform;
            x = graph.Apply(new LstmOp(h, carriesState: true), $"rnn.l{layer}", x, wih, whh, bih, bhh);
        }

        // The decoder runs on the time-major output [T, N, H] directly (every (t, n) is a row): [T, N, V].
        var weight = graph.AddParameter("decoder.weight", v, h);
        var bias = graph.AddParameter("decoder.bias", v);
        init[weight] = init[bias] = new ParameterInit.Uniform(1f / MathF.Sqrt(h));
        var logits = graph.Apply(new LinearOp(), "decoder", x, weight, bias);
        var loss = graph.Apply(new SoftmaxCrossEntropyOp(), "loss", logits, target);
        return new Model(graph, ids, target, logits, loss, LossKind.CrossEntropy, $"LSTM language model: vocabulary {v}, embedding {e}, {layers}x{h} LSTM, {n} sequences", init);
    }
}
