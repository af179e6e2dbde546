using OnePass.Training.Backends;
using OnePass.Training.Graphs;
using OnePass.Training.Graphs.Ops;
using OnePass.Training.Tensors;
using static OnePass.Training.Tests.Engine.OpRuleHarness;

namespace OnePass.Training.Tests.Engine;

/// <summary>
/// The convolution family's four rules against central differences of <see cref="ConvolutionOracle"/> (see
/// <see cref="OpRuleHarness"/>), its ReferenceForward against the same oracle, PyTorch's max-pool tie rule,
/// shape errors and ONNX mappings.
/// </summary>
public sealed class ConvolutionOpRuleTests
{
    private static readonly Func<Random, int, float[]> Spread = (r, n) => ConvolutionOracle.Distinct(r, n);

    // name → (op, input shapes, which inputs carry tangents and adjoints, oracle, input generators)
    private static (Op Op, int[][] Shapes, bool[] Live, Func<double[][], double[]> Oracle, Func<Random, int, float[]>[] Generators) Case(string name)
    {
        (Op, int[][], bool[], Func<double[][], double[]>, Func<Random, int, float[]>[]) Conv(int[] x, int[] w, bool bias, int stride, int padding, bool inputLive = true)
        {
            int[][] shapes = bias ? [x, w, [w[0]]] : [x, w];
            bool[] live = bias ? [inputLive, true, true] : [inputLive, true];
            return (new Conv2dOp(stride, padding), shapes, live,
                v => ConvolutionOracle.Conv2d(v[0], x, v[1], w, bias ? v[2] : null, stride, padding),
                bias ? [Gaussian, Gaussian, Gaussian] : [Gaussian, Gaussian]);
        }

        return name switch
        {
            "Conv3x3Stride2Pad1Bias" => Conv([2, 3, 5, 5], [4, 3, 3, 3], bias: true, stride: 2, padding: 1),
            "Conv3x3Stride1Pad1NoBias" => Conv([2, 2, 5, 4], [3, 2, 3, 3], bias: false, stride: 1, padding: 1),
            "Conv3x3DataInput" => Conv([2, 2, 4, 5], [3, 2, 3, 3], bias: true, stride: 1, padding: 1, inputLive: false),
            "ConvNonSquareKernel" => Conv([2, 2, 6, 5], [3, 2, 3, 2], bias: true, stride: 2, padding: 1),
            "ConvNonSquareNoPad" => Conv([1, 3, 5, 7], [2, 3, 2, 4], bias: false, stride: 1, padding: 0),
            "Conv1x1Stride2" => Conv([2, 3, 5, 5], [4, 3, 1, 1], bias: false, stride: 2, padding: 0),
            "Conv7x7Stride2Pad3" => Conv([2, 2, 9, 9], [3, 2, 7, 7], bias: true, stride: 2, padding: 3),
            "MaxPool3x3Stride2Pad1" => (new MaxPool2dOp(3, 2, 1), [[2, 2, 5, 6]], [true],
                v => ConvolutionOracle.MaxPool2d(v[0], [2, 2, 5, 6], 3, 2, 1), [Spread]),
            "MaxPool2x2Stride2" => (new MaxPool2dOp(2, 2, 0), [[2, 3, 4, 5]], [true],
                v => ConvolutionOracle.MaxPool2d(v[0], [2, 3, 4, 5], 2, 2, 0), [Spread]),
            "GlobalAveragePool" => (new GlobalAveragePoolOp(), [[2, 3, 3, 4]], [true],
                v => ConvolutionOracle.GlobalAveragePool(v[0], [2, 3, 3, 4]), [Gaussian]),
            "Flatten" => (new FlattenOp(), [[2, 3, 2, 2]], [true], v => (double[])v[0].Clone(), [Gaussian]),
            "Add" => (new AddOp(), [[2, 3, 2, 2], [2, 3, 2, 2]], [true, true], v => ConvolutionOracle.Add(v[0], v[1]), [Gaussian, Gaussian]),
            "AddOneLive" => (new AddOp(), [[3, 4], [3, 4]], [false, true], v => ConvolutionOracle.Add(v[0], v[1]), [Gaussian, Gaussian]),
            _ => throw new ArgumentException(name),
        };
    }

