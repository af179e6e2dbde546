using OnePass.Export;
using OnePass.Training.Backends;
using OnePass.Training.Checkpoints;
using OnePass.Training.Graphs;
using OnePass.Training.Models;
using OnePass.Training.Tensors;

namespace OnePass.Export.Tests;

/// <summary>Exported models run by ONNX Runtime (CPU) against the engine's forward pass on the same raw inputs.</summary>
public sealed class ExporterTests
{
    public static TheoryData<string, string> Cases() => new()
    {
        { "mse", "relu" }, { "mse", "tanh" }, { "mse", "sigmoid" },
        { "cross-entropy", "relu" }, { "cross-entropy", "tanh" }, { "cross-entropy", "sigmoid" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void OnnxRuntimeMatchesTheEngineOnRawInputs(string loss, string activation)
    {
        var random = new Random(loss.Length + activation.Length);
        int[] sizes = loss == "mse" ? [6, 9, 7, 2] : [6, 9, 7, 4];
        var header = TestHeaders.Create(sizes, loss, activation, random);
        var model = CheckpointModel.Build(header, "test");
        float[] weights = model.InitialWeights(3);
        int rows = 13;
        float[] raw = Enumerable.Range(0, rows * sizes[0]).Select(_ => (float)(random.NextDouble() * 20 - 5)).ToArray();

        // Engine: normalise on the host, forward on the CPU backend, undo target scaling.
        float[] normalised = raw.Select((x, i) => (x - header.InputMean[i % sizes[0]]) / header.InputStd[i % sizes[0]]).ToArray();
        var backend = new CpuBackend();
        using var executor = new GraphExecutor(model, backend);
        using var w = backend.Allocate(model.ParameterCount);
        backend.Upload(weights, w);
        float[] targets = loss == "mse" ? new float[rows * sizes[^1]] : new float[rows];
        executor.SetBatch(normalised, targets, rows);
        executor.Forward(w);
        var engine = new float[rows * sizes[^1]];
        backend.Download(executor.PredictionBuffer, engine);

        string path = Path.Combine(Path.GetTempPath(), $"onepass-export-{Guid.NewGuid():N}.onnx");
        OnnxModelWriter.Save(OnnxExporter.Export(model, weights, header), path);
        var warnings = new List<string>();
        OnnxRuntimeLog.EnsureInitialized();
        using (OnnxRuntimeLog.Subscribe(e => warnings.Add(e.Message)))
        {
            using var session = OnnxInferenceSession.Create(path, ExecutionProviderChoice.Cpu);
            var outputs = session.Run(raw, rows);
            if (loss == "mse")
            {
                float[] prediction = outputs[OnnxExporter.PredictionName];
                for (int i = 0; i < engine.Length; i++)
                {
                    Assert.True(Math.Abs(prediction[i] - ((engine[i] * header.TargetStd[0]) + header.TargetMean[0])) <= 1e-5,
                        $"prediction {i}: ONNX {prediction[i]} engine {engine[i] * header.TargetStd[0] + header.TargetMean[0]}");
                }
            }
            else
            {
                float[] logits = outputs[OnnxExporter.LogitsName], probabilities = outputs[OnnxExporter.ProbabilitiesName];
                for (int i = 0; i < engine.Length; i++)
                {
                    Assert.True(Math.Abs(logits[i] - engine[i]) <= 1e-5, $"logit {i}: ONNX {logits[i]} engine {engine[i]}");
                }

                for (int r = 0; r < rows; r++)
                {
                    Assert.Equal(1.0, probabilities.Skip(r * sizes[^1]).Take(sizes[^1]).Sum(), 5);
                }
            }
        }

        Assert.Empty(warnings);
        var metadata = OnnxModelReader.LoadMetadata(path);
        Assert.Equal("synthetic", metadata.Metadata["dataset"]);
        Assert.Equal("ours-wd-lr-m", metadata.Metadata["algorithm"]);
        Assert.Equal("0.0123", metadata.Metadata["hyperparameter.lr"]);
        Assert.Equal("0.321", metadata.Metadata["metric.test_loss"]);
        Assert.Equal("abc123", metadata.Metadata["config_sha256"]);
        Assert.Contains("synthetic", metadata.DocString);
        Assert.Equal(17, metadata.OpsetVersion);
        File.Delete(path);
    }

    private sealed class UnmappedOp : Op
    {
        public override string Type => "Unmapped";

        public override int[] InferShape(IReadOnlyList<int[]> inputShapes) => (int[])inputShapes[0].Clone();

        public override void Forward(OpContext context) => throw new NotImplementedException();

        public override void ForwardTangent(OpContext context) => throw new NotImplementedException();

        public override void Backward(OpContext context) => throw new NotImplementedException();

        public override void BackwardTangent(OpContext context) => throw new NotImplementedException();

        public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes) => inputs[0];
    }

    [Fact]
    public void AnOpWithoutMappingIsAnErrorNamingIt()
    {
        var graph = new Graph();
        var x = graph.AddInput("input", Value.Batch, 3);
        var t = graph.AddTarget("target", Value.Batch, 3);
        var h = graph.Apply(new UnmappedOp(), "unmapped", x);
        var loss = graph.Apply(new OnePass.Training.Graphs.Ops.MeanSquaredErrorOp(), "loss", h, t);
        var model = new Model(graph, x, t, h, loss, LossKind.MeanSquaredError, "odd", new Dictionary<Value, ParameterInit>());
        var header = TestHeaders.Create([3, 3], "mse", "relu", new Random(1));
        var e = Assert.Throws<NotSupportedException>(() => OnnxExporter.Export(model, [], header));
        Assert.Contains("'Unmapped'", e.Message);
    }

    [Fact]
    public void CheckpointRoundTripsAndRejectsOtherVersionsAndTruncation()
    {
        var header = TestHeaders.Create([4, 3, 2], "cross-entropy", "relu", new Random(2));
        float[] weights = Enumerable.Range(0, 4 * 3 + 3 + 3 * 2 + 2).Select(i => i * 0.5f).ToArray();
        string dir = Path.Combine(Path.GetTempPath(), $"onepass-ckpt-{Guid.NewGuid():N}");
        string path = Path.Combine(dir, Checkpoint.FileName);
        new Checkpoint(header, weights).Save(path);
        Assert.Single(Directory.GetFiles(dir));
        var loaded = Checkpoint.Load(path);
        Assert.Equal(weights, loaded.Weights);
        Assert.Equal(header.LayerSizes, loaded.Header.LayerSizes);
        Assert.Equal(header.InputMean, loaded.Header.InputMean);

        byte[] bytes = File.ReadAllBytes(path);
        string truncated = Path.Combine(dir, "truncated.ckpt");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length - 10)]);
        var e1 = Assert.Throws<CheckpointException>(() => Checkpoint.Load(truncated));
        Assert.Contains("truncated", e1.Message);
        Assert.Contains("truncated.ckpt", e1.Message);

        byte[] other = (byte[])bytes.Clone();
        other[6] = 3;
        string versioned = Path.Combine(dir, "v3.ckpt");
        File.WriteAllBytes(versioned, other);
        var e2 = Assert.Throws<CheckpointException>(() => Checkpoint.Load(versioned));
        Assert.Contains("format version 3", e2.Message);

        // A flipped bit in a weight is caught by the checksum, not exported as a model that predicts garbage.
        byte[] flipped = (byte[])bytes.Clone();
        flipped[^12] ^= 0x40;
        string corrupt = Path.Combine(dir, "flipped.ckpt");
        File.WriteAllBytes(corrupt, flipped);
        Assert.Contains("SHA-256", Assert.Throws<CheckpointException>(() => Checkpoint.Load(corrupt)).Message);

        // Format 1 (no state, no checksum) still loads, with a warning.
        byte[] json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(header);
        using (var v1 = new MemoryStream())
        {
            v1.Write("OPCKPT"u8);
            v1.Write(BitConverter.GetBytes(1));
            v1.Write(BitConverter.GetBytes(json.Length));
            v1.Write(json);
            v1.Write(BitConverter.GetBytes(weights.Length));
            foreach (float w in weights)
            {
                v1.Write(BitConverter.GetBytes(w));
            }

            v1.Write("END!"u8);
            File.WriteAllBytes(Path.Combine(dir, "v1.ckpt"), v1.ToArray());
        }

        var old = Checkpoint.Load(Path.Combine(dir, "v1.ckpt"));
        Assert.Equal(weights, old.Weights);
        Assert.Empty(old.State);
        Assert.Contains("no checksum", old.Warning);

        // State (running statistics) round-trips beside the weights.
        float[] state = [1.5f, -2f, 0.25f];
        new Checkpoint(header, weights, state).Save(path);
        Assert.Equal(state, Checkpoint.Load(path).State);
        Assert.Null(Checkpoint.Load(path).Warning);

        // Non-finite weights (saved by a broken writer with a valid checksum) are refused by export, naming the tensor.
        float[] poisoned = (float[])weights.Clone();
        poisoned[5] = float.NaN;
        new Checkpoint(header, poisoned).Save(path);
        var nan = Assert.Throws<CheckpointException>(() => OnnxExporter.Export(Checkpoint.Load(path), path));
        Assert.Contains("non-finite weight", nan.Message);
        Assert.Contains("layer1.weight", nan.Message);

        // A header whose layer sizes are null (hand-edited or from a broken writer) is one clear error, not a crash.
        new Checkpoint(header with { LayerSizes = null! }, weights).Save(path);
        var nullSizes = Assert.Throws<CheckpointException>(() => OnnxExporter.Export(Checkpoint.Load(path), path));
        Assert.Contains("layer_sizes", nullSizes.Message);

        string junk = Path.Combine(dir, "junk.ckpt");
        File.WriteAllText(junk, "not a checkpoint at all");
        Assert.Contains("not a OnePass checkpoint", Assert.Throws<CheckpointException>(() => Checkpoint.Load(junk)).Message);
        Directory.Delete(dir, true);
    }
}
