using OnePass.Training.Backends;
using OnePass.Training.Checking;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Graphs;
using OnePass.Training.Models;
using OnePass.Training.Optimisation;
using OnePass.Training.Tensors;
using OnePass.Training.Training;
using OnePass.Training.Tests.Engine;

namespace OnePass.Training.Tests.Optimisation;

/// <summary>
/// SGD with the gradient clipped to a global norm m (PyTorch's clip_grad_norm_, then weight decay and momentum):
/// ḡ = c·g with c = m/(‖g‖ + 10⁻⁶) when below 1. Every piece of the rule against central differences of a test-local
/// double-precision update, with the clip active and inactive; the Neumann, diff-through-opt and Baydin hypergradients
/// with the clipped rule against central-difference oracles; the configuration key.
/// </summary>
public sealed class ClippedUpdateRuleTests
{
    private const int N = 7;
    private const double Eps = 1e-4;

    private sealed record Point(double[] W, double[] G, double[] B, double[] Eta, double Xi, double Mu, double Max);

    // The test-local clip: PyTorch's factor, applied when it is below 1.
    private static double[] Clip(double[] g, double max)
    {
        double norm = Math.Sqrt(g.Sum(x => x * x));
        double c = max / (norm + 1e-6);
        return c < 1 ? g.Select(x => c * x).ToArray() : (double[])g.Clone();
    }

    private static (double[] W, double[] B) Update(Point p)
    {
        var gBar = Clip(p.G, p.Max);
        var w = new double[N];
        var b = new double[N];
        for (int k = 0; k < N; k++)
        {
            b[k] = (p.Mu * p.B[k]) + gBar[k] + (p.Xi * p.W[k]);
            w[k] = p.W[k] - (p.Eta[k] * b[k]);
        }

        return (w, b);
    }

    private static double[] U(Point p) => p.W.Zip(Update(p).W, (a, c) => a - c).ToArray();

    private static double[] Bump(double[] x, int k, double e) => x.Select((v, i) => i == k ? v + e : v).ToArray();

    // ∂f/∂x_k for every k by central differences.
    private static double[] PerElement(Func<int, double, double> f) =>
        Enumerable.Range(0, N).Select(k => (f(k, Eps) - f(k, -Eps)) / (2 * Eps)).ToArray();

    private static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();

    private static double Tolerance(double expected) => 1e-5 * (1 + Math.Abs(expected));

    private static void AssertClose(double[] expected, float[] actual, string what)
    {
        for (int k = 0; k < N; k++)
        {
            Assert.True(Math.Abs(actual[k] - expected[k]) <= Tolerance(expected[k]), $"{what}[{k}]: {actual[k]:E6}, central differences {expected[k]:E6}");
        }
    }

    private sealed class Fixture : IDisposable
    {
        public Fixture(bool active, bool perWeightLr)
        {
            var random = new Random((active ? 20 : 30) + (perWeightLr ? 1 : 0));
            float[] Draw() => Enumerable.Range(0, N).Select(_ => (float)((2 * random.NextDouble()) - 1)).ToArray();
            float[] w = Draw(), g = Draw(), b = Draw(), v = Draw();
            double norm = Math.Sqrt(g.Sum(x => (double)x * x));
            MaxNorm = active ? 0.4 * norm : 1.5 * norm;
            Rule = new SgdUpdateRule(MaxNorm);
            float[] lrPhi = perWeightLr ? Enumerable.Range(0, N).Select(_ => (float)(-1 + (0.8 * random.NextDouble()))).ToArray() : [-0.5f];
            const float wdPhi = -1.1f, muPhi = 0.4f;
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
            Exact = new Point(D(w), D(g), D(b), eta, Math.Pow(10, wdPhi), 1 / (1 + Math.Exp(-muPhi)), MaxNorm);
        }

        public CpuBackend Backend { get; } = new();

        public SgdUpdateRule Rule { get; }

