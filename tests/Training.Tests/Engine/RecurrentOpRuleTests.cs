using OnePass.Training.Backends;
using OnePass.Training.Graphs;
using OnePass.Training.Graphs.Ops;
using OnePass.Training.Models;
using OnePass.Training.Tensors;
using static OnePass.Training.Tests.Engine.OpRuleHarness;

namespace OnePass.Training.Tests.Engine;

/// <summary>
/// The recurrent family (Embedding, LSTM) against <see cref="RecurrentOracle"/>: each op's four rules by central
/// differences (see <see cref="OpRuleHarness"/>), ReferenceForward, a two-layer language model's gradient and
/// Hessian-vector products through <see cref="GraphExecutor"/>, the final states, id errors and ONNX mappings.
/// </summary>
public sealed class RecurrentOpRuleTests
{
    private const int Vocabulary = 11, Embed = 5, Hidden = 5, Steps = 4, Batch = 3;

    // Token ids with guaranteed repeats: every third position holds id 7.
    private static readonly Func<Random, int, float[]> Ids = (r, n) =>
        Enumerable.Range(0, n).Select(k => k % 3 == 0 ? 7f : r.Next(Vocabulary)).ToArray();

    private static (Op Op, int[][] Shapes, bool[] Live, Func<double[][], double[]> Oracle, Func<Random, int, float[]>[] Generators) Case(string name)
    {
        (Op, int[][], bool[], Func<double[][], double[]>, Func<Random, int, float[]>[]) Lstm(bool inputLive, bool statesLive, int h = Hidden)
        {
            int i = 5, t = Steps, n = Batch;
            int[][] shapes = [[t, n, i], [4 * h, i], [4 * h, h], [4 * h], [4 * h], [n, h], [n, h]];
            bool[] live = [inputLive, true, true, true, true, statesLive, statesLive];
            return (new LstmOp(h), shapes, live,
                v => RecurrentOracle.Lstm(v[0], t, n, i, h, v[1], v[2], v[3], v[4], v[5], v[6]).Output,
                [Gaussian, Gaussian, Gaussian, Gaussian, Gaussian, Gaussian, Gaussian]);
        }

        return name switch
        {
            "EmbeddingRepeatedIds" => (new EmbeddingOp(), [[Steps, Batch], [Vocabulary, Embed]], [false, true],
                v => RecurrentOracle.Embedding(v[0], v[1], Embed), [Ids, Gaussian]),
            "LstmAllLive" => Lstm(inputLive: true, statesLive: true),
            "LstmConstantInitialStates" => Lstm(inputLive: true, statesLive: false),
            "LstmDataInput" => Lstm(inputLive: false, statesLive: true),

            // 19 units: the CPU cell kernels' whole-vector loop and their element-wise finish, and the products'
            // 16-lane dot-product tail.
            "LstmWide" => Lstm(inputLive: true, statesLive: true, h: 19),
            "Reshape" => (new ReshapeOp(-1, Hidden), [[Steps, Batch, Hidden]], [true], v => (double[])v[0].Clone(), [Gaussian]),
            _ => throw new ArgumentException(name),
        };
    }

    public static TheoryData<string> Cases() => ["EmbeddingRepeatedIds", "LstmAllLive", "LstmConstantInitialStates", "LstmDataInput", "LstmWide", "Reshape"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void RulesMatchFiniteDifferencesOfTheDoubleOracle(string name)
    {
        var (op, shapes, live, oracle, generators) = Case(name);
        Check(name, op, shapes, live, oracle, generators, seed: name.Length * 7927);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ReferenceForwardAgreesWithTheOracle(string name)
    {
        var (op, shapes, _, oracle, generators) = Case(name);
        var random = new Random(name.Length);
        double[][] inputs = shapes.Select((s, i) => Array.ConvertAll(generators[i](random, s.Aggregate(1, (a, b) => a * b)), v => (double)v)).ToArray();
        double[] expected = oracle(inputs);
        double[] actual = op.ReferenceForward(inputs, shapes);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * (1 + Math.Abs(expected[i])), $"{name}: element {i}: {actual[i]} vs {expected[i]}");
        }
    }

