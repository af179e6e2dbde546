using Microsoft.ML.OnnxRuntime;
using OnePass.Training.Backends;
using OnePass.Training.Checkpoints;
using OnePass.Training.Graphs;
using OnePass.Training.Models;
using Xunit.Abstractions;

namespace OnePass.Export.Tests;

/// <summary>
/// Convolutional models (ResNet-18, the small CNN) exported with non-trivial batch-norm running statistics and run
/// by ONNX Runtime (CPU, strict shape inference) against the engine's evaluation-mode forward on the same inputs.
/// </summary>
public sealed class ConvExportTests(ITestOutputHelper output) : IDisposable
{
    // Per element: |ORT − engine| ≤ Tolerance · max(1, |engine|), i.e. absolute below 1, relative above.
    private const double Tolerance = 1e-4;
    private const int Classes = 10;

    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    public static TheoryData<string, int, int, int> Cases() => new()
    {
        { "resnet18", 3, 16, 16 }, { "resnet18", 1, 28, 28 },
        { "cnn", 3, 16, 16 }, { "cnn", 1, 28, 28 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ConvOnnxRuntimeMatchesTheEngineInEvaluationMode(string architecture, int channels, int height, int width)
    {
        var random = new Random(architecture.Length * 100 + channels * 10 + height);
        var exported = ExportTrained(architecture, [channels, height, width], baseWidth: 4, random);
        int features = channels * height * width, rows = 7;
        float[] raw = RandomPixels(rows * features, random);
        float[] engine = exported.EngineLogits(raw, rows);

        string path = dir.File($"{architecture}-{channels}x{height}x{width}.onnx");
        OnnxModelWriter.Save(exported.Onnx, path);
        using var options = new SessionOptions();
        options.AddSessionConfigEntry("session.strict_shape_type_inference", "1");
        using var session = new InferenceSession(path, options);

        Assert.Equal([OnnxExporter.InputName], session.InputNames);
        Assert.Equal([-1, channels, height, width], session.InputMetadata[OnnxExporter.InputName].Dimensions);
        Assert.Equal([OnnxExporter.LogitsName, OnnxExporter.ProbabilitiesName], session.OutputNames);
        foreach (string name in session.OutputNames)
        {
            Assert.Equal([-1, Classes], session.OutputMetadata[name].Dimensions);
        }

        using var value = OrtValue.CreateTensorValueFromMemory(raw, [rows, channels, height, width]);
        using var results = session.Run(new RunOptions(), [OnnxExporter.InputName], [value], session.OutputNames);
        Assert.Equal([rows, Classes], results[0].GetTensorTypeAndShape().Shape);
        Assert.Equal([rows, Classes], results[1].GetTensorTypeAndShape().Shape);
        float[] logits = results[0].GetTensorDataAsSpan<float>().ToArray();
        float[] probabilities = results[1].GetTensorDataAsSpan<float>().ToArray();

        double worstAbs = 0, worstScaled = 0;
        for (int i = 0; i < engine.Length; i++)
        {
            double diff = Math.Abs(logits[i] - engine[i]);
            worstAbs = Math.Max(worstAbs, diff);
            worstScaled = Math.Max(worstScaled, diff / Math.Max(1, Math.Abs(engine[i])));
            Assert.True(diff <= Tolerance * Math.Max(1, Math.Abs(engine[i])), $"logit {i}: ONNX {logits[i]} engine {engine[i]}");
        }

        for (int r = 0; r < rows; r++)
        {
            Assert.Equal(1.0, probabilities.Skip(r * Classes).Take(Classes).Sum(), 5);
        }

        // The logits must depend on the input (a constant output would match trivially).
        Assert.NotEqual(engine[..Classes], engine[Classes..(2 * Classes)]);
        // Controls: the running statistics matter (the initial state gives other logits), and strict shape inference
        // rejects a model whose declared output shape is wrong.
        string stateless = dir.File("initial-state.onnx");
        OnnxModelWriter.Save(OnnxExporter.Export(exported.Model, exported.Weights, exported.Header), stateless);
        using (var plain = new InferenceSession(stateless))
        using (var initial = plain.Run(new RunOptions(), [OnnxExporter.InputName], [value], plain.OutputNames))
        {
            float[] other = initial[0].GetTensorDataAsSpan<float>().ToArray();
            Assert.True(other.Zip(engine).Max(p => Math.Abs(p.First - p.Second)) > 1e-2, "the running statistics make no difference to the logits");
        }

        var wrong = exported.Onnx.Clone();
        wrong.Graph.Output[0].Type.TensorType.Shape.Dim[1].DimValue = Classes + 1;
        string wrongPath = dir.File("wrong-shape.onnx");
        OnnxModelWriter.Save(wrong, wrongPath);
        Assert.ThrowsAny<OnnxRuntimeException>(() => new InferenceSession(wrongPath, options).Dispose());

        output.WriteLine($"{architecture} {channels}x{height}x{width}: max |ORT − engine| = {worstAbs:E2} (scaled {worstScaled:E2}); largest |logit| {engine.Max(Math.Abs):F3}");
    }

    [Fact]
    public void ConvModelRunsThroughTheInferenceSessionWithImageRows()
    {
        var random = new Random(5);
        var exported = ExportTrained("cnn", [3, 8, 8], baseWidth: 2, random);
        string path = dir.File("cnn.onnx");
        OnnxModelWriter.Save(exported.Onnx, path);
        int rows = 5;
        float[] raw = RandomPixels(rows * 3 * 8 * 8, random);
        float[] engine = exported.EngineLogits(raw, rows);

        using var session = OnnxInferenceSession.Create(path, ExecutionProviderChoice.Cpu);
        Assert.Equal(3 * 8 * 8, session.InputWidth);
        Assert.Equal([3, 8, 8], session.InputShape);
        session.MaxBatchRows = 2;
        float[] logits = session.Run(raw, rows)[OnnxExporter.LogitsName];
        for (int i = 0; i < engine.Length; i++)
        {
            Assert.True(Math.Abs(logits[i] - engine[i]) <= Tolerance * Math.Max(1, Math.Abs(engine[i])), $"logit {i}: ONNX {logits[i]} engine {engine[i]}");
        }

        var e = Assert.Throws<InputWidthException>(() => session.Run(new float[2 * 28 * 28], 2));
        Assert.Contains("3×8×8", e.Message);
    }

    [RequiresPythonOnnxFact]
    public void ConvExportPassesTheOnnxCheckerWithFullShapeInference()
    {
        var random = new Random(9);
        foreach (var (architecture, shape) in new[] { ("resnet18", new[] { 3, 16, 16 }), ("cnn", new[] { 1, 28, 28 }) })
        {
            string path = dir.File($"{architecture}-checked.onnx");
            OnnxModelWriter.Save(ExportTrained(architecture, shape, baseWidth: 4, random).Onnx, path);
            var (exitCode, text) = PythonOnnx.Check(path);
            output.WriteLine($"{architecture}: {text}");
            Assert.True(exitCode == 0, $"{architecture}: onnx checker failed: {text}");
            Assert.Contains($"logits [N, {Classes}]", text);
            Assert.Contains($"probabilities [N, {Classes}]", text);
        }

        // Control: the checker fails a model whose declared output shape contradicts inference.
        var wrong = ExportTrained("cnn", [1, 28, 28], baseWidth: 2, random).Onnx;
        wrong.Graph.Output[0].Type.TensorType.Shape.Dim[1].DimValue = Classes + 1;
        string wrongPath = dir.File("wrong-shape.onnx");
        OnnxModelWriter.Save(wrong, wrongPath);
        Assert.NotEqual(0, PythonOnnx.Check(wrongPath).ExitCode);
    }

    private static float[] RandomPixels(int count, Random random) =>
        Enumerable.Range(0, count).Select(_ => (float)random.Next(256)).ToArray();

    /// <summary>
    /// Builds the model, perturbs its batch-norm scales and shifts and biases, runs a few training forwards that
    /// update the running statistics on random batches, and exports the weights and that state.
    /// </summary>
    private static Exported ExportTrained(string architecture, int[] shape, int baseWidth, Random random)
    {
        var spec = new ModelSpec { Architecture = architecture, InputShape = shape, Outputs = Classes, Loss = "cross-entropy", BaseWidth = baseWidth };
        var model = ModelBuilder.Build(spec);
        float[] weights = model.InitialWeights(random.Next());
        foreach (var p in model.Parameters.Where(p => p.Shape.Length == 1))
        {
            for (int i = 0; i < p.Length; i++)
            {
                weights[p.Offset + i] += (float)(random.NextDouble() - 0.5) * 0.6f;
            }
        }

        int features = model.InputWidth;

        // Mean and std deliberately off the data's (uniform 0..255) so the running statistics move far from 0 and 1.
        var header = new CheckpointHeader
        {
            OnePassVersion = "0.1.0", DataSet = "synthetic", Task = "classification", Model = spec, Loss = "cross-entropy",
            InputMean = Enumerable.Range(0, features).Select(_ => (float)(60 + random.NextDouble() * 40)).ToArray(),
            InputStd = Enumerable.Range(0, features).Select(_ => (float)(20 + random.NextDouble() * 60)).ToArray(),
            Algorithm = "ours-wd-lr-m", WeightStep = 3, Seed = 7,
        };

        var backend = new CpuBackend();
        using var w = backend.Allocate(model.ParameterCount);
        backend.Upload(weights, w);
        float[] state = new float[model.StateCount];
        using (var executor = new GraphExecutor(model, backend))
        {
            int rows = 6;
            for (int step = 0; step < 4; step++)
            {
                float[] batch = Normalise(RandomPixels(rows * features, random), header);
                float[] labels = Enumerable.Range(0, rows).Select(_ => (float)random.Next(Classes)).ToArray();
                executor.SetBatch(batch, labels, rows);
                executor.Forward(w, updateState: true);
            }

            backend.Download(executor.State!, state);
        }

        Assert.NotEqual(model.InitialState(), state);
        return new Exported(model, weights, state, header, OnnxExporter.Export(model, weights, header, state));
    }

    private static float[] Normalise(float[] raw, CheckpointHeader header)
    {
        int features = header.InputMean.Length;
        return raw.Select((x, i) => (x - header.InputMean[i % features]) / header.InputStd[i % features]).ToArray();
    }

    private sealed record Exported(Model Model, float[] Weights, float[] State, CheckpointHeader Header, Onnx.ModelProto Onnx)
    {
        /// <summary>The engine's evaluation-mode logits (running statistics) on <paramref name="raw"/>, normalised on the host.</summary>
        public float[] EngineLogits(float[] raw, int rows)
        {
            var backend = new CpuBackend();
            using var w = backend.Allocate(Model.ParameterCount);
            backend.Upload(Weights, w);
            using var state = backend.Allocate(Model.StateCount);
            backend.Upload(State, state);
            using var executor = new InferenceExecutor(Model, backend) { State = state };
            executor.Run(w, Normalise(raw, Header), new float[rows], rows);
            var logits = new float[rows * Classes];
            backend.Download(executor.PredictionBuffer, logits);
            return logits;
        }
    }
}