        public double MaxNorm { get; }

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
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public void StepAndEffectiveGradientMatchTheDoubleUpdate(bool active, bool perWeightLr)
    {
        using var f = new Fixture(active, perWeightLr);
        var p = f.Exact;
        using var weights = f.Buffer(p.W.Select(x => (float)x).ToArray());
        using var gradient = f.Buffer(p.G.Select(x => (float)x).ToArray());
        using var velocity = f.Buffer(p.B.Select(x => (float)x).ToArray());
        using var effective = f.Backend.Allocate(N);

        f.Rule.EffectiveGradient(f.Backend, gradient, effective);
        f.Rule.Step(f.Backend, weights, gradient, [velocity], f.Hyper);

        var (w, b) = Update(p);
        AssertClose(w, f.Read(weights), "w_t");
        AssertClose(b, f.Read(velocity), "b_t");
        AssertClose(Clip(p.G, p.Max), f.Read(effective), "clipped g");
        AssertClose(p.G, f.Read(gradient), "g after the step (unchanged)");
        double norm = Math.Sqrt(p.G.Sum(x => x * x));
        Assert.Equal(active, Math.Sqrt(f.Read(effective).Sum(x => (double)x * x)) < norm - 1e-3);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public void PartialsAndHyperparameterContractionsMatchCentralDifferences(bool active, bool perWeightLr)
    {
        using var f = new Fixture(active, perWeightLr);
        var rule = f.Rule;
        var p = f.Exact;
        double[] v = f.V.Select(x => (double)x).ToArray();
        using var vb = f.Buffer(f.V);
        using var result = f.Backend.Allocate(N);

        // Transposed partials: entry k of (∂u/∂g)ᵀv is ∂(v·u)/∂g_k.
        double[] expectedDg = PerElement((k, e) => Dot(v, U(p with { G = Bump(p.G, k, e) })));
        rule.GradientPartial(f.Backend, f.At, f.Hyper, vb, result);
        AssertClose(expectedDg, f.Read(result), "(∂u/∂g)ᵀ v");
        rule.WeightPartial(f.Backend, f.At, f.Hyper, vb, result);
        AssertClose(PerElement((k, e) => Dot(v, U(p with { W = Bump(p.W, k, e) }))), f.Read(result), "(∂u/∂w)ᵀ v");

        // With the clip active the rank-one term is far above the tolerance: a diagonal-only c·η⊙v would fail above.
        double norm = Math.Sqrt(p.G.Sum(x => x * x));
        double c = Math.Min(1, p.Max / (norm + 1e-6));
        double worstDiagonalError = Enumerable.Range(0, N).Max(k => Math.Abs((c * p.Eta[k] * v[k]) - expectedDg[k]) / Tolerance(expectedDg[k]));
        Assert.True(active ? worstDiagonalError > 100 : worstDiagonalError < 1, $"diagonal-only error {worstDiagonalError:F1} tolerances");

        // Shifting every element of λ at once gives ∂u_k/∂λ for a scalar λ and ∂u_k/∂λ_k for a per-weight one.
        double[] Directional(Func<double, Point> perturbed) =>
            U(perturbed(Eps)).Zip(U(perturbed(-Eps)), (plus, minus) => (plus - minus) / (2 * Eps)).ToArray();
        var cases = new (HyperparameterKind Kind, Func<double, Point> Perturbed)[]
        {
            (HyperparameterKind.LearningRate, e => p with { Eta = p.Eta.Select(x => x + e).ToArray() }),
            (HyperparameterKind.WeightDecay, e => p with { Xi = p.Xi + e }),
            (HyperparameterKind.Momentum, e => p with { Mu = p.Mu + e }),
        };
        foreach (var (kind, perturbed) in cases)
        {
            rule.HyperparameterPartial(f.Backend, f.At, f.Hyper, kind, vb, result);
            double[] expected = Directional(perturbed).Select((d, k) => d * v[k]).ToArray();
            AssertClose(expected, f.Read(result), $"p ⊙ ∂u/∂{kind}");
        }
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public void BackwardIsTheAdjointOfOneClippedUpdate(bool active, bool perWeightLr)
    {
        using var f = new Fixture(active, perWeightLr);
        var p = f.Exact;
        var random = new Random(6);
        double[] wBar = Enumerable.Range(0, N).Select(_ => random.NextDouble() - 0.5).ToArray();
        double[] bBar = Enumerable.Range(0, N).Select(_ => random.NextDouble() - 0.5).ToArray();

        // J = ŵ·w_t + b̂·b_t; its partial derivatives are what Backward must produce.
        double J(Point q)
        {
            var (w, b) = Update(q);
            return Dot(wBar, w) + Dot(bBar, b);
        }

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
        f.Rule.Backward(f.Backend, f.At, f.Hyper, weightAdjoint, [stateAdjoint], gradientAdjoint, [stateAdjoint], hyper);

        AssertClose(PerElement((k, e) => J(p with { G = Bump(p.G, k, e) })), f.Read(gradientAdjoint), "adjoint of g");
        AssertClose(PerElement((k, e) => J(p with { W = Bump(p.W, k, e) })), f.Read(weightAdjoint), "explicit adjoint of w_{t-1}");
        AssertClose(PerElement((k, e) => J(p with { B = Bump(p.B, k, e) })), f.Read(stateAdjoint), "adjoint of b_{t-1}");
        double[] etaTerms = PerElement((k, e) => J(p with { Eta = Bump(p.Eta, k, e) }));
        if (perWeightLr)
        {
            AssertClose(etaTerms, f.Read(dEta), "adjoint of per-weight η");
        }
        else
        {
            Assert.Equal(etaTerms.Sum(), f.Read(dEta).Sum(), 5);
        }

        Assert.Equal((J(p with { Xi = p.Xi + Eps }) - J(p with { Xi = p.Xi - Eps })) / (2 * Eps), f.Read(dXi).Sum(), 5);
        Assert.Equal((J(p with { Mu = p.Mu + Eps }) - J(p with { Mu = p.Mu - Eps })) / (2 * Eps), f.Read(dMu).Sum(), 5);
    }

    /// <summary>
    /// The Neumann hypergradient with the clipped rule, clip active: −pᵀ∂u/∂φ with p = Σ_{j&lt;i}(I − Jᵀ)^j v₀ and
    /// J = ∂u/∂w = diag(η)(C H + ξI), built in double precision from a central-difference clip Jacobian C and a
    /// second-difference Hessian H of the reference loss. Then −pᵀ∂u/∂φ = −v₀ᵀa with a = Σ(I − J)^j ∂u/∂φ, the
    /// derivative of L_val(w_t − t·a) at t = 0 (a central difference). Depth 1 is exactly d L_val(w_t(φ))/dφ with g held fixed.
    /// </summary>
    [Theory]
    [InlineData(1, false)]
    [InlineData(3, false)]
    [InlineData(3, true)]
    public void NeumannHypergradientWithClippingMatchesCentralDifferences(int depth, bool perWeightLr)
    {
        var model = Mlp.Build([3, 5, 2], Activation.Tanh, LossKind.MeanSquaredError);
        int n = model.ParameterCount, rows = 6;
        var random = new Random(17);
        var (trainX, trainY) = DerivativeCheck.RandomBatch(model, rows, random);
        var (valX, valY) = DerivativeCheck.RandomBatch(model, rows, random);
        var trainSplit = new DataSplit(trainX, trainY, rows, 3, 2);
        var valSplit = new DataSplit(valX, valY, rows, 3, 2);
        var data = new DataSet("synthetic", TaskKind.Regression, 3, 2, trainSplit, valSplit, valSplit, new Normalisation(new float[3], [1, 1, 1]));
        using var backend = new CpuBackend();
        float[] w0 = model.InitialWeights(5).Select(x => x * 2).ToArray();
        float[] b0 = Oracle.Normal(random, n, 0.3);
        const float lrPhi = -0.4f, wdPhi = -1.5f, momPhi = 0.4f;

        using var trainExec = new GraphExecutor(model, backend);
        using var valExec = new GraphExecutor(model, backend);
        using var weights = backend.Allocate(n);
        using var velocity = backend.Allocate(n);
        using var gradient = backend.Allocate(n);
        using var hypers = new HyperparameterSet(backend, n, lrPhi, wdPhi, momPhi, perWeightLr, (-10f, 0f));
        // Distinct per-weight learning rates, so that (∂u/∂g)ᵀ = C·diag(η) differs from ∂u/∂g = diag(η)·C.
        double[] lr = perWeightLr ? Enumerable.Range(0, n).Select(_ => (double)(float)(lrPhi - (0.6 * random.NextDouble()))).ToArray() : [lrPhi];
        if (perWeightLr)
        {
            backend.Upload(Array.ConvertAll(lr, x => (float)x), hypers.LearningRate.Phi);
            hypers.LearningRate.Refresh();
        }

        backend.Upload(w0, weights);
        backend.Upload(b0, velocity);
        var batch = new BatchSampler(trainSplit, rows, 1).Next();
        trainExec.SetBatch(batch.Inputs, batch.Targets, batch.Count);
        trainExec.Gradient(weights, gradient);
        var g = new float[n];
        backend.Download(gradient, g);
        double[] gd = Array.ConvertAll(g, x => (double)x);
        double maxNorm = 0.3 * Math.Sqrt(gd.Sum(x => x * x));
        var rule = new SgdUpdateRule(maxNorm);
        var state = new TrainingState
        {
            Backend = backend, Model = model, TrainingExecutor = trainExec, ValidationExecutor = valExec, Weights = weights, UpdateRule = rule,
            RuleState = [velocity], Gradient = gradient, Hyperparameters = hypers, Data = data, TrainingSplit = trainSplit,
            ValidationSampler = new BatchSampler(valSplit, rows, 2), LastBatch = batch,
        };
        using var optimiser = new NeumannHyperOptimiser("ours-wd-lr-m", 1, depth, 0.05, [HyperparameterKind.LearningRate, HyperparameterKind.WeightDecay, HyperparameterKind.Momentum]);
        optimiser.BeforeUpdate(state);
        rule.Step(backend, weights, gradient, [velocity], hypers);
        optimiser.Step(state);

        // u(φ) with g held fixed, in double precision.
        double[] gBar = Clip(gd, maxNorm);
        double[] Update(double[] lrPhis, double wd, double mom)
        {
            double xi = Math.Pow(10, wd), mu = 1 / (1 + Math.Exp(-mom));
            return Enumerable.Range(0, n).Select(k => Math.Pow(10, lrPhis.Length == 1 ? lrPhis[0] : lrPhis[k]) * ((mu * b0[k]) + gBar[k] + (xi * w0[k]))).ToArray();
        }

        double[] wt = Update(lr, wdPhi, momPhi).Select((u, k) => w0[k] - u).ToArray();
        double[] eta = Enumerable.Range(0, n).Select(k => Math.Pow(10, lr[perWeightLr ? k : 0])).ToArray();
        double xiValue = Math.Pow(10, wdPhi);

        // C by central differences of the clip, H by second differences of the training loss at w_{t−1}.
        var trainRef = new ReferenceEvaluator(model, Array.ConvertAll(trainX, x => (double)x), Array.ConvertAll(trainY, x => (double)x), rows);
        var valRef = new ReferenceEvaluator(model, Array.ConvertAll(valX, x => (double)x), Array.ConvertAll(valY, x => (double)x), rows);
        var clipJacobian = new double[n, n];
        for (int j = 0; j < n; j++)
        {
            double[] plus = Clip(Bump(gd, j, 1e-5), maxNorm), minus = Clip(Bump(gd, j, -1e-5), maxNorm);
            for (int i = 0; i < n; i++)
            {
                clipJacobian[i, j] = (plus[i] - minus[i]) / 2e-5;
            }
        }

        var hessian = new double[n, n];
        double[] w0d = Array.ConvertAll(w0, x => (double)x);
        const double hh = 1e-4;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double L(double si, double sj) => trainRef.Loss(Bump(Bump(w0d, i, si), j, sj));
                hessian[i, j] = hessian[j, i] = (L(hh, hh) - L(hh, -hh) - L(-hh, hh) + L(-hh, -hh)) / (4 * hh * hh);
            }
        }

        double[] JTimes(double[] x, bool exactClip)
        {
            // J x = diag(η)(C H x + ξ x); with exactClip false, C is replaced by its diagonal part c·I (the mutation).
            double[] hx = MatVec(hessian, x);
            double c = maxNorm / (Math.Sqrt(gd.Sum(y => y * y)) + 1e-6);
            double[] chx = exactClip ? MatVec(clipJacobian, hx) : hx.Select(y => c * y).ToArray();
            return Enumerable.Range(0, n).Select(k => eta[k] * (chx[k] + (xiValue * x[k]))).ToArray();
        }

        double Hypergradient(double[] du, bool exactClip)
        {
            double[] term = du, a = (double[])du.Clone();
            for (int j = 1; j < depth; j++)
            {
                double[] jt = JTimes(term, exactClip);
                term = term.Select((t, k) => t - jt[k]).ToArray();
                a = a.Select((s, k) => s + term[k]).ToArray();
            }

            const double t = 1e-4;
            return (valRef.Loss(wt.Select((w, k) => w - (t * a[k])).ToArray()) - valRef.Loss(wt.Select((w, k) => w + (t * a[k])).ToArray())) / (2 * t);
        }

        const double h = 1e-4;
        double[] Du(Func<double, double[]> u) => u(h).Zip(u(-h), (plus, minus) => (plus - minus) / (2 * h)).ToArray();
        var checks = new List<(float Actual, double[] Du, string What)>
        {
            (optimiser.LastHypergradient(HyperparameterKind.WeightDecay)[0], Du(d => Update(lr, wdPhi + d, momPhi)), "weight decay"),
            (optimiser.LastHypergradient(HyperparameterKind.Momentum)[0], Du(d => Update(lr, wdPhi, momPhi + d)), "momentum"),
        };
        if (!perWeightLr)
        {
            checks.Add((optimiser.LastHypergradient(HyperparameterKind.LearningRate)[0], Du(d => Update([lrPhi + d], wdPhi, momPhi)), "learning rate"));
        }
        else
        {
            foreach (int k in new[] { 0, 7, 13, n - 1 })
            {
                checks.Add((optimiser.LastHypergradient(HyperparameterKind.LearningRate)[k], Du(d => Update(Bump(lr, k, d), wdPhi, momPhi)), $"learning rate of weight {k}"));
            }
        }

        foreach (var (actual, du, what) in checks)
        {
            double expected = Hypergradient(du, exactClip: true);
            Assert.True(Math.Abs(actual - expected) <= 1e-3 * Math.Abs(expected) + 1e-7, $"{what}: hypergradient {actual:E5}, central differences {expected:E5}");
        }

        if (depth > 1)
        {
            // The rank-one term matters here: without it the oracle moves far outside the tolerance.
            var (_, du, _) = checks[0];
            double exact = Hypergradient(du, exactClip: true), diagonal = Hypergradient(du, exactClip: false);
            Assert.True(Math.Abs(exact - diagonal) > 20 * ((1e-3 * Math.Abs(exact)) + 1e-7), $"rank-one term too small to test: {exact:E5} against {diagonal:E5}");
        }
    }

