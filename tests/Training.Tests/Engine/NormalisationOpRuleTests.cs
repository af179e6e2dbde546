using OnePass.Training.Backends;
using OnePass.Training.Graphs;
using OnePass.Training.Graphs.Ops;
using OnePass.Training.Tensors;
using static OnePass.Training.Tests.Engine.OpRuleHarness;

namespace OnePass.Training.Tests.Engine;

/// <summary>Batch norm's four rules, state handling, reference forward and ONNX mapping against <see cref="NormalisationOracle"/>.</summary>
public sealed class NormalisationOpRuleTests
{
    private static readonly Func<Random, int, float[]> Scale = (r, n) => Oracle.Normal(r, n).Select(v => 1f + (0.5f * v)).ToArray();

    // Inputs with a non-zero mean and non-unit spread per element, so the statistics matter.
    private static readonly Func<Random, int, float[]> Shifted = (r, n) => Oracle.Normal(r, n, 2).Select(v => v + 0.7f).ToArray();

    private static (int Batch, int Channels, int Spatial) Dims(int[] shape) => (shape[0], shape[1], shape.Skip(2).Aggregate(1, (a, b) => a * b));

    private static int[] Parse(string shape) => shape.Split('x').Select(int.Parse).ToArray();

    private static float[] RandomState(int channels, int seed)
    {
        var r = new Random(seed);
        var state = new float[2 * channels];
        for (int c = 0; c < channels; c++)
        {
            state[c] = (float)(r.NextDouble() - 0.5);
            state[channels + c] = (float)(0.2 + (2 * r.NextDouble()));
        }

        return state;
    }

    public static TheoryData<string, bool, bool> TrainingCases() => new()
    {
        { "3x2x3x5", true, true },
        { "4x3x1x1", true, true },
        { "3x5x1x1", true, true },
        { "2x3x1x1", true, true },
        { "6x3", true, true },
        { "2x3x2x2", true, false },
        { "3x2x2x3", false, true },
    };

    [Theory]
    [MemberData(nameof(TrainingCases))]
    public void TrainingModeRulesMatchFiniteDifferencesOfTheOracle(string shapeText, bool xLive, bool affineLive)
    {
        int[] shape = Parse(shapeText);
        var (n, c, s) = Dims(shape);
        Check($"BatchNorm2d training {shapeText}", new BatchNorm2dOp(), [shape, [c], [c]], [xLive, affineLive, affineLive],
            x => NormalisationOracle.Training(x[0], x[1], x[2], n, c, s), [Shifted, Scale, Gaussian], seed: shape.Sum() * 31,
            ExecutionMode.Training, RandomState(c, 5));
    }

    [Theory]
    [InlineData("3x2x3x5")]
    [InlineData("4x3")]
    [InlineData("2x4x1x1")]
    public void EvaluationModeRulesMatchFiniteDifferencesOfTheOracle(string shapeText)
    {
        int[] shape = Parse(shapeText);
        var (n, c, s) = Dims(shape);
        float[] state = RandomState(c, 11);
        double[] state64 = Array.ConvertAll(state, v => (double)v);
        float[]? after = Check($"BatchNorm2d evaluation {shapeText}", new BatchNorm2dOp(), [shape, [c], [c]], [true, true, true],
            x => NormalisationOracle.Evaluation(x[0], x[1], x[2], state64, n, c, s), [Shifted, Scale, Gaussian], seed: shape.Sum() * 17,
            ExecutionMode.Evaluation, state, updateState: false);
        Assert.Equal(state, after);
    }

