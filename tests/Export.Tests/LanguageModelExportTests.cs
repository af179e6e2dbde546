using Microsoft.ML.OnnxRuntime;
using OnePass.Training.Checkpoints;
using Xunit.Abstractions;

namespace OnePass.Export.Tests;

/// <summary>
/// The exported LSTM language model (token ids → Gather → ONNX LSTM layers → decoder → log-softmax, states in and out)
/// run by ONNX Runtime against the engine's inference executor carrying its state: over a 100-token sequence in one
/// call and in chunks with the states passed along, several streams from given states, and the reference checker.
/// </summary>
public sealed class LanguageModelExportTests(ITestOutputHelper output) : IDisposable
{
    private const int Steps = 100;
    private const double Tolerance = 1e-4;

    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    private static readonly float[] Weights = TinyLanguageModel.Weights(seed: 7);

    private string ExportTiny(string name)
    {
        string path = dir.File(name);
        var checkpoint = TinyLanguageModel.Checkpoint(Weights, TinyLanguageModel.Words());
        OnnxModelWriter.Save(OnnxExporter.Export(checkpoint, "run/model.ckpt"), path);
        return path;
    }

    private static long[] Tokens(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(k => k % 9 == 4 ? 3L : random.Next(TinyLanguageModel.Vocabulary)).ToArray();
    }

    private static InferenceSession Open(string path)
    {
        OnnxRuntimeLog.EnsureInitialized();
        using var options = new SessionOptions();
        options.AddSessionConfigEntry("session.strict_shape_type_inference", "1");
        return new InferenceSession(path, options);
    }

