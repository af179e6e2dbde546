using OnePass.Training.Backends;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Graphs;
using OnePass.Training.Models;
using OnePass.Training.Optimisation;
using OnePass.Training.Tensors;
using OnePass.Training.Training;

namespace OnePass.Training.Checking;

/// <summary>One line of the self-test's table.</summary>
/// <param name="Group">"op", "model" or "algorithm".</param>
/// <param name="Name">What was checked, e.g. "Conv2d 3x3 stride 2 pad 1 bias" or "resnet18 gradient and HVP".</param>
/// <param name="Reference">What it was compared with.</param>
/// <param name="Errors">Relative errors by measure (e.g. forward, gradient, hvp).</param>
/// <param name="Tolerance">The largest relative error accepted.</param>
/// <param name="Passed">Whether every error is within the tolerance (and nothing threw).</param>
/// <param name="Detail">Why it failed when it threw; extra facts otherwise.</param>
/// <param name="Seconds">Wall time of the check.</param>
public sealed record SelfTestRow(string Group, string Name, string Reference, IReadOnlyDictionary<string, double> Errors, double Tolerance, bool Passed, string? Detail, double Seconds);

/// <summary>
/// The parity suite behind <c>onepass selftest</c> (and the GPU tests): every op's four rules, the
/// <see cref="GraphExecutor"/> gradient and Hessian-vector products of an MLP, a small ResNet-18 and a small LSTM
/// language model, and a short training run with one hyperparameter step or more of every algorithm. On the CPU
/// backend the ops are compared with central differences of their double-precision references; on any other
/// backend with the CPU backend running the same float32 rules on the same data. Models are always checked against
/// the double-precision reference loss (<see cref="DerivativeCheck"/>); training runs on another backend are also
/// compared with the same run on the CPU.
/// </summary>
public static class SelfTest
{
    /// <summary>Every hyperparameter algorithm a configuration may name.</summary>
    public static IReadOnlyList<string> Algorithms { get; } = ["random", "lorraine", "baydin", "diff-through-opt", "ours-wd-lr", "ours-wd-lr-m", "ours-wd-hdlr-m"];

    /// <summary>Largest relative difference accepted between the final losses of the same short run on two backends.</summary>
    public const double TrainingLossTolerance = 1e-3;

    /// <summary>Runs the suite on <paramref name="backend"/>, reporting each row to <paramref name="onRow"/> as it completes.</summary>
    public static IReadOnlyList<SelfTestRow> Run(IBackend backend, bool quick, int seed = 0, Action<SelfTestRow>? onRow = null, CancellationToken cancellation = default)
    {
        var rows = new List<SelfTestRow>();
        void Add(SelfTestRow row)
        {
            rows.Add(row);
            onRow?.Invoke(row);
        }

        bool onCpu = backend is CpuBackend;
        using var cpu = onCpu ? null : new CpuBackend();
        foreach (OpCase c in OpRuleCheck.StandardCases(quick))
        {
            cancellation.ThrowIfCancellationRequested();
            string reference = onCpu ? "double-precision reference" : "cpu backend";
            Add(Timed("op", c.Name, reference, onCpu ? OpRuleCheck.ReferenceTolerance : OpRuleCheck.BackendTolerance, () =>
            {
                OpCheckResult r = onCpu ? OpRuleCheck.AgainstReference(c, seed + 1) : OpRuleCheck.AgainstBackend(backend, cpu!, c, seed + 1);
                var errors = new Dictionary<string, double>
                {
                    ["forward"] = r.Forward, ["forward_tangent"] = r.ForwardTangent, ["backward"] = r.Backward, ["backward_tangent"] = r.BackwardTangent,
                };
                return (errors, r.Passed, null);
            }));
        }

        foreach (var (name, model, batch) in Models(quick))
        {
            cancellation.ThrowIfCancellationRequested();
            Add(Timed("model", $"{name} gradient and HVP", "double-precision reference", 1e-3, () =>
            {
                DerivativeCheckResult r = DerivativeCheck.Run(model, backend, batch, seed, vectors: quick ? 1 : 3, maxCoordinates: quick ? 100 : 400);
                var errors = new Dictionary<string, double>
                {
                    ["gradient"] = r.GradientRelativeError, ["hvp"] = r.HessianVectorRelativeError, ["symmetry"] = r.SymmetryRelativeError,
                };
                return (errors, r.Passed, $"{model.ParameterCount} weights, {r.CheckedWeights} compared, {r.HessianVectorProducts} products");
            }));
        }

        foreach (string algorithm in Algorithms)
        {
            cancellation.ThrowIfCancellationRequested();
            Add(Timed("algorithm", $"{algorithm} hyperparameter steps", onCpu ? "finite losses, hyperparameters moved" : "same run on cpu", TrainingLossTolerance, () =>
            {
                TrainingSummary run = ShortRun(algorithm, backend, seed);
                var errors = new Dictionary<string, double>();
                bool passed = !run.Diverged && double.IsFinite(run.Final.TrainingLoss) && run.HyperparameterSteps >= 1;
                string detail = $"{run.HyperparameterSteps} hyperparameter steps, training loss {run.Initial.TrainingLoss:G4} -> {run.Final.TrainingLoss:G4}";
                if (algorithm != "random")
                {
                    // A hyperparameter step that ran must have moved some hyperparameter.
                    bool moved = run.Hyperparameters.Any(h => !run.InitialHyperparameters.TryGetValue(h.Key, out double before) || before != h.Value);
                    passed &= moved;
                    detail += moved ? "" : "; no hyperparameter moved";
                }
                if (!onCpu)
                {
                    TrainingSummary expected = ShortRun(algorithm, cpu!, seed);
                    double difference = Math.Abs(run.Final.TrainingLoss - expected.Final.TrainingLoss) / Math.Max(Math.Abs(expected.Final.TrainingLoss), 1e-12);
                    errors["final_training_loss"] = difference;
                    passed &= difference <= TrainingLossTolerance;
                    detail += $" (cpu: {expected.Final.TrainingLoss:G4})";
                }

                return (errors, passed, detail);
            }));
        }

        if (backend is Backends.Cuda.CudaBackend cuda)
        {
            cancellation.ThrowIfCancellationRequested();
            Add(Timed("graphs", "ours-wd-lr-m run with CUDA graphs", "same run without graphs", 1e-6, () => GraphParity(cuda, seed)));
        }

        return rows;
    }

