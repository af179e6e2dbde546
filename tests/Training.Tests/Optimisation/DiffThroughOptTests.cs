using OnePass.Training.Backends;
using OnePass.Training.Checking;
using OnePass.Training.Data;
using OnePass.Training.Graphs;
using OnePass.Training.Models;
using OnePass.Training.Optimisation;
using OnePass.Training.Tensors;
using OnePass.Training.Tests.Engine;

namespace OnePass.Training.Tests.Optimisation;

/// <summary>
/// diff-through-opt against central differences of the validation loss after K unrolled SGD-with-momentum
/// updates, simulated in double precision with finite-difference training gradients of the reference loss.
/// </summary>
public sealed class DiffThroughOptTests
{
    [Fact]
    public void HypergradientMatchesCentralDifferencesThroughKUpdates()
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
        const float lrPhi = -1.0f, wdPhi = -1.3f, momPhi = 0.2f;

        using var backend = new CpuBackend();
        using var trainExec = new GraphExecutor(model, backend);
        using var valExec = new GraphExecutor(model, backend);
        using var weights = backend.Allocate(n);
        using var velocity = backend.Allocate(n);
        using var gradient = backend.Allocate(n);
        using var hypers = new HyperparameterSet(backend, n, lrPhi, wdPhi, momPhi, false, (-10f, 0f));
        backend.Upload(w0, weights);
        backend.Upload(b0, velocity);
        var state = new TrainingState
        {
            Backend = backend, Model = model, TrainingExecutor = trainExec, ValidationExecutor = valExec, Weights = weights,
            RuleState = [velocity], Gradient = gradient, Hyperparameters = hypers, Data = data, TrainingSplit = train,
            ValidationSampler = new BatchSampler(val, rows, 1),
        };
        using var optimiser = new DiffThroughOptHyperOptimiser(k, k, 0.05);
        var batch = Batch.FromSplit(train, 0, rows);
        for (int s = 0; s < k; s++)
        {
            trainExec.SetBatch(batch.Inputs, batch.Targets, rows);
            trainExec.Gradient(weights, gradient);
            state.LastBatch = batch;
            optimiser.BeforeUpdate(state);
            SgdUpdateRule.Instance.Step(backend, weights, gradient, [velocity], hypers);
            state.WeightStep = s + 1;
        }

        optimiser.Step(state);

        var trainRef = new ReferenceEvaluator(model, Array.ConvertAll(tx, v => (double)v), Array.ConvertAll(ty, v => (double)v), rows);
        var valRef = new ReferenceEvaluator(model, Array.ConvertAll(vx, v => (double)v), Array.ConvertAll(vy, v => (double)v), rows);
        double ValAfterUnroll(double lr, double wd, double mom)
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

                for (int i = 0; i < n; i++)
                {
                    bv[i] = (mu * bv[i]) + g[i] + (xi * w[i]);
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
        foreach (var (kind, fd) in expected)
        {
            double actual = optimiser.LastHypergradient[kind];
            Assert.True(Math.Abs(actual - fd) <= 2e-3 * Math.Abs(fd) + 1e-7, $"{kind}: diff-through-opt {actual:E4}, central differences {fd:E4}");
        }
    }
}