    // Runs tokens [steps, streams] (and the states, when given) through ORT: log-probabilities, hn, cn.
    private static (float[] LogProbabilities, float[] Hidden, float[] Cell) Run(InferenceSession session, long[] tokens, int steps, int streams, float[]? h0 = null, float[]? c0 = null, int stateStreams = -1)
    {
        var names = new List<string> { "tokens" };
        var values = new List<OrtValue> { OrtValue.CreateTensorValueFromMemory(tokens, [steps, streams]) };
        long[] stateShape = [TinyLanguageModel.Layers, stateStreams > 0 ? stateStreams : streams, TinyLanguageModel.Hidden];
        if (h0 is not null)
        {
            names.Add("h0");
            values.Add(OrtValue.CreateTensorValueFromMemory(h0, stateShape));
        }

        if (c0 is not null)
        {
            names.Add("c0");
            values.Add(OrtValue.CreateTensorValueFromMemory(c0, stateShape));
        }

        try
        {
            using var results = session.Run(new RunOptions(), names, values, ["log_probabilities", "hn", "cn"]);
            Assert.Equal([steps, streams, TinyLanguageModel.Vocabulary], results[0].GetTensorTypeAndShape().Shape);
            Assert.Equal([TinyLanguageModel.Layers, streams, TinyLanguageModel.Hidden], results[1].GetTensorTypeAndShape().Shape);
            return (results[0].GetTensorDataAsSpan<float>().ToArray(), results[1].GetTensorDataAsSpan<float>().ToArray(), results[2].GetTensorDataAsSpan<float>().ToArray());
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    private double Worst(string what, ReadOnlySpan<float> onnx, ReadOnlySpan<double> engine)
    {
        Assert.Equal(engine.Length, onnx.Length);
        double worst = 0;
        for (int i = 0; i < onnx.Length; i++)
        {
            Assert.True(double.IsFinite(onnx[i]), $"{what} {i} is {onnx[i]}");
            worst = Math.Max(worst, Math.Abs(onnx[i] - engine[i]));
        }

        output.WriteLine($"{what}: largest difference {worst:E2} over {onnx.Length} values");
        return worst;
    }

    private static double[] D(float[] values) => Array.ConvertAll(values, v => (double)v);

    [Fact]
    public void LstmLanguageModelLogProbabilitiesMatchTheEngineOverA100TokenSequenceInOneCall()
    {
        long[] tokens = Tokens(Steps, seed: 1);
        var engine = TinyLanguageModel.Engine(Weights, tokens, Steps, 1);
        using var session = Open(ExportTiny("lm.onnx"));
        var onnx = Run(session, tokens, Steps, 1);
        Assert.True(Worst("log-probabilities", onnx.LogProbabilities, engine.LogProbabilities) < Tolerance);
        Assert.True(Worst("hn", onnx.Hidden, D(engine.Hidden)) < Tolerance);
        Assert.True(Worst("cn", onnx.Cell, D(engine.Cell)) < Tolerance);

        // Not vacuous: the states moved away from zero, and the prediction varies along the sequence.
        Assert.True(onnx.Hidden.Max(Math.Abs) > 0.05f);
        Assert.True(Math.Abs(onnx.LogProbabilities[3] - onnx.LogProbabilities[(Steps - 1) * TinyLanguageModel.Vocabulary + 3]) > 1e-3);
    }

    [Fact]
    public void LstmLanguageModelLogProbabilitiesMatchTheEngineOverA100TokenSequenceFedInChunksWithTheStatesPassedAlong()
    {
        long[] tokens = Tokens(Steps, seed: 2);
        var engine = TinyLanguageModel.Engine(Weights, tokens, Steps, 1);
        using var session = Open(ExportTiny("lm-chunks.onnx"));
        int v = TinyLanguageModel.Vocabulary;
        var streamed = new float[Steps * v];
        float[]? h = null, c = null;
        int at = 0;
        foreach (int chunk in new[] { 1, 9, 23, 31, 36 })
        {
            var part = Run(session, tokens[at..(at + chunk)], chunk, 1, h, c);
            part.LogProbabilities.CopyTo(streamed, at * v);
            (h, c) = (part.Hidden, part.Cell);
            at += chunk;
        }

        Assert.Equal(Steps, at);
        Assert.True(Worst("chunked log-probabilities", streamed, engine.LogProbabilities) < Tolerance);
        Assert.True(Worst("chunked hn", h, D(engine.Hidden)) < Tolerance);
        Assert.True(Worst("chunked cn", c, D(engine.Cell)) < Tolerance);
    }

    [Fact]
    public void SeveralStreamsFromGivenStatesMatchTheEngineAndOneStateBroadcastsToEveryStream()
    {
        const int streams = 3, steps = 12;
        var random = new Random(5);
        float[] State(int n) => Enumerable.Range(0, TinyLanguageModel.Layers * n * TinyLanguageModel.Hidden).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        float[] h0 = State(streams), c0 = State(streams);
        long[] tokens = Tokens(steps * streams, seed: 3);
        var engine = TinyLanguageModel.Engine(Weights, tokens, steps, streams, h0, c0);
        using var session = Open(ExportTiny("lm-streams.onnx"));
        var onnx = Run(session, tokens, steps, streams, h0, c0);
        Assert.True(Worst("log-probabilities, 3 streams", onnx.LogProbabilities, engine.LogProbabilities) < Tolerance);
        Assert.True(Worst("hn, 3 streams", onnx.Hidden, D(engine.Hidden)) < Tolerance);
        Assert.True(Worst("cn, 3 streams", onnx.Cell, D(engine.Cell)) < Tolerance);

        // A [L, 1, H] state applies to every stream: the same as that state repeated for each.
        float[] h1 = State(1), c1 = State(1);
        float[] Repeat(float[] s)
        {
            int hh = TinyLanguageModel.Hidden;
            var r = new float[TinyLanguageModel.Layers * streams * hh];
            for (int l = 0; l < TinyLanguageModel.Layers; l++)
            {
                for (int n = 0; n < streams; n++)
                {
                    Array.Copy(s, l * hh, r, ((l * streams) + n) * hh, hh);
                }
            }

            return r;
        }

        var broadcast = Run(session, tokens, steps, streams, h1, c1, stateStreams: 1);
        var repeated = Run(session, tokens, steps, streams, Repeat(h1), Repeat(c1));
        Assert.Equal(repeated.LogProbabilities, broadcast.LogProbabilities);
        Assert.NotEqual(onnx.LogProbabilities, broadcast.LogProbabilities);
    }

    [Fact]
    public void TheModelNamesItsInputsAndOutputsAndCarriesTheVocabulary()
    {
        string path = ExportTiny("lm-names.onnx");
        var model = OnnxModelReader.Load(path);
        Assert.Equal(["tokens", "h0", "c0"], model.Graph.Input.Select(i => i.Name));
        Assert.Equal(["logits", "log_probabilities", "probabilities", "hn", "cn"], model.Graph.Output.Select(o => o.Name));
        Assert.Equal((int)Onnx.TensorProto.Types.DataType.Int64, model.Graph.Input[0].Type.TensorType.ElemType);
        Assert.Equal(["T", "N"], model.Graph.Input[0].Type.TensorType.Shape.Dim.Select(d => d.DimParam));
        // h0 and c0 are optional: each has a default (an initializer of the same name).
        Assert.Contains(model.Graph.Initializer, t => t.Name == "h0");
        Assert.Contains(model.Graph.Initializer, t => t.Name == "c0");
        Assert.Contains(model.Graph.Node, n => n.OpType == "LSTM");

        var metadata = OnnxModelReader.LoadMetadata(path).Metadata;
        Assert.Equal(TinyLanguageModel.Words(), metadata["vocabulary"].Split('\n'));
        Assert.Equal("2", metadata["lstm_layers"]);
        Assert.Equal("8", metadata["lstm_hidden_size"]);

        using var session = LanguageModelSession.Create(path, ExecutionProviderChoice.Cpu);
        Assert.Equal(TinyLanguageModel.Words(), session.Vocabulary);
        Assert.Equal(17, session.IdOf("w17"));
        Assert.Equal(-1, session.IdOf("w50"));
    }

    [Fact]
    public void ALanguageModelCheckpointWithoutAVocabularyIsAOneLineError()
    {
        var missing = TinyLanguageModel.Checkpoint(Weights, vocabulary: null);
        var e = Assert.Throws<CheckpointException>(() => OnnxExporter.Export(missing, "run/model.ckpt"));
        output.WriteLine(e.Message);
        Assert.StartsWith("run/model.ckpt: ", e.Message);
        Assert.Contains("vocabulary", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        var short_ = TinyLanguageModel.Checkpoint(Weights, TinyLanguageModel.Words()[..49]);
        Assert.Contains("49 words for a model of 50", Assert.Throws<CheckpointException>(() => OnnxExporter.Export(short_, "run/model.ckpt")).Message);

        string[] twice = TinyLanguageModel.Words();
        twice[9] = "w8";
        Assert.Contains("'w8' twice", Assert.Throws<CheckpointException>(() => OnnxExporter.Export(TinyLanguageModel.Checkpoint(Weights, twice), "run/model.ckpt")).Message);
    }

    [RequiresPythonOnnxFact]
    public void LanguageModelPassesTheOnnxCheckerWithFullShapeInference()
    {
        var (exitCode, text) = PythonOnnx.Check(ExportTiny("lm-checked.onnx"));
        output.WriteLine(text);
        Assert.True(exitCode == 0, $"onnx checker failed: {text}");
        Assert.Contains("log_probabilities [T, N, 50]", text);
        Assert.Contains("hn [2, N, 8]", text);
    }
}
