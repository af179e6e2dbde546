using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;

namespace OnePass.Export.Tests;

/// <summary>
/// Convolutional models (ResNet-18, the small CNN) exported with non-trivial batch-norm running statistics and run
/// by ONNX Runtime (CPU, strict shape inference) against the engine's evaluation-mode forward on the same inputs.
/// </summary>
public sealed class ConvExportTests(ITestOutputHelper output) : IDisposable
{
    private const double Tolerance = TrainedConvModel.Tolerance;
    private const int Classes = TrainedConvModel.Classes;

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
        var exported = TrainedConvModel.Export(architecture, [channels, height, width], baseWidth: 4, random);
        int features = channels * height * width, rows = 7;
        float[] raw = TrainedConvModel.RandomPixels(rows * features, random);
        float[] engine = exported.EngineLogits(raw, rows);

        string path = dir.File($"{architecture}-{channels}x{height}x{width}.onnx");
        OnnxModelWriter.Save(exported.Onnx, path);
        // The ORT environment must be OnePass\'s (log capture) whichever test creates a session first.
        OnnxRuntimeLog.EnsureInitialized();
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
        var exported = TrainedConvModel.Export("cnn", [3, 8, 8], baseWidth: 2, random);
        string path = dir.File("cnn.onnx");
        OnnxModelWriter.Save(exported.Onnx, path);
        int rows = 5;
        float[] raw = TrainedConvModel.RandomPixels(rows * 3 * 8 * 8, random);
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
            OnnxModelWriter.Save(TrainedConvModel.Export(architecture, shape, baseWidth: 4, random).Onnx, path);
            var (exitCode, text) = PythonOnnx.Check(path);
            output.WriteLine($"{architecture}: {text}");
            Assert.True(exitCode == 0, $"{architecture}: onnx checker failed: {text}");
            Assert.Contains($"logits [N, {Classes}]", text);
            Assert.Contains($"probabilities [N, {Classes}]", text);
        }

        // Control: the checker fails a model whose declared output shape contradicts inference.
        var wrong = TrainedConvModel.Export("cnn", [1, 28, 28], baseWidth: 2, random).Onnx;
        wrong.Graph.Output[0].Type.TensorType.Shape.Dim[1].DimValue = Classes + 1;
        string wrongPath = dir.File("wrong-shape.onnx");
        OnnxModelWriter.Save(wrong, wrongPath);
        Assert.NotEqual(0, PythonOnnx.Check(wrongPath).ExitCode);
    }
}
