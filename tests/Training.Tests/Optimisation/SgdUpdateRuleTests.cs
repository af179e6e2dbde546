using OnePass.Training.Backends;
using OnePass.Training.Optimisation;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Optimisation;

/// <summary>
/// The SGD rule's hypergradient pieces (diagonal partials, ∂u/∂λ contractions, reverse-mode step) against central
/// differences of a test-local double-precision update: b_t = μ b + g + ξ w; w_t = w − η b_t; u = w − w_t.
/// </summary>
public sealed class SgdUpdateRuleTests
{
    private const int N = 7;
    private const double Eps = 1e-3;

    private sealed record Point(double[] W, double[] G, double[] B, double[] Eta, double Xi, double Mu);

    private static (double[] W, double[] B) Update(Point p)
    {
        var w = new double[N];
        var b = new double[N];
        for (int k = 0; k < N; k++)
        {
            b[k] = (p.Mu * p.B[k]) + p.G[k] + (p.Xi * p.W[k]);
            w[k] = p.W[k] - (p.Eta[k] * b[k]);
        }

        return (w, b);
    }

    private static double[] U(Point p) => p.W.Zip(Update(p).W, (a, c) => a - c).ToArray();

    private static double[] Shift(double[] x, double[] direction, double by) => x.Select((v, k) => v + (by * direction[k])).ToArray();

    private static double[] Central(Func<double, double[]> f) =>
        f(Eps).Zip(f(-Eps), (plus, minus) => (plus - minus) / (2 * Eps)).ToArray();

    private static void AssertClose(double[] expected, float[] actual, string what)
    {
        for (int k = 0; k < N; k++)
        {
            Assert.True(Math.Abs(actual[k] - expected[k]) <= 1e-4 * (1 + Math.Abs(expected[k])), $"{what}[{k}]: {actual[k]:E6}, central differences {expected[k]:E6}");
        }
    }

    private sealed class Fixture : IDisposable
    {
        public Fixture(bool perWeightLr)
        {
            var random = new Random(perWeightLr ? 11 : 10);
            float[] Draw(double scale) => Enumerable.Range(0, N).Select(_ => (float)(scale * ((2 * random.NextDouble()) - 1))).ToArray();
            float[] w = Draw(1), g = Draw(1), b = Draw(1), v = Draw(1);
            float[] lrPhi = perWeightLr ? Enumerable.Range(0, N).Select(_ => (float)(-2 + random.NextDouble())).ToArray() : [-1.5f];
            const float wdPhi = -1.3f, muPhi = 0.4f;
            Hyper = new HyperparameterSet(Backend, N, lrPhi[0], wdPhi, muPhi, perWeightLr, (-10f, 0f));
            Backend.Upload(lrPhi, Hyper.LearningRate.Phi);
            Hyper.LearningRate.Refresh();
            At = new UpdatePoint(Backend, N, 1);
            using (var wb = Buffer(w))
            using (var gb = Buffer(g))
            using (var bb = Buffer(b))
            {
                At.Capture(Backend, wb, gb, [bb]);
            }

            V = v;
            double[] eta = perWeightLr ? lrPhi.Select(x => Math.Pow(10, x)).ToArray() : Enumerable.Repeat(Math.Pow(10, lrPhi[0]), N).ToArray();
            Exact = new Point(D(w), D(g), D(b), eta, Math.Pow(10, wdPhi), 1 / (1 + Math.Exp(-muPhi)));
        }

        public CpuBackend Backend { get; } = new();

        public HyperparameterSet Hyper { get; }

        public UpdatePoint At { get; }

        public float[] V { get; }

        public Point Exact { get; }

        public DeviceBuffer Buffer(float[] values)
        {
            var buffer = Backend.Allocate(values.Length);
            Backend.Upload(values, buffer);
            return buffer;
        }

        public float[] Read(DeviceBuffer buffer)
        {
            var host = new float[buffer.Length];
            Backend.Download(buffer, host);
            return host;
        }

        public void Dispose()
        {
            At.Dispose();
            Hyper.Dispose();
            Backend.Dispose();
        }