    // The same short run with replayable regions as CUDA graphs and launched eagerly: graphs must have been captured and
    // replayed, and the runs must agree (the same kernels on the same data, so to float rounding at most).
    private static (Dictionary<string, double> Errors, bool Passed, string? Detail) GraphParity(Backends.Cuda.CudaBackend cuda, int seed)
    {
        bool before = cuda.GraphsEnabled;
        try
        {
            TrainingSummary eager = ShortRun("ours-wd-lr-m", cuda, seed, cudaGraphs: false);
            var (captures0, replays0) = cuda.GraphStatistics;
            TrainingSummary graphed = ShortRun("ours-wd-lr-m", cuda, seed, cudaGraphs: true);
            var (captures1, replays1) = cuda.GraphStatistics;
            int captures = captures1 - captures0, replays = replays1 - replays0;
            double difference = Math.Abs(graphed.Final.TrainingLoss - eager.Final.TrainingLoss) / Math.Max(Math.Abs(eager.Final.TrainingLoss), 1e-12);
            var errors = new Dictionary<string, double> { ["final_training_loss"] = difference };
            bool passed = replays > 0 && difference <= 1e-6 && !graphed.Diverged;
            return (errors, passed, $"{captures} graphs captured, {replays} replays; loss {graphed.Final.TrainingLoss:G7} (eager {eager.Final.TrainingLoss:G7})"
                + (replays > 0 ? "" : "; no region was replayed"));
        }
        finally
        {
            cuda.GraphsEnabled = before;
        }
    }

    /// <summary>The models whose gradient and HVPs the suite checks, with their batch (an LSTM's batch is its time steps).</summary>
    public static IReadOnlyList<(string Name, Model Model, int Rows)> Models(bool quick)
    {
        var mlp = Mlp.Build([8, 16, 3], Activation.Tanh, LossKind.CrossEntropy);
        var resnet = ModelBuilder.Build(new ModelSpec { Architecture = "resnet18", InputShape = quick ? [3, 8, 8] : [3, 16, 16], Outputs = 4, Loss = "cross-entropy", BaseWidth = 2 });
        var lstm = ModelBuilder.Build(new ModelSpec { Architecture = "lstm", Outputs = 11, EmbeddingSize = 5, HiddenSize = 5, Layers = 2, Steps = 4, Sequences = 3, Loss = "cross-entropy" });
        return [("mlp 8-16-3", mlp, 8), ("resnet18 (base width 2)", resnet, 8), ("lstm (2 layers, hidden 5)", lstm, lstm.Spec!.TimeSteps)];
    }

    /// <summary>
    /// A short training run of <paramref name="algorithm"/> on a small synthetic regression problem: 3 weight steps per
    /// hyperparameter step, 2 hyperparameter steps, full batches, no files.
    /// </summary>
    public static TrainingSummary ShortRun(string algorithm, IBackend backend, int seed, bool cudaGraphs = true)
    {
        const int features = 6, trainRows = 48, validationRows = 16;
        var random = new Random(seed + 17);
        float[] truth = Enumerable.Range(0, features).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        DataSplit Split(int count)
        {
            var x = new float[count * features];
            var y = new float[count];
            for (int r = 0; r < count; r++)
            {
                double sum = 0;
                for (int f = 0; f < features; f++)
                {
                    float value = (float)((random.NextDouble() * 2) - 1);
                    x[(r * features) + f] = value;
                    sum += truth[f] * value;
                }

                y[r] = (float)(Math.Tanh(sum) + (0.05 * ((random.NextDouble() * 2) - 1)));
            }

            return new DataSplit(x, y, count, features, 1);
        }

        var train = Split(trainRows);
        var validation = Split(validationRows);
        var data = new DataSet("synthetic", TaskKind.Regression, features, 1, train, validation, validation,
            new Normalisation(new float[features], Enumerable.Repeat(1f, features).ToArray()));
        var config = new TrainingConfig
        {
            DataSet = "uci-energy", Algorithm = algorithm, Seed = seed, HyperparameterSteps = 2, NetworkWeightSteps = 3, BatchSize = 0, CudaGraphs = cudaGraphs,
            LogEvery = 2, Lr = -2, WeightDecay = -4, Momentum = 0.5, LayerSizes = [features, 8, 1], Activation = "tanh", HyperparameterRollbackDistance = 3,
        };
        config.Validate();
        using IHyperOptimiser optimiser = HyperOptimiserFactory.Create(config);
        return new Trainer(config, data, backend, null).Run(optimiser);
    }

    private static SelfTestRow Timed(string group, string name, string reference, double tolerance, Func<(Dictionary<string, double> Errors, bool Passed, string? Detail)> check)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            var (errors, passed, detail) = check();
            return new SelfTestRow(group, name, reference, errors, tolerance, passed, detail, clock.Elapsed.TotalSeconds);
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            string message = e.Message.ReplaceLineEndings(" ").Trim();
            return new SelfTestRow(group, name, reference, new Dictionary<string, double>(), tolerance, false, $"{e.GetType().Name}: {message}", clock.Elapsed.TotalSeconds);
        }
    }
}
