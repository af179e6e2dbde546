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
/// With Neumann depth 1 (p = v₀) the hypergradient is exactly d L_val(w_t(φ)) / dφ for the last update
/// w_t = w_{t−1} − η(μ b_{t−1} + g + ξ w_{t−1}) with g held fixed: checked against central differences of that
/// expression evaluated in double precision with the reference evaluator.
/// </summary>
public sealed class NeumannHypergradientTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DepthOneHypergradientMatchesCentralDifferences(bool perWeightLr)
    {
        var model = Mlp.Build([3, 5, 2], Activation.Tanh, LossKind.MeanSquaredError);
        int n = model.ParameterCount, rows = 6;
        var random = new Random(17);
        var (trainX, trainY) = DerivativeCheck.RandomBatch(model, rows, random);
        var (valX, valY) = DerivativeCheck.RandomBatch(model, rows, random);
        var trainSplit = new DataSplit(trainX, trainY, rows, 3, 2);
        var valSplit = new DataSplit(valX, valY, rows, 3, 2);
        var data = new DataSet("synthetic", TaskKind.Regression, 3, 2, trainSplit, valSplit, valSplit, new Normalisation(new float[3], [1, 1, 1]));
        var backend = new CpuBackend();
        float[] w0 = model.InitialWeights(5).Select(x => x * 2).ToArray();
        float[] b0 = Oracle.Normal(random, n, 0.3);
        const float lrPhi = -1.2f, wdPhi = -1.5f, momPhi = 0.4f;

        using var trainExec = new GraphExecutor(model, backend);
        using var valExec = new GraphExecutor(model, backend);
        using var weights = backend.Allocate(n);
        using var velocity = backend.Allocate(n);
        using var gradient = backend.Allocate(n);
        using var hypers = new HyperparameterSet(backend, n, lrPhi, wdPhi, momPhi, perWeightLr, (-10f, 0f));
        backend.Upload(w0, weights);
        backend.Upload(b0, velocity);
        var sampler = new BatchSampler(trainSplit, rows, 1);
        var state = new TrainingState
        {
            Backend = backend, Model = model, TrainingExecutor = trainExec, ValidationExecutor = valExec, Weights = weights,
            RuleState = [velocity], Gradient = gradient, Hyperparameters = hypers, Data = data, TrainingSplit = trainSplit,
            ValidationSampler = new BatchSampler(valSplit, rows, 2),
        };
        using var optimiser = new NeumannHyperOptimiser("ours-wd-lr-m", 1, 1, 0.05, [HyperparameterKind.LearningRate, HyperparameterKind.WeightDecay, HyperparameterKind.Momentum]);

        var batch = sampler.Next();
        trainExec.SetBatch(batch.Inputs, batch.Targets, batch.Count);
        trainExec.Forward(weights);
        trainExec.Backward(gradient);
        var g = new float[n];
        backend.Download(gradient, g);
        state.LastBatch = batch;
        optimiser.BeforeUpdate(state);
        SgdUpdateRule.Instance.Step(backend, weights, gradient, [velocity], hypers);
        optimiser.Step(state);

        var reference = new ReferenceEvaluator(model, Array.ConvertAll(valX, x => (double)x), Array.ConvertAll(valY, x => (double)x), rows);
        double ValLoss(double[] lrPhis, double wd, double mom)
        {
            double xi = Math.Pow(10, wd), mu = 1 / (1 + Math.Exp(-mom));
            var wt = new double[n];
            for (int k = 0; k < n; k++)
            {
                double eta = Math.Pow(10, lrPhis.Length == 1 ? lrPhis[0] : lrPhis[k]);
                wt[k] = w0[k] - (eta * ((mu * b0[k]) + g[k] + (xi * w0[k])));
            }

            return reference.Loss(wt);
        }

        const double h = 1e-4;
        double[] lr = perWeightLr ? Enumerable.Repeat((double)lrPhi, n).ToArray() : [lrPhi];
        double Fd(Func<double, double> f) => (f(h) - f(-h)) / (2 * h);
        double wdFd = Fd(d => ValLoss(lr, wdPhi + d, momPhi));
        double momFd = Fd(d => ValLoss(lr, wdPhi, momPhi + d));
        AssertClose(optimiser.LastHypergradient(HyperparameterKind.WeightDecay)[0], wdFd, "weight decay");
        AssertClose(optimiser.LastHypergradient(HyperparameterKind.Momentum)[0], momFd, "momentum");
        if (!perWeightLr)
        {
            AssertClose(optimiser.LastHypergradient(HyperparameterKind.LearningRate)[0], Fd(d => ValLoss([lrPhi + d], wdPhi, momPhi)), "learning rate");
        }
        else
        {
            foreach (int k in new[] { 0, 7, 13, n - 1 })
            {
                double fd = Fd(d =>
                {
                    var shifted = (double[])lr.Clone();
                    shifted[k] += d;
                    return ValLoss(shifted, wdPhi, momPhi);
                });
                AssertClose(optimiser.LastHypergradient(HyperparameterKind.LearningRate)[k], fd, $"learning rate of weight {k}");
            }
        }
    }

    private static void AssertClose(float actual, double expected, string what) =>
        Assert.True(Math.Abs(actual - expected) <= 1e-3 * Math.Abs(expected) + 1e-7, $"{what}: hypergradient {actual:E4}, central differences {expected:E4}");
}