    [Theory]
    [InlineData("3x2x3x5", 0.1f)]
    [InlineData("5x3", 0.3f)]
    public void TrainingForwardWithUpdateStateAppliesTheMomentumFormulaWithUnbiasedVariance(string shapeText, float momentum)
    {
        int[] shape = Parse(shapeText);
        var (n, c, s) = Dims(shape);
        float[] state = RandomState(c, 3);
        float[]? after = Check($"BatchNorm2d update {shapeText}", new BatchNorm2dOp(momentum: momentum), [shape, [c], [c]], [true, true, true],
            x => NormalisationOracle.Training(x[0], x[1], x[2], n, c, s), [Shifted, Scale, Gaussian], seed: 99,
            ExecutionMode.Training, state, updateState: true);

        // Regenerate the harness's x (its first draw from the same seed).
        var random = new Random(99);
        double[] x = Array.ConvertAll(Shifted(random, shape.Aggregate(1, (a, b) => a * b)), v => (double)v);
        double[] expected = NormalisationOracle.UpdatedState(Array.ConvertAll(state, v => (double)v), x, n, c, s, momentum);
        Assert.NotNull(after);
        Assert.True(Oracle.RelativeError(after!, expected) < 1e-6, "running statistics differ from the momentum formula");
        Assert.NotEqual(state, after);
    }

    [Theory]
    [InlineData(ExecutionMode.Training)]
    [InlineData(ExecutionMode.Evaluation)]
    public void OnlyAnUpdatingTrainingForwardWritesTheState(ExecutionMode mode)
    {
        var backend = new CpuBackend();
        var op = new BatchNorm2dOp();
        int[] shape = [3, 2, 2, 3];
        int count = 36, channels = 2;
        var random = new Random(7);
        DeviceBuffer Up(float[] data)
        {
            var b = backend.Allocate(data.Length);
            backend.Upload(data, b);
            return b;
        }

        float[] Down(DeviceBuffer b)
        {
            var a = new float[b.Length];
            backend.Download(b, a);
            return a;
        }

        var c = new OpContext(backend, 3);
        int[][] shapes = [shape, [channels], [channels]];
        for (int i = 0; i < 3; i++)
        {
            int len = i == 0 ? count : channels;
            c.Inputs[i] = new Tensor(Up(Shifted(random, len)), shapes[i]);
            c.InputTangents[i] = new Tensor(Up(Oracle.Normal(random, len)), shapes[i]);
            c.InputGradients[i] = new Tensor(backend.Allocate(len), shapes[i]);
            c.InputGradientTangents[i] = new Tensor(backend.Allocate(len), shapes[i]);
        }

        c.Output = new Tensor(backend.Allocate(count), shape);
        c.OutputTangent = new Tensor(backend.Allocate(count), shape);
        c.OutputGradient = new Tensor(Up(Oracle.Normal(random, count)), shape);
        c.OutputGradientTangent = new Tensor(Up(Oracle.Normal(random, count)), shape);
        c.Workspace = backend.Allocate(op.WorkspaceSize(shapes));
        float[] initial = RandomState(channels, 21);
        c.State = Up(initial);
        c.Mode = mode;

        c.UpdateState = false;
        op.Forward(c);
        op.ForwardTangent(c);
        op.Backward(c);
        op.BackwardTangent(c);
        Assert.Equal(initial, Down(c.State));

        // Evaluation never updates, even when asked; a training forward asked to update does.
        c.UpdateState = true;
        op.Forward(c);
        if (mode == ExecutionMode.Evaluation)
        {
            Assert.Equal(initial, Down(c.State));
        }
        else
        {
            Assert.NotEqual(initial, Down(c.State));
        }
    }

    [Theory]
    [InlineData(ExecutionMode.Training)]
    [InlineData(ExecutionMode.Evaluation)]
    public void ChannelParallelKernelsMatchChannelByChannelRunsBitForBit(ExecutionMode mode)
    {
        // 8·16·16·16 elements take the channel-parallel path; one channel at a time (8·1·16·16) the serial one.
        int n = 8, channels = 16, spatial = 256;
        var random = new Random(13);
        float[] x = Shifted(random, n * channels * spatial), xt = Oracle.Normal(random, x.Length);
        float[] dy = Oracle.Normal(random, x.Length), dyt = Oracle.Normal(random, x.Length);
        float[] gamma = Scale(random, channels), beta = Oracle.Normal(random, channels);
        float[] gammaT = Oracle.Normal(random, channels), betaT = Oracle.Normal(random, channels);
        float[] state = RandomState(channels, 4);
        float[][] all = RunAllRules(mode, [n, channels, 16, 16], x, xt, dy, dyt, gamma, beta, gammaT, betaT, state);

        for (int c = 0; c < channels; c++)
        {
            float[] Channel(float[] a) => Enumerable.Range(0, n).SelectMany(b => a.Skip(((b * channels) + c) * spatial).Take(spatial)).ToArray();
            float[][] one = RunAllRules(mode, [n, 1, 16, 16], Channel(x), Channel(xt), Channel(dy), Channel(dyt),
                [gamma[c]], [beta[c]], [gammaT[c]], [betaT[c]], [state[c], state[channels + c]]);
            for (int k = 0; k < one.Length; k++)
            {
                float[] expected = one[k], actual = all[k].Length == x.Length ? Channel(all[k]) : [all[k][c]];
                Assert.True(expected.SequenceEqual(actual), $"result {k} of channel {c} differs between the parallel and serial paths");
            }
        }
    }

