using OnePass.Training.Backends;
using OnePass.Training.Graphs;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Engine;

/// <summary>
/// Checks one op's four rules against central differences of a test-local double-precision oracle. For an op
/// y = f(X) and random R, R2, Ẋ: Backward must give ∇ₓ⟨R, f⟩, ForwardTangent the directional derivative of f
/// along Ẋ, and BackwardTangent d/dε ∇ₓ⟨R + εR2, f(X + εẊ)⟩ at ε = 0.
/// </summary>
internal static class OpRuleHarness
{
    public const double Tolerance = 1e-3;

    private sealed record Case(Op Op, int[][] Shapes, bool[] Live, Func<double[][], double[]> Oracle, Func<Random, int, float[]>[] Generators);

    public static Func<Random, int, float[]> Gaussian => (r, n) => Oracle.Normal(r, n);

    public static Func<Random, int, float[]> Labels(int classes) => (r, n) => Enumerable.Range(0, n).Select(_ => (float)r.Next(classes)).ToArray();

    /// <summary>
    /// Runs the op's four rules once in float32 on the CPU backend (in <paramref name="mode"/>, with
    /// <paramref name="state"/> as its state) and checks each against central differences of
    /// <paramref name="oracle"/>, a test-local double-precision forward. Also returns the state after a
    /// Forward with <c>UpdateState</c> when <paramref name="updateState"/> is set.
    /// </summary>
    public static float[]? Check(string name, Op op, int[][] shapes, bool[] live, Func<double[][], double[]> oracle,
        Func<Random, int, float[]>[] generators, int seed, ExecutionMode mode = ExecutionMode.Training, float[]? state = null, bool updateState = false)
    {
        var c = new Case(op, shapes, live, oracle, generators);
        var backend = new CpuBackend();
        var random = new Random(seed);
        int inputs = c.Shapes.Length;
        float[][] x = c.Shapes.Select((s, i) => c.Generators[i](random, s.Aggregate(1, (a, b) => a * b))).ToArray();
        int[] outShape = c.Op.InferShape(c.Shapes);
        int outCount = outShape.Aggregate(1, (a, b) => a * b);
        float[] r = Oracle.Normal(random, outCount);
        float[] r2 = Oracle.Normal(random, outCount);
        float[][] xt = c.Shapes.Select((s, i) => c.Live[i] ? Oracle.Normal(random, s.Aggregate(1, (a, b) => a * b)) : []).ToArray();

        // Engine, float32 on the CPU backend.
        var ctx = new OpContext(backend, inputs);
        DeviceBuffer Up(float[] data)
        {
            var b = backend.Allocate(data.Length);
            backend.Upload(data, b);
            return b;
        }

        IndexBuffer UpIds(float[] data)
        {
            var ids = new int[data.Length];
            Indices.FromFloats(data, ids, $"{name} ids");
            var b = backend.AllocateIndices(ids.Length);
            backend.Upload(ids, b);
            return b;
        }

        float[] Down(DeviceBuffer b)
        {
            var a = new float[b.Length];
            backend.Download(b, a);
            return a;
        }

        for (int i = 0; i < inputs; i++)
        {
            ctx.Inputs[i] = c.Op.IsIndexInput(i) ? new Tensor(UpIds(x[i]), c.Shapes[i]) : new Tensor(Up(x[i]), c.Shapes[i]);
            ctx.InputTangents[i] = c.Live[i] ? new Tensor(Up(xt[i]), c.Shapes[i]) : null;
            ctx.InputGradients[i] = c.Live[i] ? new Tensor(backend.Allocate(x[i].Length), c.Shapes[i]) : null;
            ctx.InputGradientTangents[i] = c.Live[i] ? new Tensor(backend.Allocate(x[i].Length), c.Shapes[i]) : null;
        }

        ctx.Output = new Tensor(backend.Allocate(outCount), outShape);
        ctx.OutputTangent = new Tensor(backend.Allocate(outCount), outShape);
        ctx.OutputGradient = new Tensor(Up(r), outShape);
        ctx.OutputGradientTangent = new Tensor(Up(r2), outShape);
        int ws = c.Op.WorkspaceSize(c.Shapes);
        ctx.Workspace = ws > 0 ? backend.Allocate(ws) : null;
        int scratch = c.Op.ScratchSize(c.Shapes);
        ctx.Scratch = scratch > 0 ? backend.Allocate(scratch) : null;
        ctx.Mode = mode;
        ctx.State = state is null ? null : Up(state);
        ctx.UpdateState = updateState;

        c.Op.Forward(ctx);
        float[]? stateAfter = ctx.State is null ? null : Down(ctx.State);
        ctx.UpdateState = false;
        c.Op.ForwardTangent(ctx);
        c.Op.Backward(ctx);
        c.Op.BackwardTangent(ctx);

        double[][] x64 = x.Select(a => Array.ConvertAll(a, v => (double)v)).ToArray();
        double[] y64 = c.Oracle(x64);
        Assert.True(Oracle.RelativeError(Down(ctx.Output.Buffer), y64) < 1e-5, $"{name}: forward value differs from the oracle");

        // ForwardTangent: (f(X + hẊ) − f(X − hẊ)) / 2h.
        const double h = 1e-5;
        double[] Shift(int i, double a, int element = -1, double b = 0)
        {
            var copy = (double[])x64[i].Clone();
            if (c.Live[i])
            {
                for (int j = 0; j < copy.Length; j++)
                {
                    copy[j] += a * xt[i][j];
                }
            }

            if (element >= 0)
            {
                copy[element] += b;
            }

            return copy;
        }

        double[][] Moved(double a, int input = -1, int element = -1, double b = 0) =>
            Enumerable.Range(0, inputs).Select(i => Shift(i, a, i == input ? element : -1, b)).ToArray();

        double[] yPlus = c.Oracle(Moved(h)), yMinus = c.Oracle(Moved(-h));
        double[] jvp = yPlus.Zip(yMinus, (p, m) => (p - m) / (2 * h)).ToArray();
        double jvpError = Oracle.RelativeError(Down(ctx.OutputTangent.Value.Buffer), jvp);
        Assert.True(jvpError < Tolerance, $"{name}: ForwardTangent relative error {jvpError:E2}");

        double S(double[][] at, double a) => c.Oracle(at).Select((y, k) => (r[k] + (a * r2[k])) * y).Sum();
        const double h2 = 1e-4;
        for (int i = 0; i < inputs; i++)
        {
            if (!c.Live[i])
            {
                continue;
            }

            var grad = new double[x[i].Length];
            var gradTangent = new double[x[i].Length];
            for (int e = 0; e < grad.Length; e++)
            {
                grad[e] = (S(Moved(0, i, e, h), 0) - S(Moved(0, i, e, -h), 0)) / (2 * h);
                gradTangent[e] = (S(Moved(h2, i, e, h2), h2) - S(Moved(h2, i, e, -h2), h2)
                    - S(Moved(-h2, i, e, h2), -h2) + S(Moved(-h2, i, e, -h2), -h2)) / (4 * h2 * h2);
            }

            double gradError = Oracle.RelativeError(Down(ctx.InputGradients[i]!.Value.Buffer), grad);
            double tangentError = Oracle.RelativeError(Down(ctx.InputGradientTangents[i]!.Value.Buffer), gradTangent);
            Assert.True(gradError < Tolerance, $"{name}: Backward relative error {gradError:E2} for input {i}");
            Assert.True(tangentError < Tolerance, $"{name}: BackwardTangent relative error {tangentError:E2} for input {i}");
        }

        return stateAfter;
    }
}
