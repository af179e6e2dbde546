using OnePass.Training.Backends;
using OnePass.Training.Graphs;
using OnePass.Training.Graphs.Ops;
using OnePass.Training.Models;
using OnePass.Training.Tensors;
using static OnePass.Training.Tests.Engine.OpRuleHarness;

namespace OnePass.Training.Tests.Engine;

/// <summary>
/// Carried recurrent state (truncated back-propagation through time): a carried LSTM's rules from a non-zero start
/// state, and the sequence real step → re-forward → HVP → real step through <see cref="GraphExecutor"/>, against a
/// double-precision run over the concatenated steps; <see cref="Model.ResetCarriedState"/>; chunked inference.
/// </summary>
public sealed class CarriedStateTests
{
    private const int Vocabulary = 11, Embed = 5, Hidden = 5, Steps = 4, Sequences = 3, Layers = 2;

    private static ModelSpec Spec => new()
    {
        Architecture = "lstm", Outputs = Vocabulary, EmbeddingSize = Embed, HiddenSize = Hidden, Layers = Layers, Sequences = Sequences,
        Steps = Steps, InputShape = [Sequences],
    };

    [Fact]
    public void CarriedLstmRulesMatchTheOracleFromANonZeroStartState()
    {
        int i = 5, h = Hidden, t = Steps, n = Sequences, nh = n * h;
        var op = new LstmOp(h, carriesState: true);
        int[][] shapes = [[t, n, i], [4 * h, i], [4 * h, h], [4 * h], [4 * h]];
        Assert.Equal(4 * nh, op.StateSize(shapes));
        float[] state = Oracle.Normal(new Random(5), 4 * nh);
        double[] hStart = Array.ConvertAll(state[..nh], v => (double)v), cStart = Array.ConvertAll(state[nh..(2 * nh)], v => (double)v);
        float[]? after = Check("CarriedLstm", op, shapes, [true, true, true, true, true],
            v => RecurrentOracle.Lstm(v[0], t, n, i, h, v[1], v[2], v[3], v[4], hStart, cStart).Output,
            [Gaussian, Gaussian, Gaussian, Gaussian, Gaussian], seed: 4242, state: state);
        if (after is not null)
        {
            Assert.Equal(state, after); // a forward that does not advance the state writes nothing
        }
    }

    [Fact]
    public void CarriedLstmAdvancesOnlyWhenAsked()
    {
        int i = 5, h = Hidden, t = Steps, n = Sequences, nh = n * h;
        var op = new LstmOp(h, carriesState: true);
        int[][] shapes = [[t, n, i], [4 * h, i], [4 * h, h], [4 * h], [4 * h]];
        using var backend = new CpuBackend();
        var random = new Random(9);
        float[][] inputs = shapes.Select(s => Oracle.Normal(random, s.Aggregate(1, (a, b) => a * b))).ToArray();
        float[] state = Oracle.Normal(random, 4 * nh);
        var c = new OpContext(backend, 5);
        for (int k = 0; k < 5; k++)
        {
            var b = backend.Allocate(inputs[k].Length);
            backend.Upload(inputs[k], b);
            c.Inputs[k] = new Tensor(b, shapes[k]);
        }

        c.Output = new Tensor(backend.Allocate(t * nh), [t, n, h]);
        c.Workspace = backend.Allocate(op.WorkspaceSize(shapes));
        c.Scratch = backend.Allocate(op.ScratchSize(shapes));
        c.State = backend.Allocate(4 * nh);
        backend.Upload(state, c.State);
        c.AdvanceCarriedState = true;
        op.Forward(c);
        var after = new float[4 * nh];
        backend.Download(c.State, after);

        // Start ← the previous end, then the run from it: its final states are the new end.
        double[] Slice(float[] a, int at) => Array.ConvertAll(a[at..(at + nh)], v => (double)v);
        double[][] d = inputs.Select(a => Array.ConvertAll(a, v => (double)v)).ToArray();
        var (y, finalCell) = RecurrentOracle.Lstm(d[0], t, n, i, h, d[1], d[2], d[3], d[4], Slice(state, 2 * nh), Slice(state, 3 * nh));
        Assert.Equal(state[(2 * nh)..], after[..(2 * nh)]);
        for (int k = 0; k < nh; k++)
        {
            Assert.Equal(y[((t - 1) * nh) + k], after[(2 * nh) + k], 1e-5);
            Assert.Equal(finalCell[k], after[(3 * nh) + k], 1e-5);
        }
    }