    [Fact]
    public void DiffThroughOptWithClippingMatchesCentralDifferencesThroughKUpdates()
    {
        const int k = 3;
        var model = Mlp.Build([3, 4, 2], Activation.Tanh, LossKind.MeanSquaredError);
        int n = model.ParameterCount, rows = 6;
        var random = new Random(21);
        var (tx, ty) = DerivativeCheck.RandomBatch(model, rows, random);
        var (vx, vy) = DerivativeCheck.RandomBatch(model, rows, random);
        var train = new DataSplit(tx, ty, rows, 3, 2);
        var val = new DataSplit(vx, vy, rows, 3, 2);
        var data = new DataSet("synthetic", TaskKind.Regression, 3, 2, train, val, val, new Normalisation(new float[3], [1, 1, 1]));
        float[] w0 = model.InitialWeights(8).Select(v => v * 2).ToArray();
        float[] b0 = Oracle.Normal(random, n, 0.2);
        const float lrPhi = -0.6f, wdPhi = -1.3f, momPhi = 0.2f;

        using var backend = new CpuBackend();
        using var trainExec = new GraphExecutor(model, backend);
        using var valExec = new GraphExecutor(model, backend);
        using var weights = backend.Allocate(n);
        using var velocity = backend.Allocate(n);
        using var gradient = backend.Allocate(n);
        using var hypers = new HyperparameterSet(backend, n, lrPhi, wdPhi, momPhi, false, (-10f, 0f));
        backend.Upload(w0, weights);
        backend.Upload(b0, velocity);
        var batch = Batch.FromSplit(train, 0, rows);
        trainExec.SetBatch(batch.Inputs, batch.Targets, rows);
        trainExec.Gradient(weights, gradient);
        double maxNorm = 0.3 * Math.Sqrt(backend.Dot(gradient, gradient));
        var rule = new SgdUpdateRule(maxNorm);
        var state = new TrainingState
        {
            Backend = backend, Model = model, TrainingExecutor = trainExec, ValidationExecutor = valExec, Weights = weights, UpdateRule = rule,
            RuleState = [velocity], Gradient = gradient, Hyperparameters = hypers, Data = data, TrainingSplit = train,
            ValidationSampler = new BatchSampler(val, rows, 1),
        };
        using var optimiser = new DiffThroughOptHyperOptimiser(k, k, 0.05);
        for (int s = 0; s < k; s++)
        {
            trainExec.SetBatch(batch.Inputs, batch.Targets, rows);
            trainExec.Gradient(weights, gradient);
            state.LastBatch = batch;
            optimiser.BeforeUpdate(state);
            rule.Step(backend, weights, gradient, [velocity], hypers);
            state.WeightStep = s + 1;
        }

        optimiser.Step(state);

        var trainRef = new ReferenceEvaluator(model, Array.ConvertAll(tx, v => (double)v), Array.ConvertAll(ty, v => (double)v), rows);
        var valRef = new ReferenceEvaluator(model, Array.ConvertAll(vx, v => (double)v), Array.ConvertAll(vy, v => (double)v), rows);
        var clipFactors = new List<double>();
        double ValAfterUnroll(double lr, double wd, double mom, bool clip = true)
        {
            double eta = Math.Pow(10, lr), xi = Math.Pow(10, wd), mu = 1 / (1 + Math.Exp(-mom));
            double[] w = Array.ConvertAll(w0, v => (double)v), bv = Array.ConvertAll(b0, v => (double)v);
            for (int s = 0; s < k; s++)
            {
                var g = new double[n];
                for (int i = 0; i < n; i++)
                {
                    double keep = w[i];
                    w[i] = keep + 1e-6;
                    double plus = trainRef.Loss(w);
                    w[i] = keep - 1e-6;
                    g[i] = (plus - trainRef.Loss(w)) / 2e-6;
                    w[i] = keep;
                }

                double c = maxNorm / (Math.Sqrt(g.Sum(x => x * x)) + 1e-6);
                clipFactors.Add(c);
                double[] gBar = clip ? Clip(g, maxNorm) : g;
                for (int i = 0; i < n; i++)
                {
                    bv[i] = (mu * bv[i]) + gBar[i] + (xi * w[i]);
                    w[i] -= eta * bv[i];
                }
            }

            return valRef.Loss(w);
        }

        const double h = 1e-4;
        var expected = new Dictionary<HyperparameterKind, double>
        {
            [HyperparameterKind.LearningRate] = (ValAfterUnroll(lrPhi + h, wdPhi, momPhi) - ValAfterUnroll(lrPhi - h, wdPhi, momPhi)) / (2 * h),
            [HyperparameterKind.WeightDecay] = (ValAfterUnroll(lrPhi, wdPhi + h, momPhi) - ValAfterUnroll(lrPhi, wdPhi - h, momPhi)) / (2 * h),
            [HyperparameterKind.Momentum] = (ValAfterUnroll(lrPhi, wdPhi, momPhi + h) - ValAfterUnroll(lrPhi, wdPhi, momPhi - h)) / (2 * h),
        };
        Assert.True(clipFactors.All(c => c < 0.9), $"the clip must be active at every unrolled step: factors {string.Join(", ", clipFactors.Select(c => c.ToString("F3")))}");
        foreach (var (kind, fd) in expected)
        {
            double actual = optimiser.LastHypergradient[kind];
            Assert.True(Math.Abs(actual - fd) <= 2e-3 * Math.Abs(fd) + 1e-7, $"{kind}: diff-through-opt {actual:E5}, central differences {fd:E5}");
        }
    }

