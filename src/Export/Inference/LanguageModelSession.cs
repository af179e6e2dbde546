using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace OnePass.Export;

/// <summary>The recurrent state of every LSTM layer between two chunks of a stream: hidden and cell, each [L, N, H].</summary>
public sealed record LanguageModelState(float[] Hidden, float[] Cell);

/// <summary>One chunk's result: next-token log-probabilities [T, N, V] and the states after its last step.</summary>
public sealed record LanguageModelStep(float[] LogProbabilities, LanguageModelState State);

/// <summary>
/// ONNX Runtime on a language model written by <see cref="LanguageModelExporter"/>: feeds token ids chunk by chunk
/// with the states passed along, scores a token stream (mean cross-entropy, perplexity) and continues a prompt by
/// greedy decoding.
/// </summary>
public sealed class LanguageModelSession : IDisposable
{
    private static readonly string[] Outputs = [LanguageModelExporter.LogProbabilitiesName, LanguageModelExporter.FinalHiddenName, LanguageModelExporter.FinalCellName];
    private readonly OnnxInferenceSession session;
    private readonly Dictionary<string, int> ids;

    private LanguageModelSession(OnnxInferenceSession session, string[] vocabulary, int layers, int hidden)
    {
        this.session = session;
        Vocabulary = vocabulary;
        Layers = layers;
        HiddenSize = hidden;
        ids = new Dictionary<string, int>(vocabulary.Length, StringComparer.Ordinal);
        for (int k = 0; k < vocabulary.Length; k++)
        {
            ids[vocabulary[k]] = k;
        }
    }

    /// <summary>The words in token-id order.</summary>
    public IReadOnlyList<string> Vocabulary { get; }

    /// <summary>LSTM layers (L).</summary>
    public int Layers { get; }

    /// <summary>LSTM width (H).</summary>
    public int HiddenSize { get; }

    /// <summary>True when the CUDA execution provider is in use.</summary>
    public bool UsesCuda => session.UsesCuda;

    /// <summary>True when <paramref name="metadata"/> (an ONNX model's metadata_props) describes a language model.</summary>
    public static bool IsLanguageModel(IReadOnlyDictionary<string, string> metadata) =>
        metadata.ContainsKey(LanguageModelExporter.VocabularyKey);

