using System.Globalization;
using OnePass.Training.Backends;
using OnePass.Training.Checkpoints;
using OnePass.Training.Graphs;
using OnePass.Training.Models;

namespace OnePass.Export.Tests;

/// <summary>
/// A small LSTM language model (vocabulary 50, embedding 10, 2 layers of 8) with random weights, its checkpoint, and
/// the engine's own figures for it (the inference executor carrying the state over the stream), which the exported
/// model is held to. Linked into the CLI tests too.
/// </summary>
internal static class TinyLanguageModel
{
    public const int Vocabulary = 50, Embed = 10, Hidden = 8, Layers = 2;

    /// <summary>The vocabulary: "&lt;eos&gt;", "&lt;unk&gt;" (unless left out), then w2, w3, … (ids in that order).</summary>
    public static string[] Words(bool withUnknown = true) =>
        Enumerable.Range(0, Vocabulary).Select(k => k switch
        {
            0 => "<eos>",
            1 => withUnknown ? "<unk>" : "w1",
            _ => "w" + k.ToString(CultureInfo.InvariantCulture),
        }).ToArray();

    public static ModelSpec Spec(int sequences) => new()
    {
        Architecture = "lstm", Outputs = Vocabulary, EmbeddingSize = Embed, HiddenSize = Hidden, Layers = Layers,
        Sequences = sequences, InputShape = [sequences], Loss = "cross-entropy",
    };

    public static Model Build(int sequences) => ModelBuilder.Build(Spec(sequences));

    /// <summary>Random weights: PyTorch's initialisation scaled up, so that the gates are far from ½ and a mistake in their order shows.</summary>
    public static float[] Weights(int seed)
    {
        float[] w = Build(1).InitialWeights(seed);
        for (int i = 0; i < w.Length; i++)
        {
            w[i] *= 2.5f;
        }

        return w;
    }

    public static Checkpoint Checkpoint(float[] weights, string[]? vocabulary, int sequences = 1)
    {
        var model = Build(sequences);
        var header = new CheckpointHeader
        {
            OnePassVersion = "test",
            DataSet = "ptb",
            Task = "language-model",
            Model = Spec(sequences),
            Loss = "cross-entropy",
            InputMean = new float[sequences],
            InputStd = Enumerable.Repeat(1f, sequences).ToArray(),
            Algorithm = "random",
            Vocabulary = vocabulary,
        };
        return new Checkpoint(header, weights, model.InitialState());
    }

    /// <summary>
    /// The engine's next-token log-probabilities [steps, streams, V] (double log-softmax of its float logits) and final
    /// states [L, streams, H] for <paramref name="ids"/> (time-major), starting from <paramref name="hidden"/>,
    /// <paramref name="cell"/> ([L, streams, H]; null: zeros).
    /// </summary>
    public static (double[] LogProbabilities, float[] Hidden, float[] Cell) Engine(float[] weights, long[] ids, int steps, int streams, float[]? hidden = null, float[]? cell = null)
    {
        var model = Build(streams);
        using var backend = new CpuBackend();
        using var w = backend.Allocate(model.ParameterCount);
        backend.Upload(weights, w);
        using var executor = new InferenceExecutor(model, backend) { CarryState = true };
        int nh = streams * Hidden;
        var layers = model.States.Where(s => s.Node.Op.CarriesState).OrderBy(s => s.Node.Id).ToList();
        Assert.Equal(Layers, layers.Count);
        var state = model.InitialState();
        for (int l = 0; l < Layers; l++)
        {
            // [h_start | c_start | h_end | c_end]: a carrying forward first commits end → start, so the start goes in both.
            int at = layers[l].Offset;
            for (int k = 0; k < nh; k++)
            {
                state[at + k] = state[at + (2 * nh) + k] = hidden?[(l * nh) + k] ?? 0f;
                state[at + nh + k] = state[at + (3 * nh) + k] = cell?[(l * nh) + k] ?? 0f;
            }
        }

        backend.Upload(state, executor.State!);
        float[] input = Array.ConvertAll(ids, id => (float)id);
        executor.Run(w, input, new float[input.Length], steps);
        var logits = new float[steps * streams * Vocabulary];
        backend.Download(executor.PredictionBuffer, logits);
        backend.Download(executor.State!, state);

        var logProbabilities = new double[logits.Length];
        for (int row = 0; row < steps * streams; row++)
        {
            var z = logits.AsSpan(row * Vocabulary, Vocabulary);
            double max = double.NegativeInfinity, sum = 0;
            foreach (float v in z)
            {
                max = Math.Max(max, v);
            }

            foreach (float v in z)
            {
                sum += Math.Exp(v - max);
            }

            double log = max + Math.Log(sum);
            for (int j = 0; j < Vocabulary; j++)
            {
                logProbabilities[(row * Vocabulary) + j] = z[j] - log;
            }
        }

        var finalHidden = new float[Layers * nh];
        var finalCell = new float[Layers * nh];
        for (int l = 0; l < Layers; l++)
        {
            int at = layers[l].Offset;
            Array.Copy(state, at + (2 * nh), finalHidden, l * nh, nh);
            Array.Copy(state, at + (3 * nh), finalCell, l * nh, nh);
        }

        return (logProbabilities, finalHidden, finalCell);
    }

    /// <summary>The engine's mean cross-entropy of predicting each token of one stream from those before it.</summary>
    public static double EngineMeanCrossEntropy(float[] weights, int[] ids)
    {
        int predictions = ids.Length - 1;
        var (logProbabilities, _, _) = Engine(weights, ids[..predictions].Select(i => (long)i).ToArray(), predictions, 1);
        double total = 0;
        for (int t = 0; t < predictions; t++)
        {
            total -= logProbabilities[(t * Vocabulary) + ids[t + 1]];
        }

        return total / predictions;
    }

    /// <summary>The engine's greedy continuation of <paramref name="prompt"/> by <paramref name="count"/> tokens (re-running the whole prefix each step).</summary>
    public static int[] EngineGreedy(float[] weights, int[] prompt, int count)
    {
        var tokens = prompt.Select(i => (long)i).ToList();
        var generated = new int[count];
        for (int k = 0; k < count; k++)
        {
            var (logProbabilities, _, _) = Engine(weights, tokens.ToArray(), tokens.Count, 1);
            var last = logProbabilities.AsSpan((tokens.Count - 1) * Vocabulary, Vocabulary);
            int best = 0;
            for (int j = 1; j < Vocabulary; j++)
            {
                if (last[j] > last[best])
                {
                    best = j;
                }
            }

            generated[k] = best;
            tokens.Add(best);
        }

        return generated;
    }
}