    [Theory]
    [InlineData(11)]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    public void EmbeddingRejectsIdsOutsideTheVocabulary(int bad)
    {
        using var backend = new CpuBackend();
        var c = new OpContext(backend, 2);
        var ids = backend.AllocateIndices(3);
        backend.Upload([1, bad, 2], ids);
        c.Inputs[0] = new Tensor(ids, [3, 1]);
        c.Inputs[1] = new Tensor(backend.Allocate(Vocabulary * Embed), [Vocabulary, Embed]);
        c.Output = new Tensor(backend.Allocate(3 * Embed), [3, 1, Embed]);
        var error = Assert.Throws<ArgumentException>(() => new EmbeddingOp().Forward(c));
        Assert.Contains("token id", error.Message, StringComparison.Ordinal);
        Assert.Contains("[0, 11)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LstmShapeErrorsNameTheMismatch()
    {
        var error = Assert.Throws<ArgumentException>(() => new LstmOp(5).InferShape([[4, 3, 5], [20, 5], [20, 4], [20], [20], [3, 5], [3, 5]]));
        Assert.Contains("W_hh", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The two-layer language model: its parameters in graph order and the nodes of its LSTM layers.</summary>
    private static (Model Model, Node[] Layers) LanguageModel()
    {
        var graph = new Graph();
        var ids = graph.AddIndexInput("ids", Steps, Batch);
        var target = graph.AddIndexTarget("target", Steps * Batch);
        var embedding = graph.AddParameter("embedding", Vocabulary, Embed);
        var x = graph.Apply(new EmbeddingOp(), "embedded", ids, embedding);
        var layers = new Node[2];
        for (int layer = 0; layer < 2; layer++)
        {
            int inputs = layer == 0 ? Embed : Hidden;
            var wih = graph.AddParameter($"lstm{layer}.w_ih", 4 * Hidden, inputs);
            var whh = graph.AddParameter($"lstm{layer}.w_hh", 4 * Hidden, Hidden);
            var bih = graph.AddParameter($"lstm{layer}.b_ih", 4 * Hidden);
            var bhh = graph.AddParameter($"lstm{layer}.b_hh", 4 * Hidden);
            var h0 = graph.AddParameter($"lstm{layer}.h0", Batch, Hidden);
            var c0 = graph.AddParameter($"lstm{layer}.c0", Batch, Hidden);
            x = graph.Apply(new LstmOp(Hidden), $"lstm{layer}", x, wih, whh, bih, bhh, h0, c0);
            layers[layer] = x.Producer!;
        }

        var decoderWeight = graph.AddParameter("decoder.weight", Vocabulary, Hidden);
        var decoderBias = graph.AddParameter("decoder.bias", Vocabulary);
        var rows = graph.Apply(new ReshapeOp(Steps * Batch, Hidden), "rows", x);
        var logits = graph.Apply(new LinearOp(), "logits", rows, decoderWeight, decoderBias);
        var loss = graph.Apply(new SoftmaxCrossEntropyOp(), "loss", logits, target);
        return (new Model(graph, ids, target, logits, loss, LossKind.CrossEntropy, "2-layer LSTM language model", new Dictionary<Value, ParameterInit>()), layers);
    }

    // The language model's loss in double precision, written out with the oracles; also the layers' final cells.
    private static (double Loss, double[][] FinalCells, double[][] Outputs) LanguageModelLoss(Model model, double[] weights, double[] ids, double[] targets)
    {
        var p = model.Parameters.ToDictionary(q => q.Name, q => weights.AsSpan(q.Offset, q.Length).ToArray());
        double[] x = RecurrentOracle.Embedding(ids, p["embedding"], Embed);
        var cells = new double[2][];
        var outputs = new double[2][];
        for (int layer = 0; layer < 2; layer++)
        {
            string l = $"lstm{layer}.";
            (x, cells[layer]) = RecurrentOracle.Lstm(x, Steps, Batch, layer == 0 ? Embed : Hidden, Hidden,
                p[l + "w_ih"], p[l + "w_hh"], p[l + "b_ih"], p[l + "b_hh"], p[l + "h0"], p[l + "c0"]);
            outputs[layer] = x;
        }

        double[] logits = Oracle.Linear(x, p["decoder.weight"], p["decoder.bias"], Steps * Batch, Hidden, Vocabulary);
        return (Oracle.CrossEntropy(logits, targets, Steps * Batch, Vocabulary), cells, outputs);
    }

    [Fact]
    public void TwoLayerLanguageModelGradientAndHessianVectorProductsMatchCentralDifferences()
    {
        var (model, layers) = LanguageModel();
        var random = new Random(2024);
        float[] ids = Ids(random, Steps * Batch);
        float[] targets = Ids(random, Steps * Batch).Reverse().ToArray();
        double[] ids64 = Array.ConvertAll(ids, v => (double)v), targets64 = Array.ConvertAll(targets, v => (double)v);
        float[] weights = Oracle.Normal(random, model.ParameterCount, 0.5);
        double Loss(double[] w) => LanguageModelLoss(model, w, ids64, targets64).Loss;

        int n = model.ParameterCount;
        using var backend = new CpuBackend();
        using var executor = new GraphExecutor(model, backend);
        using var w = backend.Allocate(n);
        using var g = backend.Allocate(n);
        using var v = backend.Allocate(n);
        using var hv = backend.Allocate(n);
        backend.Upload(weights, w);
        executor.SetBatch(ids, targets, Steps);
        executor.Forward(w);
        double[] w64 = Array.ConvertAll(weights, e => (double)e);
        var expected = LanguageModelLoss(model, w64, ids64, targets64);
        Assert.True(Math.Abs(executor.ReadLoss() - expected.Loss) <= 1e-5 * Math.Max(1, expected.Loss), $"loss {executor.ReadLoss()} vs {expected.Loss}");

        // Final states: h_T is the output's last step, c_T sits in the layer's workspace.
        for (int layer = 0; layer < 2; layer++)
        {
            var op = (LstmOp)layers[layer].Op;
            var cell = new float[Batch * Hidden];
            backend.Download(op.FinalCell(executor.WorkspaceBuffer(layers[layer])!, Steps, Batch), cell);
            Assert.True(Oracle.RelativeError(cell, expected.FinalCells[layer]) < 1e-5, $"layer {layer}: final cell state differs");
            var hidden = new float[Batch * Hidden];
            backend.Download(op.FinalHidden(executor.ValueBuffer(layers[layer].Output), Steps, Batch), hidden);
            Assert.True(Oracle.RelativeError(hidden, expected.Outputs[layer][^(Batch * Hidden)..]) < 1e-5, $"layer {layer}: final hidden state differs");
        }

        executor.Backward(g);
        var gradient = new float[n];
        backend.Download(g, gradient);
        const double h1 = 1e-6;
        var fdGradient = new double[n];
        var probe = (double[])w64.Clone();
        for (int i = 0; i < n; i++)
        {
            probe[i] = w64[i] + h1;
            double plus = Loss(probe);
            probe[i] = w64[i] - h1;
            double minus = Loss(probe);
            probe[i] = w64[i];
            fdGradient[i] = (plus - minus) / (2 * h1);
        }

        double gradientError = Oracle.RelativeError(gradient, fdGradient);
        Assert.True(gradientError < Tolerance, $"gradient relative error {gradientError:E2} against central differences");

        const double h2 = 1e-4;
        for (int trial = 0; trial < 2; trial++)
        {
            float[] direction = Oracle.Normal(random, n, 1 / Math.Sqrt(n));
            backend.Upload(direction, v);
            executor.HessianVectorProduct(v, hv);
            var product = new float[n];
            backend.Download(hv, product);
            var fd = new double[n];
            for (int i = 0; i < n; i++)
            {
                double At(double a, double b)
                {
                    for (int j = 0; j < n; j++)
                    {
                        probe[j] = w64[j] + (a * direction[j]);
                    }

                    probe[i] += b;
                    return Loss(probe);
                }

                fd[i] = (At(h2, h2) - At(h2, -h2) - At(-h2, h2) + At(-h2, -h2)) / (4 * h2 * h2);
            }

            double error = Oracle.RelativeError(product, fd);
            Assert.True(error < Tolerance, $"Hessian-vector product {trial} relative error {error:E2} against mixed second differences");
        }
    }

    [Fact]
    public void OnnxMappingsPermuteTheGatesIntoOnnxOrder()
    {
        var emitter = new RecordingEmitter();
        string embedded = new EmbeddingOp().ToOnnx(emitter, ["ids", "embedding"]);
        Assert.Equal(["Cast", "Gather"], emitter.Nodes.Select(n => n.Type));
        Assert.Equal(7L, emitter.Nodes[0].Attributes.Single(a => a.Name == "to").Value);
        Assert.Equal(["embedding", "Cast_0"], emitter.Nodes[1].Inputs);
        Assert.Equal("Gather_1", embedded);

        emitter.Nodes.Clear();
        const int h = 2;
        string y = new LstmOp(h).ToOnnx(emitter, ["x", "w_ih", "w_hh", "b_ih", "b_hh", "h0", "c0"]);
        Assert.Equal(
            ["Gather", "Unsqueeze", "Gather", "Unsqueeze", "Gather", "Gather", "Concat", "Unsqueeze", "Unsqueeze", "Unsqueeze", "LSTM", "Squeeze"],
            emitter.Nodes.Select(n => n.Type));
        var lstm = emitter.Nodes[10];
        Assert.Equal(["x", "Unsqueeze_1", "Unsqueeze_3", "Unsqueeze_7", "", "Unsqueeze_8", "Unsqueeze_9"], lstm.Inputs);
        Assert.Equal((long)h, lstm.Attributes.Single(a => a.Name == "hidden_size").Value);
        Assert.Equal("Squeeze_11", y);
        Assert.Equal(["LSTM_10", "lstm_axis1"], emitter.Nodes[11].Inputs);

        // PyTorch's rows (blocks i, f, g, o) gathered by the permutation come out in ONNX's order i, o, f, c.
        long[] permutation = emitter.Int64Initializers["lstm_gate_permutation"];
        string[] pyTorchRows = ["i0", "i1", "f0", "f1", "g0", "g1", "o0", "o1"];
        Assert.Equal(["i0", "i1", "o0", "o1", "f0", "f1", "g0", "g1"], permutation.Select(r => pyTorchRows[r]));
        Assert.Equal(new long[] { 0 }, emitter.Int64Initializers["lstm_axis0"]);
        Assert.Equal(new long[] { 1 }, emitter.Int64Initializers["lstm_axis1"]);
    }

    private sealed class RecordingEmitter : IOnnxEmitter
    {
        public List<(string Type, string[] Inputs, (string Name, object Value)[] Attributes)> Nodes { get; } = [];

        public Dictionary<string, long[]> Int64Initializers { get; } = [];

        public ReadOnlyMemory<float> State => ReadOnlyMemory<float>.Empty;

        public string AddNode(string opType, IReadOnlyList<string> inputs, params (string Name, object Value)[] attributes)
        {
            Nodes.Add((opType, inputs.ToArray(), attributes));
            return $"{opType}_{Nodes.Count - 1}";
        }

        public string AddInitializer(string name, int[] shape, ReadOnlySpan<float> values) => name;

        public string AddInt64Initializer(string name, long[] values)
        {
            Int64Initializers[name] = values;
            return name;
        }
    }
}
