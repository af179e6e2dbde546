using OnePass.Training.Backends;
using OnePass.Training.Checking;
using OnePass.Training.Data;
using OnePass.Training.Graphs;
using OnePass.Training.Models;
using OnePass.Training.Optimisation;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Optimisation;

/// <summary>
/// On a quadratic training loss (a linear model with MSE: H = 2/n·AᵀA, A = [X, 1]) the Neumann series
/// Σ (I − η(H + ξI))ʲ v₀ converges to (η(H + ξI))⁻¹ v₀, so the weight-decay hypergradient −pᵀ(η w) tends to the
/// implicit-function-theorem value −v₀ᵀ(H + ξI)⁻¹ w, computed here in closed form by a dense solve.
/// </summary>
public sealed class NeumannConvergenceTests
{
    [Fact]
    public void WeightDecayHypergradientConvergesToTheImplicitFunctionValue()
    {
        const int d = 4, rows = 12;
        var model = Mlp.Build([d, 1], Activation.Relu, LossKind.MeanSquaredError);
        int n = model.ParameterCount;
        var random = new Random(31);
        var (tx, ty) = DerivativeCheck.RandomBatch(model, rows, random);
        var (vx, vy) = DerivativeCheck.RandomBatch(model, rows, random);
        var train = new DataSplit(tx, ty, rows, d, 1);
        var val = new DataSplit(vx, vy, rows, d, 1);
        var data = new DataSet("quadratic", TaskKind.Regression, d, 1, train, val, val, new Normalisation(new float[d], Enumerable.Repeat(1f, d).ToArray()));

        // Closed form: H = 2/n AᵀA (constant), weights ordered W (d) then b (1).
        var hessian = new double[n, n];
        for (int r = 0; r < rows; r++)
        {
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double ai = i < d ? tx[(r * d) + i] : 1, aj = j < d ? tx[(r * d) + j] : 1;
                    hessian[i, j] += 2.0 * ai * aj / rows;
                }
            }
        }

        const float lrPhi = -1.0f, wdPhi = -1.0f;
        double xi = Math.Pow(10, wdPhi);
        double previousError = double.PositiveInfinity;
        foreach (int depth in new[] { 1, 5, 40, 400 })
        {
            using var backend = new CpuBackend();
            using var trainExec = new GraphExecutor(model, backend);
            using var valExec = new GraphExecutor(model, backend);
            using var weights = backend.Allocate(n);
            using var velocity = backend.Allocate(n);
            using var gradient = backend.Allocate(n);
            using var hypers = new HyperparameterSet(backend, n, lrPhi, wdPhi, -40f, false, (-10f, 0f));
            float[] w0 = model.InitialWeights(4);
            backend.Upload(w0, weights);
            var state = new TrainingState
            {
                Backend = backend, Model = model, TrainingExecutor = trainExec, ValidationExecutor = valExec, Weights = weights,
                RuleState = [velocity], Gradient = gradient, Hyperparameters = hypers, Data = data, TrainingSplit = train,
                ValidationSampler = new BatchSampler(val, rows, 1),
            };
            using var optimiser = new NeumannHyperOptimiser("lorraine", 1, depth, 0.05, [HyperparameterKind.WeightDecay]);
            var batch = Batch.FromSplit(train, 0, rows);
            trainExec.SetBatch(batch.Inputs, batch.Targets, rows);
            trainExec.Gradient(weights, gradient);
            state.LastBatch = batch;
            optimiser.BeforeUpdate(state);
            SgdUpdateRule.Instance.Step(backend, weights, gradient, [velocity], hypers);

            // v₀ = ∇L_val(w_t), taken from the engine at the same point the optimiser uses.
            using var v0 = backend.Allocate(n);
            valExec.SetBatch(vx, vy, rows);
            valExec.Gradient(weights, v0);
            var v = new float[n];
            backend.Download(v0, v);
            optimiser.Step(state);

            // −v₀ᵀ (H + ξI)⁻¹ w_{t−1}, chained to φ_ξ by ln10·ξ.
            double[] solved = Solve(hessian, xi, Array.ConvertAll(w0, x => (double)x));
            double expected = -v.Select((x, i) => x * solved[i]).Sum() * Math.Log(10) * xi;
            double actual = optimiser.LastHypergradient(HyperparameterKind.WeightDecay)[0];
            double error = Math.Abs(actual - expected) / Math.Abs(expected);
            if (depth == 1)
            {
                Assert.True(error > 1e-2, $"depth 1 should still be far from the limit (error {error:E3}); the test would not discriminate");
            }

            Assert.True(error <= previousError + 1e-6, $"depth {depth}: error {error:E3} grew from {previousError:E3}");
            previousError = error;
            if (depth == 400)
            {
                Assert.True(error < 1e-3, $"depth 400: Neumann {actual:E5}, closed form {expected:E5}");
            }
        }

    }

    // (H + ξI) x = rhs by Gaussian elimination with partial pivoting.
    private static double[] Solve(double[,] h, double xi, double[] rhs)
    {
        int n = rhs.Length;
        var a = new double[n, n + 1];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                a[i, j] = h[i, j] + (i == j ? xi : 0);
            }

            a[i, n] = rhs[i];
        }

        for (int c = 0; c < n; c++)
        {
            int pivot = Enumerable.Range(c, n - c).MaxBy(r => Math.Abs(a[r, c]));
            for (int j = 0; j <= n; j++)
            {
                (a[c, j], a[pivot, j]) = (a[pivot, j], a[c, j]);
            }

            for (int r = 0; r < n; r++)
            {
                if (r != c)
                {
                    double f = a[r, c] / a[c, c];
                    for (int j = c; j <= n; j++)
                    {
                        a[r, j] -= f * a[c, j];
                    }
                }
            }
        }

        return Enumerable.Range(0, n).Select(i => a[i, n] / a[i, i]).ToArray();
    }
}