    [Fact]
    public void HypergradientPassesUseTheStartStateOfTheRealStepAndTheNextStepContinuesTheStream()
    {
        var model = ModelBuilder.Build(Spec);
        Assert.True(model.HasCarriedState);
        Assert.Equal(Layers * 4 * Sequences * Hidden, model.StateCount);
        using var backend = new CpuBackend();
        using var executor = new GraphExecutor(model, backend);
        var random = new Random(17);
        float[] weights = model.InitialWeights(3);
        using var w = backend.Allocate(model.ParameterCount);
        backend.Upload(weights, w);
        var (ids1, targets1) = OnePass.Training.Checking.DerivativeCheck.RandomBatch(model, Steps, random);
        var (ids2, targets2) = OnePass.Training.Checking.DerivativeCheck.RandomBatch(model, Steps, random);

        float[] State()
        {
            var s = new float[model.StateCount];
            backend.Download(executor.State!, s);
            return s;
        }

        // Real step 1 (from zeros).
        executor.SetBatch(ids1, targets1, Steps);
        executor.Forward(w, updateState: true);
        float loss1 = executor.ReadLoss();
        float[] afterStep1 = State();

        // Hypergradient passes at batch 1: a re-forward, a gradient and an HVP start from step 1's start state.
        executor.Forward(w);
        Assert.Equal(BitConverter.SingleToInt32Bits(loss1), BitConverter.SingleToInt32Bits(executor.ReadLoss()));
        using var g = backend.Allocate(model.ParameterCount);
        using var v = backend.Allocate(model.ParameterCount);
        using var hv = backend.Allocate(model.ParameterCount);
        backend.Upload(Oracle.Normal(random, model.ParameterCount), v);
        executor.Backward(g);
        executor.HessianVectorProduct(v, hv);
        executor.Forward(w);
        Assert.Equal(BitConverter.SingleToInt32Bits(loss1), BitConverter.SingleToInt32Bits(executor.ReadLoss()));
        Assert.Equal(afterStep1, State());

        // Real step 2 continues from step 1's final states: its logits are the second half of one run over 2T steps.
        executor.SetBatch(ids2, targets2, Steps);
        executor.Forward(w, updateState: true);
        var logits2 = new float[Steps * Sequences * Vocabulary];
        backend.Download(executor.PredictionBuffer, logits2);
        double[] expected = ReferenceLogits(model, weights, [.. ids1, .. ids2], 2 * Steps);
        int half = Steps * Sequences * Vocabulary;
        for (int k = 0; k < half; k++)
        {
            Assert.True(Math.Abs(expected[half + k] - logits2[k]) <= 1e-4 * (1 + Math.Abs(expected[half + k])), $"logit {k}: {logits2[k]} vs {expected[half + k]}");
        }

        // Reset: zeros again, and step 1 repeats bit for bit.
        model.ResetCarriedState(backend, executor.State!);
        Assert.All(State(), s => Assert.Equal(0f, s));
        executor.SetBatch(ids1, targets1, Steps);
        executor.Forward(w, updateState: true);
        Assert.Equal(BitConverter.SingleToInt32Bits(loss1), BitConverter.SingleToInt32Bits(executor.ReadLoss()));
    }

    [Fact]
    public void InferenceCarryingStateOverTwoChunksEqualsOneRunOverBoth()
    {
        var model = ModelBuilder.Build(Spec);
        using var backend = new CpuBackend();
        var random = new Random(23);
        float[] weights = model.InitialWeights(4);
        using var w = backend.Allocate(model.ParameterCount);
        backend.Upload(weights, w);
        var (ids, targets) = OnePass.Training.Checking.DerivativeCheck.RandomBatch(model, 2 * Steps, random);
        int chunk = Steps * Sequences, logitsPerChunk = chunk * Vocabulary;

        using var whole = new InferenceExecutor(model, backend);
        whole.Run(w, ids, targets, 2 * Steps);
        var all = new float[2 * logitsPerChunk];
        backend.Download(whole.PredictionBuffer, all);

        using var stream = new InferenceExecutor(model, backend) { CarryState = true };
        var chunked = new float[2 * logitsPerChunk];
        for (int part = 0; part < 2; part++)
        {
            stream.Run(w, ids.AsSpan(part * chunk, chunk), targets.AsSpan(part * chunk, chunk), Steps);
            backend.Download(stream.PredictionBuffer, chunked.AsSpan(part * logitsPerChunk, logitsPerChunk));
        }

        for (int k = 0; k < all.Length; k++)
        {
            Assert.True(Math.Abs(all[k] - chunked[k]) <= 1e-5 * (1 + Math.Abs(all[k])), $"logit {k}: {chunked[k]} chunked vs {all[k]}");
        }
    }

    // The language model's logits in double precision over `steps` steps from zero states: embedding, the LSTM layers by
    // the oracle, the decoder.
    private static double[] ReferenceLogits(Model model, float[] weights, float[] ids, int steps)
    {
        double[] P(string name)
        {
            var p = model.Parameters.Single(q => q.Name == name);
            return Array.ConvertAll(weights[p.Offset..(p.Offset + p.Length)], v => (double)v);
        }

        double[] x = RecurrentOracle.Embedding(Array.ConvertAll(ids, v => (double)v), P("encoder.weight"), Embed);
        int width = Embed;
        for (int layer = 0; layer < Layers; layer++)
        {
            x = RecurrentOracle.Lstm(x, steps, Sequences, width, Hidden, P($"rnn.weight_ih_l{layer}"), P($"rnn.weight_hh_l{layer}"),
                P($"rnn.bias_ih_l{layer}"), P($"rnn.bias_hh_l{layer}"), new double[Sequences * Hidden], new double[Sequences * Hidden]).Output;
            width = Hidden;
        }

        double[] dw = P("decoder.weight"), db = P("decoder.bias");
        int rows = steps * Sequences;
        var logits = new double[rows * Vocabulary];
        for (int r = 0; r < rows; r++)
        {
            for (int o = 0; o < Vocabulary; o++)
            {
                double s = db[o];
                for (int k = 0; k < Hidden; k++)
                {
                    s += dw[(o * Hidden) + k] * x[(r * Hidden) + k];
                }

                logits[(r * Vocabulary) + o] = s;
            }
        }

        return logits;
    }
}
