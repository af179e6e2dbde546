using Microsoft.ML.OnnxRuntime;
using OnePass.Training.Graphs.Ops;
using Xunit.Abstractions;

namespace OnePass.Export.Tests;

/// <summary>
/// The recurrent ops' ONNX mappings (Embedding → Cast + Gather; LSTM → the ONNX LSTM operator with the gate rows
/// permuted in the graph) written into a graph of their own and run by ONNX Runtime against the ops' double-precision
/// ReferenceForward: a two-layer stack with non-zero initial states.
/// </summary>
public sealed class RecurrentExportTests(ITestOutputHelper output) : IDisposable
{
    private const int Vocabulary = 11, Embed = 5, Hidden = 6, Steps = 5, Batch = 3;

    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    private sealed record Exported(string Path, float[] Ids, double[] Expected);

    private Exported Build(string name)
    {
        var random = new Random(17);
        float[] Normal(int n) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        double[] D(float[] a) => Array.ConvertAll(a, v => (double)v);

        var builder = new OnnxGraphBuilder("lstm-test");
        var emitter = new OnnxEmitter(builder);
        string ids = builder.AddInput("ids", [Steps, Batch]);
        float[] idValues = Enumerable.Range(0, Steps * Batch).Select(k => k % 4 == 0 ? 3f : random.Next(Vocabulary)).ToArray();
        float[] embedding = Normal(Vocabulary * Embed);
        string x = new EmbeddingOp().ToOnnx(emitter, [ids, builder.AddInitializer("embedding", [Vocabulary, Embed], embedding)]);
        double[] expected = new EmbeddingOp().ReferenceForward([D(idValues), D(embedding)], [[Steps, Batch], [Vocabulary, Embed]]);
        for (int layer = 0; layer < 2; layer++)
        {
            int inputs = layer == 0 ? Embed : Hidden;
            int[][] shapes = [[Steps, Batch, inputs], [4 * Hidden, inputs], [4 * Hidden, Hidden], [4 * Hidden], [4 * Hidden], [Batch, Hidden], [Batch, Hidden]];
            string[] names = ["", "w_ih", "w_hh", "b_ih", "b_hh", "h0", "c0"];
            var values = new float[7][];
            var onnxInputs = new string[7];
            onnxInputs[0] = x;
            for (int i = 1; i < 7; i++)
            {
                values[i] = Normal(shapes[i].Aggregate(1, (a, b) => a * b));
                onnxInputs[i] = builder.AddInitializer($"lstm{layer}.{names[i]}", shapes[i], values[i]);
            }

            var op = new LstmOp(Hidden);
            x = op.ToOnnx(emitter, onnxInputs);
            expected = op.ReferenceForward([expected, .. values.Skip(1).Select(D)], shapes);
        }

        builder.AddOutput(x, [Steps, Batch, Hidden]);
        string path = dir.File(name);
        OnnxModelWriter.Save(OnnxModelFactory.CreateModel(builder), path);
        return new Exported(path, idValues, expected);
    }

    [Fact]
    public void TwoLayerLstmOnnxRuntimeMatchesTheReferenceForward()
    {
        var exported = Build("lstm.onnx");
        // The ORT environment must be OnePass\'s (log capture) whichever test creates a session first.
        OnnxRuntimeLog.EnsureInitialized();
        using var options = new SessionOptions();
        options.AddSessionConfigEntry("session.strict_shape_type_inference", "1");
        using var session = new InferenceSession(exported.Path, options);
        using var value = OrtValue.CreateTensorValueFromMemory(exported.Ids, [Steps, Batch]);
        using var results = session.Run(new RunOptions(), ["ids"], [value], session.OutputNames);
        Assert.Equal([Steps, Batch, Hidden], results[0].GetTensorTypeAndShape().Shape);
        float[] y = results[0].GetTensorDataAsSpan<float>().ToArray();
        double worst = 0;
        for (int i = 0; i < y.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(y[i] - exported.Expected[i]));
        }

        output.WriteLine($"largest difference {worst:E2} over {y.Length} values");
        Assert.True(worst < 1e-5, $"ONNX Runtime's LSTM output differs from the reference by up to {worst:E2}");
    }

    [RequiresPythonOnnxFact]
    public void LstmGraphPassesTheOnnxCheckerWithFullShapeInference()
    {
        var exported = Build("lstm-checked.onnx");
        var (exitCode, text) = PythonOnnx.Check(exported.Path);
        output.WriteLine(text);
        Assert.True(exitCode == 0, $"onnx checker failed: {text}");
    }
}