    /// <summary>Baydin with clipping: the one-step derivative d L(w₀ − 10^φ ḡ₀)/dφ with ḡ₀ the clipped gradient.</summary>
    [Fact]
    public void BaydinWithClippingIsTheOneStepDerivativeOfTheClippedStep()
    {
        var model = Mlp.Build([4, 6, 3], Activation.Tanh, LossKind.CrossEntropy);
        int n = model.ParameterCount, rows = 8;
        var random = new Random(9);
        var (x, y) = DerivativeCheck.RandomBatch(model, rows, random);
        var split = new DataSplit(x, y, rows, 4, 1);
        var data = new DataSet("synthetic", TaskKind.Classification, 4, 3, split, split, split, new Normalisation(new float[4], [1, 1, 1, 1]));
        using var backend = new CpuBackend();
        using var exec = new GraphExecutor(model, backend);
        using var weights = backend.Allocate(n);
        using var velocity = backend.Allocate(n);
        using var gradient = backend.Allocate(n);
        const float lrPhi = -0.3f;
        using var hypers = new HyperparameterSet(backend, n, lrPhi, -40f, -40f, false, (-10f, 0f));
        float[] w0 = model.InitialWeights(2).Select(v => v * 2).ToArray();
        backend.Upload(w0, weights);
        exec.SetBatch(x, y, rows);
        exec.Gradient(weights, gradient);
        var g0 = new float[n];
        backend.Download(gradient, g0);
        double norm = Math.Sqrt(g0.Sum(v => (double)v * v));
        var rule = new SgdUpdateRule(0.25 * norm);
        var state = new TrainingState
        {
            Backend = backend, Model = model, TrainingExecutor = exec, ValidationExecutor = exec, Weights = weights, UpdateRule = rule, RuleState = [velocity],
            Gradient = gradient, Hyperparameters = hypers, Data = data, TrainingSplit = split,
        };
        using var optimiser = new BaydinHyperOptimiser();
        optimiser.BeforeUpdate(state);
        rule.Step(backend, weights, gradient, [velocity], hypers);
        exec.Gradient(weights, gradient);
        optimiser.BeforeUpdate(state);

        var reference = new ReferenceEvaluator(model, Array.ConvertAll(x, v => (double)v), Array.ConvertAll(y, v => (double)v), rows);
        double[] gBar = Clip(Array.ConvertAll(g0, v => (double)v), 0.25 * norm);
        double Loss(double phi) => reference.Loss(w0.Select((w, k) => w - (Math.Pow(10, phi) * gBar[k])).ToArray());
        const double h = 1e-5;
        double expected = (Loss(lrPhi + h) - Loss(lrPhi - h)) / (2 * h);
        Assert.True(Math.Abs(optimiser.LastHypergradient - expected) <= 1e-3 * Math.Abs(expected),
            $"baydin hypergradient {optimiser.LastHypergradient:E4}, central differences {expected:E4}");
    }