    public static TheoryData<string> Cases() =>
    [
        "Conv3x3Stride2Pad1Bias", "Conv3x3Stride1Pad1NoBias", "Conv3x3DataInput", "ConvNonSquareKernel", "ConvNonSquareNoPad",
        "Conv1x1Stride2", "Conv7x7Stride2Pad3", "MaxPool3x3Stride2Pad1", "MaxPool2x2Stride2", "GlobalAveragePool", "Flatten", "Add", "AddOneLive",
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void RulesMatchFiniteDifferencesOfTheDoubleOracle(string name)
    {
        var (op, shapes, live, oracle, generators) = Case(name);
        Check(name, op, shapes, live, oracle, generators, seed: name.Length * 7919);
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
    [InlineData(3, 32, 40, 8, 3, 1, 1)] // one image per im2col chunk
    [InlineData(5, 32, 40, 8, 3, 2, 1)] // chunks of four images and one
    [InlineData(4, 64, 12, 32, 1, 2, 0)]
    public void LargeConvolutionsAcrossChunksAndThreadsMatchTheOracle(int n, int ch, int hw, int o, int k, int stride, int padding)
    {
        // Too large for finite differences: the op is bilinear, so its tangent is two oracle convolutions and
        // its adjoints are checked by pairing with random directions (⟨ȳ, J·v⟩ = ⟨Jᵀ·ȳ, v⟩).
        var random = new Random(n * 1000 + ch);
        int[] xs = [n, ch, hw, hw], ws = [o, ch, k, k], bs = [o];
        var op = new Conv2dOp(stride, padding);
        int[] ys = op.InferShape([xs, ws, bs]);
        int Count(int[] s) => s.Aggregate(1, (a, b) => a * b);
        float[] x = Oracle.Normal(random, Count(xs)), w = Oracle.Normal(random, Count(ws)), b = Oracle.Normal(random, o);
        float[] xt = Oracle.Normal(random, Count(xs)), wt = Oracle.Normal(random, Count(ws)), bt = Oracle.Normal(random, o);
        float[] dy = Oracle.Normal(random, Count(ys)), rdy = Oracle.Normal(random, Count(ys));
        float[] u = Oracle.Normal(random, Count(xs)), v = Oracle.Normal(random, Count(ws)), beta = Oracle.Normal(random, o);
        float[][] start = [Oracle.Normal(random, Count(xs)), Oracle.Normal(random, Count(ws)), Oracle.Normal(random, o)];

        var backend = new CpuBackend();
        DeviceBuffer Up(float[] data)
        {
            var buffer = backend.Allocate(data.Length);
            backend.Upload(data, buffer);
            return buffer;
        }

        double[] Down(DeviceBuffer buffer)
        {
            var a = new float[buffer.Length];
            backend.Download(buffer, a);
            return Array.ConvertAll(a, e => (double)e);
        }

        var c = new OpContext(backend, 3);
        int[][] shapes = [xs, ws, bs];
        float[][] values = [x, w, b], tangents = [xt, wt, bt];
        for (int i = 0; i < 3; i++)
        {
            c.Inputs[i] = new Tensor(Up(values[i]), shapes[i]);
            c.InputTangents[i] = new Tensor(Up(tangents[i]), shapes[i]);
            c.InputGradients[i] = new Tensor(Up(start[i]), shapes[i]);
            c.InputGradientTangents[i] = new Tensor(Up(start[i]), shapes[i]);
        }

        c.Output = new Tensor(backend.Allocate(Count(ys)), ys);
        c.OutputTangent = new Tensor(backend.Allocate(Count(ys)), ys);
        c.OutputGradient = new Tensor(Up(dy), ys);
        c.OutputGradientTangent = new Tensor(Up(rdy), ys);
        c.Scratch = backend.Allocate(op.ScratchSize(shapes));
        op.Forward(c);
        op.ForwardTangent(c);
        op.Backward(c);
        op.BackwardTangent(c);

        double[] D(float[] a) => Array.ConvertAll(a, e => (double)e);
        double[] Conv(float[] input, float[] weight, float[]? bias) => ConvolutionOracle.Conv2d(D(input), xs, D(weight), ws, bias is null ? null : D(bias), stride, padding);
        double Dot(double[] p, double[] q) => p.Zip(q, (e, f) => e * f).Sum();
        double[] Minus(double[] p, float[] q) => p.Zip(q, (e, f) => e - f).ToArray();

        Assert.True(Oracle.RelativeError(Array.ConvertAll(Down(c.Output.Buffer), e => (float)e), Conv(x, w, b)) < 1e-5, "forward");
        double[] tangent = Conv(xt, w, bt).Zip(Conv(x, wt, null), (e, f) => e + f).ToArray();
        Assert.True(Oracle.RelativeError(Array.ConvertAll(Down(c.OutputTangent.Value.Buffer), e => (float)e), tangent) < 1e-5, "forward tangent");

        // Backward: ⟨x̄, u⟩ + ⟨W̄, V⟩ + ⟨b̄, β⟩ = ⟨ȳ, conv(u, W) + conv(x, V) + β⟩ (accumulated onto the start values).
        double[] dx = Minus(Down(c.InputGradients[0]!.Value.Buffer), start[0]);
        double[] dw = Minus(Down(c.InputGradients[1]!.Value.Buffer), start[1]);
        double[] db = Minus(Down(c.InputGradients[2]!.Value.Buffer), start[2]);
        double[] direction = Conv(u, w, beta).Zip(Conv(x, v, null), (e, f) => e + f).ToArray();
        double lhs = Dot(dx, D(u)) + Dot(dw, D(v)) + Dot(db, D(beta));
        double rhs = Dot(D(dy), direction);
        Assert.True(Math.Abs(lhs - rhs) <= 1e-4 * (Math.Abs(rhs) + Math.Sqrt(direction.Length)), $"backward: {lhs} vs {rhs}");

        // BackwardTangent: ⟨R{x̄}, u⟩ + ⟨R{W̄}, V⟩ + ⟨R{b̄}, β⟩ = ⟨R{ȳ}, conv(u, W) + conv(x, V) + β⟩ + ⟨ȳ, conv(u, Ẇ) + conv(ẋ, V)⟩.
        double[] rdx = Minus(Down(c.InputGradientTangents[0]!.Value.Buffer), start[0]);
        double[] rdw = Minus(Down(c.InputGradientTangents[1]!.Value.Buffer), start[1]);
        double[] rdb = Minus(Down(c.InputGradientTangents[2]!.Value.Buffer), start[2]);
        double[] crossed = Conv(u, wt, null).Zip(Conv(xt, v, null), (e, f) => e + f).ToArray();
        double lhsT = Dot(rdx, D(u)) + Dot(rdw, D(v)) + Dot(rdb, D(beta));
        double rhsT = Dot(D(rdy), direction) + Dot(D(dy), crossed);
        Assert.True(Math.Abs(lhsT - rhsT) <= 1e-4 * (Math.Abs(rhsT) + Math.Sqrt(direction.Length)), $"backward tangent: {lhsT} vs {rhsT}");
    }

    [Fact]
    public void MaxPoolTiesSendTheGradientToTheFirstElementOfTheWindow()
    {
        // One 4×4 plane: the left half all 1 (every 2×2 window there a tie), the right half with a tie between
        // its second and third window elements (row-major) above a smaller first.
        float[] x =
        [
            1, 1, 0, 3,
            1, 1, 3, 2,
            5, 5, 7, 7,
            5, 5, 7, 7,
        ];
        var backend = new CpuBackend();
        var op = new MaxPool2dOp(2, 2, 0);
        int[] shape = [1, 1, 4, 4];
        var c = new OpContext(backend, 1);
        var input = backend.Allocate(16);
        backend.Upload(x, input);
        c.Inputs[0] = new Tensor(input, shape);
        c.Output = new Tensor(backend.Allocate(4), [1, 1, 2, 2]);
        c.Workspace = backend.Allocate(op.WorkspaceSize([shape]));
        var dy = backend.Allocate(4);
        backend.Upload([10f, 20f, 30f, 40f], dy);
        c.OutputGradient = new Tensor(dy, [1, 1, 2, 2]);
        var dx = backend.Allocate(16);
        c.InputGradients[0] = new Tensor(dx, shape);

        op.Forward(c);
        op.Backward(c);

        var y = new float[4];
        backend.Download(c.Output.Buffer, y);
        Assert.Equal([1f, 3f, 5f, 7f], y);
        var g = new float[16];
        backend.Download(dx, g);
        float[] expected =
        [
            10, 0, 0, 20,
            0, 0, 0, 0,
            30, 0, 40, 0,
            0, 0, 0, 0,
        ];
        Assert.Equal(expected, g);
    }

    [Fact]
    public void MaxPoolPaddedTieWindowPicksTheFirstInsideElement()
    {
        // 3×3 stride 2 padding 1 over a constant 3×3 plane: windows start in the padding, which never wins.
        var backend = new CpuBackend();
        var op = new MaxPool2dOp(3, 2, 1);
        int[] shape = [1, 1, 3, 3];
        var c = new OpContext(backend, 1);
        var input = backend.Allocate(9);
        backend.Fill(input, 2f);
        c.Inputs[0] = new Tensor(input, shape);
        c.Output = new Tensor(backend.Allocate(4), [1, 1, 2, 2]);
        c.Workspace = backend.Allocate(op.WorkspaceSize([shape]));
        var dy = backend.Allocate(4);
        backend.Fill(dy, 1f);
        c.OutputGradient = new Tensor(dy, [1, 1, 2, 2]);
        var dx = backend.Allocate(9);
        c.InputGradients[0] = new Tensor(dx, shape);

        op.Forward(c);
        op.Backward(c);

        var g = new float[9];
        backend.Download(dx, g);
        // Windows cover rows/cols [-1, 1] and [1, 3]: first inside elements (0,0), (0,1), (1,0), (1,1).
        Assert.Equal([1f, 1f, 0f, 1f, 1f, 0f, 0f, 0f, 0f], g);
    }

    [Fact]
    public void ShapesAreInferredWithASymbolicBatchAndBadShapesAreRejected()
    {
        Assert.Equal([Value.Batch, 64, 16, 16], new Conv2dOp(2, 3).InferShape([[Value.Batch, 3, 32, 32], [64, 3, 7, 7], [64]]));
        Assert.Equal([Value.Batch, 8, 5, 3], new Conv2dOp(1, 0).InferShape([[Value.Batch, 2, 7, 4], [8, 2, 3, 2]]));
        Assert.Equal([Value.Batch, 64, 8, 8], new MaxPool2dOp(3, 2, 1).InferShape([[Value.Batch, 64, 16, 16]]));
        Assert.Equal([Value.Batch, 512], new GlobalAveragePoolOp().InferShape([[Value.Batch, 512, 4, 4]]));
        Assert.Equal([Value.Batch, 48], new FlattenOp().InferShape([[Value.Batch, 3, 4, 4]]));
        Assert.Equal([Value.Batch, 8], new AddOp().InferShape([[Value.Batch, 8], [Value.Batch, 8]]));

        var channels = Assert.Throws<ArgumentException>(() => new Conv2dOp(1, 1).InferShape([[1, 3, 8, 8], [4, 2, 3, 3]]));
        Assert.Contains("channels", channels.Message);
        Assert.Throws<ArgumentException>(() => new Conv2dOp(1, 1).InferShape([[1, 3, 8, 8], [4, 3, 3, 3], [5]]));
        Assert.Throws<ArgumentException>(() => new Conv2dOp(1, 0).InferShape([[1, 3, 2, 2], [4, 3, 3, 3]]));
        Assert.Throws<ArgumentException>(() => new Conv2dOp(1, 0).InferShape([[1, 3, 8], [4, 3, 3, 3]]));
        Assert.Throws<ArgumentException>(() => new MaxPool2dOp(3, 1, 0).InferShape([[1, 1, 2, 2]]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPool2dOp(3, 1, 2));
        Assert.Throws<ArgumentException>(() => new AddOp().InferShape([[2, 3], [3, 2]]));
        Assert.Throws<ArgumentException>(() => new GlobalAveragePoolOp().InferShape([[2, 3]]));
    }

    [Fact]
    public void OnnxMappingsCarryTheirAttributes()
    {
        var emitter = new RecordingEmitter();
        var conv = new Conv2dOp(2, 3);
        conv.InferShape([[Value.Batch, 3, 32, 32], [64, 3, 7, 5]]);
        conv.ToOnnx(emitter, ["x", "w"]);
        new MaxPool2dOp(3, 2, 1).ToOnnx(emitter, ["a"]);
        string pooled = new GlobalAveragePoolOp().ToOnnx(emitter, ["b"]);
        new FlattenOp().ToOnnx(emitter, ["c"]);
        new AddOp().ToOnnx(emitter, ["d", "e"]);

        Assert.Equal(["Conv", "MaxPool", "GlobalAveragePool", "Flatten", "Flatten", "Add"], emitter.Nodes.Select(n => n.Type));
        var attributes = emitter.Nodes[0].Attributes.ToDictionary(a => a.Name, a => a.Value);
        Assert.Equal(new long[] { 7, 5 }, attributes["kernel_shape"]);
        Assert.Equal(new long[] { 2, 2 }, attributes["strides"]);
        Assert.Equal(new long[] { 3, 3, 3, 3 }, attributes["pads"]);
        var pool = emitter.Nodes[1].Attributes.ToDictionary(a => a.Name, a => a.Value);
        Assert.Equal(new long[] { 3, 3 }, pool["kernel_shape"]);
        Assert.Equal(new long[] { 1, 1, 1, 1 }, pool["pads"]);
        Assert.Equal("Flatten_3", pooled);
        Assert.Equal(["GlobalAveragePool_2"], emitter.Nodes[3].Inputs);
        Assert.Equal(1L, emitter.Nodes[3].Attributes.Single().Value);
    }

    private sealed class RecordingEmitter : IOnnxEmitter
    {
        public List<(string Type, string[] Inputs, (string Name, object Value)[] Attributes)> Nodes { get; } = [];

        public ReadOnlyMemory<float> State => ReadOnlyMemory<float>.Empty;

        public string AddNode(string opType, IReadOnlyList<string> inputs, params (string Name, object Value)[] attributes)
        {
            Nodes.Add((opType, inputs.ToArray(), attributes));
            return $"{opType}_{Nodes.Count - 1}";
        }

        public string AddInitializer(string name, int[] shape, ReadOnlySpan<float> values) => name;

        public string AddInt64Initializer(string name, long[] values) => name;
    }
}