    // y, ẏ, dx, dγ, dβ, R{dx}, R{dγ}, R{dβ} after the four rules.
    private static float[][] RunAllRules(ExecutionMode mode, int[] shape, float[] x, float[] xt, float[] dy, float[] dyt,
        float[] gamma, float[] beta, float[] gammaT, float[] betaT, float[] state)
    {
        var backend = new CpuBackend();
        DeviceBuffer Up(float[] data)
        {
            var b = backend.Allocate(data.Length);
            backend.Upload(data, b);
            return b;
        }

        float[] Down(Tensor? t)
        {
            var a = new float[t!.Value.Buffer.Length];
            backend.Download(t.Value.Buffer, a);
            return a;
        }

        var op = new BatchNorm2dOp();
        int channels = shape[1];
        int[][] shapes = [shape, [channels], [channels]];
        float[][] values = [x, gamma, beta], tangents = [xt, gammaT, betaT];
        var c = new OpContext(backend, 3);
        for (int i = 0; i < 3; i++)
        {
            c.Inputs[i] = new Tensor(Up(values[i]), shapes[i]);
            c.InputTangents[i] = new Tensor(Up(tangents[i]), shapes[i]);
            c.InputGradients[i] = new Tensor(backend.Allocate(values[i].Length), shapes[i]);
            c.InputGradientTangents[i] = new Tensor(backend.Allocate(values[i].Length), shapes[i]);
        }

        c.Output = new Tensor(backend.Allocate(x.Length), shape);
        c.OutputTangent = new Tensor(backend.Allocate(x.Length), shape);
        c.OutputGradient = new Tensor(Up(dy), shape);
        c.OutputGradientTangent = new Tensor(Up(dyt), shape);
        c.Workspace = backend.Allocate(op.WorkspaceSize(shapes));
        c.State = Up(state);
        c.Mode = mode;
        op.Forward(c);
        op.ForwardTangent(c);
        op.Backward(c);
        op.BackwardTangent(c);
        return [Down(c.Output), Down(c.OutputTangent), Down(c.InputGradients[0]), Down(c.InputGradients[1]), Down(c.InputGradients[2]),
            Down(c.InputGradientTangents[0]), Down(c.InputGradientTangents[1]), Down(c.InputGradientTangents[2])];
    }

    [Fact]
    public void StateStartsAtZeroMeanAndUnitVariance()
    {
        var op = new BatchNorm2dOp();
        int[][] shapes = [[Value.Batch, 3, 4, 4], [3], [3]];
        Assert.Equal(6, op.StateSize(shapes));
        var state = new float[6];
        state.AsSpan().Fill(float.NaN);
        op.InitialiseState(state);
        Assert.Equal([0f, 0f, 0f, 1f, 1f, 1f], state);
    }