    /// <summary>
    /// Opens the language model at <paramref name="modelPath"/>; throws <see cref="ModelFileException"/> when it is not
    /// one written by <see cref="LanguageModelExporter"/> (no vocabulary, or not the expected inputs and outputs).
    /// </summary>
    public static LanguageModelSession Create(string modelPath, ExecutionProviderChoice provider = ExecutionProviderChoice.Auto, Action<string>? log = null)
    {
        var metadata = OnnxModelReader.LoadMetadata(modelPath).Metadata;
        if (!metadata.TryGetValue(LanguageModelExporter.VocabularyKey, out string? words) || words.Length == 0)
        {
            throw new ModelFileException(modelPath, $"is not a language model: its metadata has no '{LanguageModelExporter.VocabularyKey}'");
        }

        int Number(string key) =>
            metadata.TryGetValue(key, out string? text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
                ? n
                : throw new ModelFileException(modelPath, $"metadata '{key}' is '{text}': expected a positive integer");
        int layers = Number(LanguageModelExporter.LayersKey), hidden = Number(LanguageModelExporter.HiddenSizeKey);
        OnnxInferenceSession inner;
        // h0 and c0 are optional inputs by design (inputs with a default): ORT's notice that such a default is not
        // constant-folded is expected, not something to show the user; any other message passes through.
        using (OnnxRuntimeLog.Subscribe(entry =>
        {
            if (!entry.Message.Contains("appears in graph inputs", StringComparison.Ordinal))
            {
                Console.Error.WriteLine(entry.ToString());
            }
        }))
        {
            inner = OnnxInferenceSession.Create(modelPath, provider, log);
        }

        try
        {
            if (!inner.InputNames.Contains(LanguageModelExporter.TokensName) || Outputs.Any(o => !inner.OutputNames.Contains(o)))
            {
                throw new ModelFileException(
                    modelPath,
                    $"is not a language model of the expected form: inputs {string.Join(", ", inner.InputNames)}; outputs {string.Join(", ", inner.OutputNames)}");
            }

            return new LanguageModelSession(inner, words.Split('\n'), layers, hidden);
        }
        catch
        {
            inner.Dispose();
            throw;
        }
    }

    /// <summary>The id of <paramref name="word"/>, or -1 when it is not in the vocabulary.</summary>
    public int IdOf(string word) => ids.GetValueOrDefault(word, -1);

    /// <summary>
    /// Runs <paramref name="steps"/> time steps of <paramref name="streams"/> streams (tokens time-major, [T, N]) from
    /// <paramref name="state"/> (null: zeros).
    /// </summary>
    public LanguageModelStep Run(ReadOnlySpan<long> tokens, int steps, int streams, LanguageModelState? state = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(streams);
        if (tokens.Length != steps * streams)
        {
            throw new ArgumentException($"{tokens.Length} token ids for {steps} steps of {streams} streams");
        }

        for (int k = 0; k < tokens.Length; k++)
        {
            if (tokens[k] < 0 || tokens[k] >= Vocabulary.Count)
            {
                throw new ArgumentException($"token id {tokens[k]} at position {k} is not in [0, {Vocabulary.Count})");
            }
        }

        var names = new List<string> { LanguageModelExporter.TokensName };
        var values = new List<OrtValue> { OrtValue.CreateTensorValueFromMemory(tokens.ToArray(), [steps, streams]) };
        try
        {
            if (state is not null)
            {
                int size = Layers * streams * HiddenSize;
                if (state.Hidden.Length != size || state.Cell.Length != size)
                {
                    throw new ArgumentException($"states of {state.Hidden.Length} and {state.Cell.Length} values for {Layers} layers of {streams} streams of width {HiddenSize}");
                }

                long[] shape = [Layers, streams, HiddenSize];
                names.Add(LanguageModelExporter.InitialHiddenName);
                values.Add(OrtValue.CreateTensorValueFromMemory(state.Hidden, shape));
                names.Add(LanguageModelExporter.InitialCellName);
                values.Add(OrtValue.CreateTensorValueFromMemory(state.Cell, shape));
            }

            var results = session.RunNamed(names, values, Outputs);
            return new LanguageModelStep(
                results[Outputs[0]].Data,
                new LanguageModelState(results[Outputs[1]].Data, results[Outputs[2]].Data));
        }
        finally
        {
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
    }

    /// <summary>
    /// Scores one stream of token ids: the mean cross-entropy (natural log) of predicting each token from those before
    /// it, over the <c>ids.Length − 1</c> predictions, feeding at most <paramref name="chunk"/> tokens a call.
    /// </summary>
    public double MeanCrossEntropy(ReadOnlySpan<int> tokens, int chunk = 512)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunk);
        if (tokens.Length < 2)
        {
            throw new ArgumentException($"{tokens.Length} token(s): scoring needs at least 2");
        }

        int v = Vocabulary.Count, predictions = tokens.Length - 1;
        LanguageModelState? state = null;
        double total = 0;
        var input = new long[Math.Min(chunk, predictions)];
        for (int start = 0; start < predictions; start += chunk)
        {
            int count = Math.Min(chunk, predictions - start);
            for (int t = 0; t < count; t++)
            {
                input[t] = tokens[start + t];
            }

            var step = Run(input.AsSpan(0, count), count, 1, state);
            for (int t = 0; t < count; t++)
            {
                total -= step.LogProbabilities[(t * v) + tokens[start + t + 1]];
            }

            state = step.State;
        }

        return total / predictions;
    }

    /// <summary>
    /// Continues <paramref name="prompt"/> (at least one token id) by <paramref name="count"/> tokens, each the most
    /// probable next token (greedy decoding; ties go to the lower id), carrying the state from step to step.
    /// </summary>
    public int[] Generate(ReadOnlySpan<int> prompt, int count)
    {
        if (prompt.Length == 0)
        {
            throw new ArgumentException("the prompt holds no token");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int v = Vocabulary.Count;
        var generated = new int[count];
        if (count == 0)
        {
            return generated;
        }

        long[] input = new long[prompt.Length];
        for (int t = 0; t < prompt.Length; t++)
        {
            input[t] = prompt[t];
        }

        var step = Run(input, prompt.Length, 1);
        int last = prompt.Length - 1;
        for (int k = 0; k < count; k++)
        {
            var scores = step.LogProbabilities.AsSpan(last * v, v);
            int best = 0;
            for (int j = 1; j < v; j++)
            {
                if (scores[j] > scores[best])
                {
                    best = j;
                }
            }

            generated[k] = best;
            if (k + 1 < count)
            {
                step = Run([best], 1, 1, step.State);
                last = 0;
            }
        }

        return generated;
    }

    /// <inheritdoc />
    public void Dispose() => session.Dispose();
}