    [Fact]
    public void ConfigurationKeySelectsTheClippedRule()
    {
        string dir = Path.Combine(Path.GetTempPath(), "onepass-clip-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string plain = Path.Combine(dir, "plain.yaml"), clipped = Path.Combine(dir, "clipped.yaml"), bad = Path.Combine(dir, "bad.yaml");
            File.WriteAllText(plain, "dataset: uci-energy\nlr: -1.5\n");
            File.WriteAllText(clipped, "dataset: uci-energy\nlr: -1.5\nnetwork_weight_grad_clipping:\n  norm: 0.25\n");
            File.WriteAllText(bad, "dataset: uci-energy\nnetwork_weight_grad_clipping:\n  norm: -1\n");

            var none = TrainingConfig.Load(plain);
            Assert.Equal(0, none.GradientClipNorm);
            Assert.Same(SgdUpdateRule.Instance, Trainer.UpdateRuleFor(none));
            Assert.DoesNotContain("clipping", none.ToYaml(), StringComparison.Ordinal);

            // An explicit 0 is no clipping and hashes like the absent key.
            Assert.Equal(none.Sha256(), TrainingConfig.Load(plain, ["network_weight_grad_clipping.norm=0"]).Sha256());

            var set = TrainingConfig.Load(clipped);
            Assert.Equal(0.25, set.GradientClipNorm);
            Assert.NotEqual(none.Sha256(), set.Sha256());
            var rule = Assert.IsType<SgdUpdateRule>(Trainer.UpdateRuleFor(set));
            Assert.Equal(0.25, rule.MaxGradientNorm);
            Assert.Equal(0.5, TrainingConfig.Load(plain, ["network_weight_grad_clipping.norm=0.5"]).GradientClipNorm);
            Assert.Equal(0.25, set.Clone().GradientClipNorm);

            // ToYaml round-trips the key.
            string again = Path.Combine(dir, "again.yaml");
            File.WriteAllText(again, set.ToYaml());
            Assert.Equal(0.25, TrainingConfig.Load(again).GradientClipNorm);
            Assert.Equal(set.Sha256(), TrainingConfig.Load(again).Sha256());

            var error = Assert.Throws<ConfigException>(() => TrainingConfig.Load(bad));
            Assert.Contains("network_weight_grad_clipping.norm", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static double[] MatVec(double[,] m, double[] x) =>
        Enumerable.Range(0, x.Length).Select(i => Enumerable.Range(0, x.Length).Sum(j => m[i, j] * x[j])).ToArray();
}