    [Theory]
    [InlineData("3x2x3x5")]
    [InlineData("4x3")]
    public void ReferenceForwardAgreesWithTheOracleInBothModes(string shapeText)
    {
        int[] shape = Parse(shapeText);
        var (n, c, s) = Dims(shape);
        var random = new Random(5);
        double[] x = Array.ConvertAll(Shifted(random, n * c * s), v => (double)v);
        double[] gamma = Array.ConvertAll(Scale(random, c), v => (double)v);
        double[] beta = Array.ConvertAll(Oracle.Normal(random, c), v => (double)v);
        double[] state = Array.ConvertAll(RandomState(c, 8), v => (double)v);
        var op = new BatchNorm2dOp();
        int[][] shapes = [shape, [c], [c]];

        double[] training = op.ReferenceForward([x, gamma, beta], shapes, ExecutionMode.Training, state);
        double[] evaluation = op.ReferenceForward([x, gamma, beta], shapes, ExecutionMode.Evaluation, state);
        double[] expectedTraining = NormalisationOracle.Training(x, gamma, beta, n, c, s);
        double[] expectedEvaluation = NormalisationOracle.Evaluation(x, gamma, beta, state, n, c, s);
        // The op's ε is the float 1e-5f (≈ 1e-5 + 2.5e-13), the oracle's the double 1e-5: agreement to ~1e-12.
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(expectedTraining[i], training[i], 1e-9);
            Assert.Equal(expectedEvaluation[i], evaluation[i], 1e-9);
        }

        Assert.Equal(training, op.ReferenceForward([x, gamma, beta], shapes));
    }

    [Fact]
    public void ExportsAsOnnxBatchNormalizationWithTheRunningStatistics()
    {
        float[] state = [0.5f, -1f, 2f, 3f];
        var emitter = new RecordingEmitter(state);
        string output = new BatchNorm2dOp(1e-3f, 0.2f).ToOnnx(emitter, ["x", "gamma", "beta"]);
        Assert.Equal("BatchNormalization:0", output);
        var (type, inputs, attributes) = Assert.Single(emitter.Nodes);
        Assert.Equal("BatchNormalization", type);
        Assert.Equal(["x", "gamma", "beta", "running_mean", "running_var"], inputs);
        Assert.Equal(1e-3f, (float)attributes.Single(a => a.Name == "epsilon").Value);
        Assert.Equal([0.5f, -1f], emitter.Initializers["running_mean"].Values);
        Assert.Equal([2f, 3f], emitter.Initializers["running_var"].Values);
        Assert.Equal([2], emitter.Initializers["running_var"].Shape);
    }

    [Fact]
    public void RejectsMismatchedChannelsAndSingleValueTrainingBatches()
    {
        var op = new BatchNorm2dOp();
        Assert.Throws<ArgumentException>(() => op.InferShape([[2, 3, 4, 4], [2], [3]]));
        Assert.Throws<ArgumentException>(() => op.InferShape([[2], [2], [2]]));

        var backend = new CpuBackend();
        var c = new OpContext(backend, 3);
        c.Inputs[0] = new Tensor(backend.Allocate(3), [1, 3, 1, 1]);
        c.Inputs[1] = new Tensor(backend.Allocate(3), [3]);
        c.Inputs[2] = new Tensor(backend.Allocate(3), [3]);
        c.Output = new Tensor(backend.Allocate(3), [1, 3, 1, 1]);
        c.Workspace = backend.Allocate(6);
        c.Mode = ExecutionMode.Training;
        var e = Assert.Throws<ArgumentException>(() => op.Forward(c));
        Assert.Contains("more than one value per channel", e.Message);
    }

    private sealed class RecordingEmitter(float[] state) : IOnnxEmitter
    {
        public List<(string Type, IReadOnlyList<string> Inputs, (string Name, object Value)[] Attributes)> Nodes { get; } = [];

        public Dictionary<string, (int[] Shape, float[] Values)> Initializers { get; } = [];

        public ReadOnlyMemory<float> State => state;

        public string AddNode(string opType, IReadOnlyList<string> inputs, params (string Name, object Value)[] attributes)
        {
            Nodes.Add((opType, inputs.ToArray(), attributes));
            return $"{opType}:{Nodes.Count - 1}";
        }

        public string AddInitializer(string name, int[] shape, ReadOnlySpan<float> values)
        {
            Initializers[name] = (shape, values.ToArray());
            return name;
        }

        public string AddInt64Initializer(string name, long[] values) => name;
    }
}
