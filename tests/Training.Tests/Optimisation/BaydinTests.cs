using OnePass.Training.Backends;
using OnePass.Training.Checking;
using OnePass.Training.Data;
using OnePass.Training.Graphs;
using OnePass.Training.Models;
using OnePass.Training.Optimisation;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Optimisation;

/// <summary>Baydin's hypergradient equals the one-step derivative d L(w₀ − 10^φ g₀)/dφ (plain SGD, fixed batch).</summary>
public sealed class BaydinTests
{
    [Fact]
    public void HypergradientMatchesTheOneStepDerivative()
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
        const float lrPhi = -0.7f;
        // Momentum and weight decay negligible (φ = −40): plain SGD.
        using var hypers = new HyperparameterSet(backend, n, lrPhi, -40f, -40f, false, (-10f, 0f));
        float[] w0 = model.InitialWeights(2).Select(v => v * 2).ToArray();
        backend.Upload(w0, weights);
        var state = new TrainingState
        {
            Backend = backend, Model = model, TrainingExecutor = exec, ValidationExecutor = exec, Weights = weights, RuleState = [velocity],
            Gradient = gradient, Hyperparameters = hypers, Data = data, TrainingSplit = split,
        };
        using var optimiser = new BaydinHyperOptimiser();
        exec.SetBatch(x, y, rows);
        exec.Gradient(weights, gradient);
        var g0 = new float[n];
        backend.Download(gradient, g0);
        optimiser.BeforeUpdate(state);
        SgdUpdateRule.Instance.Step(backend, weights, gradient, [velocity], hypers);
        exec.Gradient(weights, gradient);
        optimiser.BeforeUpdate(state);

        var reference = new ReferenceEvaluator(model, Array.ConvertAll(x, v => (double)v), Array.ConvertAll(y, v => (double)v), rows);
        double Loss(double phi) => reference.Loss(w0.Select((w, k) => w - (Math.Pow(10, phi) * g0[k])).ToArray());
        const double h = 1e-5;
        double expected = (Loss(lrPhi + h) - Loss(lrPhi - h)) / (2 * h);
        Assert.True(Math.Abs(optimiser.LastHypergradient - expected) <= 1e-3 * Math.Abs(expected),
            $"baydin hypergradient {optimiser.LastHypergradient:E4}, central differences {expected:E4}");
    }
}
