using OnePass.Training.Backends;
using OnePass.Training.Checkpoints;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Optimisation;
using OnePass.Training.Training;

namespace OnePass.Training.Tests.Optimisation;

/// <summary>A run whose loss blows up stops with a message naming the step and hyperparameters, leaving earlier outputs intact.</summary>
public sealed class DivergenceTests
{
    [Fact]
    public void NonFiniteLossStopsTheRunAndKeepsTheLastGoodCheckpointAndMetrics()
    {
        var random = new Random(4);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var train = new DataSplit(Rand(40 * 3), Rand(40), 40, 3, 1);
        var val = new DataSplit(Rand(10 * 3), Rand(10), 10, 3, 1);
        var data = new DataSet("synthetic", TaskKind.Regression, 3, 1, train, val, val, new Normalisation(new float[3], [1, 1, 1]));
        // Two sane hyperparameter steps, then a learning-rate multiplier of 10^12 drives the loss to infinity.
        var config = new TrainingConfig
        {
            DataSet = "uci-energy", HyperparameterSteps = 6, NetworkWeightSteps = 3, BatchSize = 0, LogEvery = 1,
            Lr = -2, LrClip = [-10, 0], LrMultiplier = [1, 1, 1e12], LayerSizes = [3, 4, 1],
        };
        string dir = Path.Combine(Path.GetTempPath(), $"onepass-diverge-{Guid.NewGuid():N}");
        using var backend = new CpuBackend();
        using var optimiser = new RandomHyperOptimiser(config.NetworkWeightSteps);
        var summary = new Trainer(config, data, backend, dir).Run(optimiser);

        Assert.True(summary.Diverged);
        Assert.Contains("became NaN or infinite at weight step", summary.Message);
        Assert.Contains("lr=", summary.Message);
        Assert.True(double.IsNaN(summary.Final.TestLoss));
        string[] metrics = File.ReadAllLines(Path.Combine(dir, "metrics.csv"));
        Assert.Equal(4, metrics.Length); // header, step 0, and the two good hyperparameter steps before the blow-up
        Assert.All(metrics.Skip(1), row => Assert.DoesNotContain("NaN", row));
        var checkpoint = Checkpoint.Load(Path.Combine(dir, Checkpoint.FileName));
        Assert.All(checkpoint.Weights, w => Assert.True(float.IsFinite(w)));
        Assert.True(File.Exists(Path.Combine(dir, "summary.json")));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void TransformsClippingAndMultiplierBehaveAsSpecified()
    {
        using var backend = new CpuBackend();
        using var lr = new Hyperparameter(backend, HyperparameterKind.LearningRate, 0.7f, 1, (-10f, 0f));
        Assert.Equal(1f, lr.Scalar, 6); // φ clipped from 0.7 to 0, so η = 10^0
        lr.SetMultiplier(0.25f);
        Assert.Equal(0.25f, lr.Scalar, 6);
        using var momentum = new Hyperparameter(backend, HyperparameterKind.Momentum, 0.3f, 1, null);
        Assert.Equal(1 / (1 + Math.Exp(-0.3)), momentum.Scalar, 6);
        using var d = backend.Allocate(1);
        momentum.TransformDerivative(d);
        var host = new float[1];
        backend.Download(d, host);
        Assert.Equal(momentum.Scalar * (1 - momentum.Scalar), host[0], 6);
        using var wd = new Hyperparameter(backend, HyperparameterKind.WeightDecay, -3f, 1, null);
        wd.TransformDerivative(d);
        backend.Download(d, host);
        Assert.Equal(Math.Log(10) * 1e-3, host[0], 6);
    }

    [Fact]
    public void PerWeightSummaryGivesTheMeanAndNearestRankQuantiles()
    {
        using var backend = new CpuBackend();
        using var lr = new Hyperparameter(backend, HyperparameterKind.LearningRate, 0f, 8, (-10f, 0f));
        backend.Upload([-1f, -8f, -3f, -2f, -7f, -4f, -6f, -5f], lr.Phi); // φ = −1 … −8, shuffled
        lr.Refresh();
        var s = lr.Summary();
        Assert.Equal(new[] { "lr.mean", "lr.min", "lr.q25", "lr.median", "lr.q75", "lr.max" }, s.Keys.ToArray());
        Assert.Equal(1e-8, s["lr.min"], 1e-12);
        Assert.Equal(1e-7, s["lr.q25"], 1e-11); // rank ceil(0.25·8) = 2
        Assert.Equal(1e-5, s["lr.median"], 1e-9); // rank 4
        Assert.Equal(1e-3, s["lr.q75"], 1e-7); // rank 6
        Assert.Equal(1e-1, s["lr.max"], 1e-5);
        Assert.Equal(Enumerable.Range(1, 8).Average(k => Math.Pow(10, -k)), s["lr.mean"], 1e-6);
    }

    // Writes a NaN into the weights just before the update that ends the second interval, or into the momentum's φ
    // during the second hyperparameter step.
    private sealed class PoisonOptimiser(bool weights) : IHyperOptimiser
    {
        public string Name => "poison";

        public int StepInterval => 3;

        public bool UsesValidation => false;

        public void BeforeUpdate(TrainingState state)
        {
            if (weights && state.WeightStep + 1 == 6)
            {
                state.Backend.Upload([float.NaN], state.Weights.Slice(0, 1));
            }
        }

        public void Step(TrainingState state)
        {
            if (!weights && state.WeightStep == 6)
            {
                state.Backend.Upload([float.NaN], state.Hyperparameters.Momentum.Phi);
                state.Hyperparameters.Momentum.Refresh();
            }
        }

        public void Dispose()
        {
        }
    }

    [Theory]
    [InlineData(true, "weights became NaN or infinite at weight step 6 (hyperparameter step 1)")]
    [InlineData(false, "the hyperparameters after poison's step became NaN or infinite at weight step 6 (hyperparameter step 2)")]
    public void NonFiniteWeightsOrHyperparametersAtAHyperparameterStepStopTheRun(bool weights, string expected)
    {
        var random = new Random(4);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var train = new DataSplit(Rand(40 * 3), Rand(40), 40, 3, 1);
        var val = new DataSplit(Rand(10 * 3), Rand(10), 10, 3, 1);
        var data = new DataSet("synthetic", TaskKind.Regression, 3, 1, train, val, val, new Normalisation(new float[3], [1, 1, 1]));
        var config = new TrainingConfig { DataSet = "uci-energy", HyperparameterSteps = 4, NetworkWeightSteps = 3, BatchSize = 0, LogEvery = 1, Lr = -2, LayerSizes = [3, 4, 1] };
        using var backend = new CpuBackend();
        using var optimiser = new PoisonOptimiser(weights);
        var summary = new Trainer(config, data, backend, null).Run(optimiser);

        Assert.True(summary.Diverged);
        Assert.Contains(expected, summary.Message);
        if (weights)
        {
            // Stopped before a hyperparameter step could turn the hyperparameters into NaN: they are named as they were.
            Assert.DoesNotContain("NaN,", summary.Message);
            Assert.Contains("momentum=0.5", summary.Message);
        }
    }
}
