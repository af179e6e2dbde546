using Xunit.Abstractions;

namespace OnePass.Export.Tests;

public sealed class InferenceSessionTests(ITestOutputHelper testOutput) : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void CpuRunMatchesHandComputation()
    {
        var path = TinyModel.Save(dir.File("tiny.onnx"));
        var entries = new List<OrtLogEntry>();
        using var sub = OnnxRuntimeLog.Subscribe(e => { lock (entries) { entries.Add(e); } });
        using var session = OnnxInferenceSession.Create(path, ExecutionProviderChoice.Cpu);
        Assert.Equal("x", session.InputName);
        Assert.Equal(3, session.InputWidth);
        Assert.Equal(["probabilities"], session.OutputNames);
        Assert.Equal(2, session.OutputWidths["probabilities"]);
        Assert.False(session.UsesCuda);

        float[] input = [1f, 2f, 3f, -1f, 0.5f, 2f, 0f, 0f, 0f, 4f, -3f, 0.1f];
        var rows = 4;
        var output = session.Run(input, rows)["probabilities"];
        var expected = TinyModel.Expected(input, rows);
        Assert.Equal(expected.Length, output.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.InRange(Math.Abs(output[i] - expected[i]), 0, 1e-5);
        }

        // Chunked batching gives the same result.
        session.MaxBatchRows = 3;
        var chunked = session.Run(input, rows)["probabilities"];
        Assert.Equal(output, chunked);

        Assert.True(OnnxRuntimeLog.CaptureActive);
        lock (entries)
        {
            Assert.DoesNotContain(entries, e => e.LogId == session.LogId);
        }
    }

    [Fact]
    public void OrtWarningsAreCapturedPerSession()
    {
        // Positive control for log capture: an initializer that is also declared as a graph input
        // makes ORT warn on session creation.
        var model = OnnxModelFactory.CreateModel(TinyModel.Build());
        model.Graph.Input.Add(new Onnx.ValueInfoProto
        {
            Name = "W",
            Type = new Onnx.TypeProto
            {
                TensorType = new Onnx.TypeProto.Types.Tensor
                {
                    ElemType = (int)Onnx.TensorProto.Types.DataType.Float,
                    Shape = new Onnx.TensorShapeProto { Dim = { new Onnx.TensorShapeProto.Types.Dimension { DimValue = 2 }, new Onnx.TensorShapeProto.Types.Dimension { DimValue = 3 } } },
                },
            },
        });
        var path = dir.File("warns.onnx");
        OnnxModelWriter.Save(model, path);
        var entries = new List<OrtLogEntry>();
        using var sub = OnnxRuntimeLog.Subscribe(e => { lock (entries) { entries.Add(e); } });
        using var session = OnnxInferenceSession.Create(path, ExecutionProviderChoice.Cpu);
        lock (entries)
        {
            foreach (var e in entries)
            {
                testOutput.WriteLine($"ort: {e}");
            }

            Assert.Contains(entries, e => e.LogId == session.LogId && e.Severity == "WARNING");
        }
    }

    [Fact]
    public void ModelOrtRejectsGivesModelFileException()
    {
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("x", [null, 2]);
        var y = g.AddNode("NoSuchOperator", [x]);
        g.AddOutput(y, [null, 2]);
        var path = dir.File("unknown-op.onnx");
        OnnxModelWriter.Save(OnnxModelFactory.CreateModel(g), path);
        var e = Assert.Throws<ModelFileException>(() => OnnxInferenceSession.Create(path, ExecutionProviderChoice.Cpu));
        testOutput.WriteLine(e.Message);
        Assert.StartsWith("unknown-op.onnx: ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Throws<ModelFileException>(() => OnnxInferenceSession.Create(path, ExecutionProviderChoice.Auto));
    }

    [Fact]
    public void WrongInputWidthGivesClearError()
    {
        var path = TinyModel.Save(dir.File("width.onnx"));
        using var session = OnnxInferenceSession.Create(path, ExecutionProviderChoice.Cpu);
        var e = Assert.Throws<InputWidthException>(() => session.Run(new float[8], 2));
        testOutput.WriteLine(e.Message);
        Assert.Equal("model expects 3 features per row, the input has 4", e.Message);
        Assert.IsAssignableFrom<ArgumentException>(e);
    }

    [Fact]
    public void AutoFallsBackToCpuWithOneLogLine()
    {
        var path = TinyModel.Save(dir.File("auto.onnx"));
        var lines = new List<string>();
        var ortLog = new List<OrtLogEntry>();
        using var sub = OnnxRuntimeLog.Subscribe(e => { lock (ortLog) { ortLog.Add(e); } });
        using var session = OnnxInferenceSession.Create(path, ExecutionProviderChoice.Auto, lines.Add);
        foreach (var l in lines)
        {
            testOutput.WriteLine($"log: {l}");
        }

        lock (ortLog)
        {
            foreach (var e in ortLog)
            {
                testOutput.WriteLine($"ort: {e}");
            }
        }

        if (session.UsesCuda)
        {
            Assert.Empty(lines); // a CUDA-capable machine: nothing to fall back from
            return;
        }

        var line = Assert.Single(lines);
        Assert.StartsWith("CUDA execution provider unavailable, using CPU (", line);
        Assert.DoesNotContain('\n', line);
        if (!OnnxInferenceSession.DebugLogRequested(Environment.GetEnvironmentVariable(OnnxInferenceSession.DebugVariable)))
        {
            // Issue 13 item 6: one short line; ONNX Runtime's whole load error only with ONEPASS_DEBUG.
            Assert.True(line.Length <= 160, $"{line.Length} characters: {line}");
            Assert.DoesNotContain("[ErrorCode", line);
        }

        var output = session.Run([1f, 2f, 3f], 1)["probabilities"];
        Assert.InRange(Math.Abs(output[0] - TinyModel.Expected([1f, 2f, 3f], 1)[0]), 0, 1e-5);
    }

    [Fact]
    public void TheFallbackNoticeIsOneShortLineAndTheFullReasonOnlyInTheDebugLog()
    {
        const string ort = "[ErrorCode:Fail] OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library (Failed to load library "
            + "libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared object file: No such file or directory)";
        var quiet = OnnxInferenceSession.FallbackNotice(ort, debug: false);
        Assert.Equal("CUDA execution provider unavailable, using CPU (libcublasLt.so.13 not found); ONEPASS_DEBUG=1 shows ONNX Runtime's message", Assert.Single(quiet));
        var verbose = OnnxInferenceSession.FallbackNotice(ort, debug: true);
        Assert.Equal(2, verbose.Count);
        Assert.Equal("CUDA execution provider unavailable, using CPU (libcublasLt.so.13 not found)", verbose[0]);
        Assert.Equal("debug: ONNX Runtime's reason: " + ort, verbose[1]);

        // Another reason: its gist without ORT's prefixes, cut to 80 characters.
        string other = OnnxInferenceSession.ShortReason("[ErrorCode:Fail] OrtSessionOptionsAppendExecutionProvider_Cuda: CUDA failure 35: "
            + "CUDA driver version is insufficient for CUDA runtime version ; GPU=0 ; hostname=x ; file=cuda_execution_provider.cc ; line=200");
        Assert.StartsWith("CUDA failure 35: CUDA driver version is insufficient", other);
        Assert.True(other.Length <= 80, other);
        Assert.True(OnnxInferenceSession.DebugLogRequested("1"));
        Assert.False(OnnxInferenceSession.DebugLogRequested("0"));
        Assert.False(OnnxInferenceSession.DebugLogRequested(null));
    }

    [Fact]
    public void ExplicitCudaFailureIsClearWhenUnavailable()
    {
        var path = TinyModel.Save(dir.File("cuda.onnx"));
        OnnxInferenceSession? session = null;
        try
        {
            session = OnnxInferenceSession.Create(path, ExecutionProviderChoice.Cuda);
            Assert.True(session.UsesCuda);
        }
        catch (ExecutionProviderException e)
        {
            testOutput.WriteLine($"cuda: {e.Message}");
            Assert.StartsWith("CUDA execution provider unavailable: ", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
        finally
        {
            session?.Dispose();
        }
    }
}