        private static double[] D(float[] x) => x.Select(v => (double)v).ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DiagonalPartialsAndHyperparameterContractionsMatchCentralDifferences(bool perWeightLr)
    {
        using var f = new Fixture(perWeightLr);
        var rule = SgdUpdateRule.Instance;
        var p = f.Exact;
        double[] v = f.V.Select(x => (double)x).ToArray();
        using var vb = f.Buffer(f.V);
        using var result = f.Backend.Allocate(N);

        rule.GradientPartial(f.Backend, f.At, f.Hyper, vb, result);
        AssertClose(Central(e => U(p with { G = Shift(p.G, v, e) })), f.Read(result), "D_g v");
        rule.WeightPartial(f.Backend, f.At, f.Hyper, vb, result);
        AssertClose(Central(e => U(p with { W = Shift(p.W, v, e) })), f.Read(result), "D_w v");

        // Shifting every element of λ at once gives ∂u_k/∂λ for a scalar λ and ∂u_k/∂λ_k for a per-weight one.
        var ones = Enumerable.Repeat(1.0, N).ToArray();
        var cases = new (HyperparameterKind Kind, Func<double, Point> Perturbed)[]
        {
            (HyperparameterKind.LearningRate, e => p with { Eta = Shift(p.Eta, ones, e) }),
            (HyperparameterKind.WeightDecay, e => p with { Xi = p.Xi + e }),
            (HyperparameterKind.Momentum, e => p with { Mu = p.Mu + e }),
        };
        foreach (var (kind, perturbed) in cases)
        {
            rule.HyperparameterPartial(f.Backend, f.At, f.Hyper, kind, vb, result);
            double[] expected = Central(e => U(perturbed(e))).Select((d, k) => d * v[k]).ToArray();
            AssertClose(expected, f.Read(result), $"p ⊙ ∂u/∂{kind}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BackwardIsTheAdjointOfOneUpdate(bool perWeightLr)
    {
        using var f = new Fixture(perWeightLr);
        var p = f.Exact;
        var random = new Random(5);
        double[] wBar = Enumerable.Range(0, N).Select(_ => random.NextDouble() - 0.5).ToArray();
        double[] bBar = Enumerable.Range(0, N).Select(_ => random.NextDouble() - 0.5).ToArray();

        // J = ŵ·w_t + b̂·b_t; its partial derivatives are what Backward must produce.
        double J(Point q)
        {
            var (w, b) = Update(q);
            return Enumerable.Range(0, N).Sum(k => (wBar[k] * w[k]) + (bBar[k] * b[k]));
        }

        double[] PerElement(Func<int, double, Point> shift) =>
            Enumerable.Range(0, N).Select(k => (J(shift(k, Eps)) - J(shift(k, -Eps))) / (2 * Eps)).ToArray();
        double[] Bump(double[] x, int k, double e) => x.Select((v, i) => i == k ? v + e : v).ToArray();

        using var weightAdjoint = f.Buffer(wBar.Select(x => (float)x).ToArray());
        using var stateAdjoint = f.Buffer(bBar.Select(x => (float)x).ToArray());
        using var gradientAdjoint = f.Backend.Allocate(N);
        using var dEta = f.Backend.Allocate(N);
        using var dXi = f.Backend.Allocate(N);
        using var dMu = f.Backend.Allocate(N);
        var hyper = new Dictionary<HyperparameterKind, DeviceBuffer>
        {
            [HyperparameterKind.LearningRate] = dEta, [HyperparameterKind.WeightDecay] = dXi, [HyperparameterKind.Momentum] = dMu,
        };

        // The state adjoint aliases its own output, as diff-through-opt uses it.
        SgdUpdateRule.Instance.Backward(f.Backend, f.At, f.Hyper, weightAdjoint, [stateAdjoint], gradientAdjoint, [stateAdjoint], hyper);

        AssertClose(PerElement((k, e) => p with { G = Bump(p.G, k, e) }), f.Read(gradientAdjoint), "adjoint of g");
        AssertClose(PerElement((k, e) => p with { W = Bump(p.W, k, e) }), f.Read(weightAdjoint), "explicit adjoint of w_{t-1}");
        AssertClose(PerElement((k, e) => p with { B = Bump(p.B, k, e) }), f.Read(stateAdjoint), "adjoint of b_{t-1}");
        double[] etaTerms = PerElement((k, e) => p with { Eta = Bump(p.Eta, k, e) });
        if (perWeightLr)
        {
            AssertClose(etaTerms, f.Read(dEta), "adjoint of per-weight η");
        }
        else
        {
            Assert.Equal(etaTerms.Sum(), f.Read(dEta).Sum(), 4);
        }

        Assert.Equal((J(p with { Xi = p.Xi + Eps }) - J(p with { Xi = p.Xi - Eps })) / (2 * Eps), f.Read(dXi).Sum(), 4);
        Assert.Equal((J(p with { Mu = p.Mu + Eps }) - J(p with { Mu = p.Mu - Eps })) / (2 * Eps), f.Read(dMu).Sum(), 4);
    }
}
