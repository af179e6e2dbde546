using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OnePass.Training.Checking;
using OnePass.Training.Configuration;
using OnePass.Training.Training;
using OnePass.Training.Graphs;
using OnePass.Training.Optimisation;
using OnePass.Training.Tensors;

namespace OnePass.Cli.Commands;

/// <summary>`onepass bench`: median timings of the engine's core operations.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var batch = new Option<int>("--batch") { Description = "Batch size", DefaultValueFactory = _ => 50 };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time per figure", DefaultValueFactory = _ => 2.0 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table" };
        var evaluate = new Option<int>("--evaluate") { Description = "Also evaluate the model (inference executor, evaluation mode) on this many random examples and report the time, the chunk size and the process's peak memory" };
        var profile = new Option<bool>("--profile") { Description = "Also print where a gradient's and a Hessian-vector product's time goes, per op type and rule" };
        var backend = CommonOptions.Backend();
        var algorithms = new Option<string?>("--algorithm") { Description = "Instead: time a short training run per algorithm (comma-separated) and print each relative to random" };
        var config = new Option<string>("--config") { Description = "The model to time on random inputs (any architecture); with --algorithm, the configuration to train", DefaultValueFactory = _ => "configs/fashion-mnist.yaml" };
        var set = new Option<string[]>("--set") { Description = "Override a configuration key (key=value), repeatable" };
        var steps = new Option<int>("--steps") { Description = "With --algorithm: hyperparameter steps per run", DefaultValueFactory = _ => 100 };
        var repeats = new Option<int>("--repeats") { Description = "With --algorithm: timed runs per algorithm, interleaved; the median is reported", DefaultValueFactory = _ => 3 };
        var dataDir = CommonOptions.DataDir();
        var command = new Command("bench", "Time one forward pass, one gradient, one Hessian-vector product and one SGD training step") { batch, seconds, json, profile, evaluate, backend, algorithms, config, set, steps, repeats, dataDir };
        model.AddTo(command);
        command.SetAction(parse => CliAction.Run(_ =>
        {
            if (parse.GetValue(algorithms) is { } algs)
            {
                return CompareAlgorithms(algs, parse.GetValue(config)!, parse.GetValue(set) ?? [], parse.GetValue(steps), parse.GetValue(repeats), parse.GetValue(dataDir), parse.GetValue(backend)!, parse.GetValue(json));
            }

            // --config names the model (random inputs, no data read); otherwise --layers describes an MLP.
            var benchConfig = parse.GetResult(config) is { Implicit: false } ? TrainingConfig.Load(parse.GetValue(config)!, parse.GetValue(set)) : null;
            var m = benchConfig is not null ? ConfigModels.Build(benchConfig) : model.Build(parse);
            int rows = parse.GetValue(batch);
            if (rows <= 0)
            {
                throw new UserInputException($"--batch {rows}: must be positive");
            }

            using var b = CommonOptions.CreateBackend(parse.GetValue(backend)!);
            if (b is OnePass.Training.Backends.Cuda.CudaBackend cuda)
            {
                cuda.GraphsEnabled = benchConfig?.CudaGraphs ?? true;
            }

            var figures = Measure(m, b, rows, parse.GetValue(seconds));
            if (b is OnePass.Training.Backends.Cuda.CudaBackend graphs)
            {
                figures["cuda_graphs"] = graphs.GraphsEnabled;
                figures["cuda_graphs_captured"] = graphs.GraphStatistics.Captures;
                figures["cuda_graphs_replayed"] = graphs.GraphStatistics.Replays;
            }

            if (parse.GetValue(evaluate) is > 0 and var evaluateRows)
            {
                MeasureEvaluation(m, b, evaluateRows, benchConfig?.EvaluationChunk ?? 0, figures);
            }

            if (parse.GetValue(profile))
            {
                PrintProfile(m, b, rows);
            }

            var inv = CultureInfo.InvariantCulture;
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(figures));
            }
            else
            {
                Console.WriteLine($"{m.Description}, batch {rows}, {m.ParameterCount:N0} weights, {b.Description}");
                foreach (var (k, v) in figures)
                {
                    Console.WriteLine($"  {k,-20} {(v is double d ? d.ToString("F4", inv) : v)}");
                }
            }

            return 0;
        }));
        return command;
    }

    // Wall time of the weight and hyperparameter steps (no evaluation, no files) of one short run per algorithm.
    // Each algorithm is timed `repeats` times; the rounds are interleaved, and the order within a round rotates,
    // so that drift in the machine's speed is shared between algorithms instead of charged to whichever ran last.
    // The ratio to random is taken within each round (same conditions) and its median reported, with its range.
    private static int CompareAlgorithms(string list, string configPath, string[] overrides, int steps, int repeats, string? dataDir, string backendChoice, bool json)
    {
        if (steps <= 0)
        {
            throw new UserInputException($"--steps {steps}: must be positive");
        }

        if (repeats <= 0)
        {
            throw new UserInputException($"--repeats {repeats}: must be positive");
        }

        var baseConfig = TrainingConfig.Load(configPath, [.. overrides, $"hyperparameter_steps={steps}", $"log_every={steps}"]);
        var names = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToList();
        if (names.Count == 0)
        {
            throw new UserInputException("--algorithm: give at least one algorithm name");
        }

        names.Remove("random");
        names.Insert(0, "random");
        foreach (string name in names)
        {
            var probe = baseConfig.Clone();
            probe.Algorithm = name;
            probe.Validate();
        }

        var data = DataSetLoader.Load(baseConfig, dataDir);
        using var b = CommonOptions.CreateBackend(backendChoice);

        // Warm-up (JIT, allocator, caches) so that the first algorithm timed is not charged for it.
        foreach (string name in names)
        {
            var warm = baseConfig.Clone();
            warm.Algorithm = name;
            warm.HyperparameterSteps = Math.Max(1, steps / 10);
            warm.LogEvery = warm.HyperparameterSteps;
            using var warmOptimiser = HyperOptimiserFactory.Create(warm);
            new Trainer(warm, data, b, null).Run(warmOptimiser);
        }

        var seconds = names.ToDictionary(n => n, _ => new List<double>());
        var ratios = names.ToDictionary(n => n, _ => new List<double>());
        for (int round = 0; round < repeats; round++)
        {
            var thisRound = new Dictionary<string, double>();
            for (int k = 0; k < names.Count; k++)
            {
                string name = names[(k + round) % names.Count];
                var cfg = baseConfig.Clone();
                cfg.Algorithm = name;
                using var optimiser = HyperOptimiserFactory.Create(cfg);
                thisRound[name] = new Trainer(cfg, data, b, null).Run(optimiser).TrainSeconds;
                if (!json)
                {
                    Console.Error.WriteLine($"bench: round {round + 1}/{repeats}, {name}: {thisRound[name].ToString("F3", CultureInfo.InvariantCulture)} s");
                }
            }

            foreach (string name in names)
            {
                seconds[name].Add(thisRound[name]);
                ratios[name].Add(thisRound[name] / thisRound["random"]);
            }
        }

        var inv = CultureInfo.InvariantCulture;
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(names.ToDictionary(n => n, n => new
            {
                train_seconds = MedianOf(seconds[n]),
                relative_to_random = MedianOf(ratios[n]),
                relative_min = ratios[n].Min(),
                relative_max = ratios[n].Max(),
                repeats,
            })));
        }
        else
        {
            Console.WriteLine($"{data.Name}, {steps} x {baseConfig.NetworkWeightSteps} weight steps, depth {baseConfig.HyperparameterRollbackDistance}, {b.Description}; median of {repeats} interleaved rounds");
            foreach (string name in names)
            {
                Console.WriteLine($"  {name,-18} {MedianOf(seconds[name]).ToString("F3", inv)} s  {MedianOf(ratios[name]).ToString("F2", inv)}x random  (range {ratios[name].Min().ToString("F2", inv)}-{ratios[name].Max().ToString("F2", inv)})");
            }
        }

        return 0;
    }

    private static double MedianOf(List<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[(n / 2) - 1] + sorted[n / 2]);
    }

    /// <summary>Median milliseconds of each operation, and the HVP/gradient ratio.</summary>
    public static Dictionary<string, object> Measure(OnePass.Training.Models.Model m, IBackend b, int rows, double seconds)
    {
        var random = new Random(1);
        var (inputs, targets) = DerivativeCheck.RandomBatch(m, rows, random);
        using var executor = new GraphExecutor(m, b);
        using var w = b.Allocate(m.ParameterCount);
        using var g = b.Allocate(m.ParameterCount);
        using var v = b.Allocate(m.ParameterCount);
        using var hv = b.Allocate(m.ParameterCount);
        using var velocity = b.Allocate(m.ParameterCount);
        using var hypers = new HyperparameterSet(b, m.ParameterCount, -2f, -5f, 0f, false, (-10f, 0f));
        b.Upload(m.InitialWeights(1), w);
        b.Upload(m.InitialWeights(2), v);
        executor.SetBatch(inputs, targets, rows);

        // Each figure's work is a replayable region, as in training (a CUDA graph on the GPU once it repeats).
        double forward = Median(seconds, () => b.Replayable("bench forward", () => executor.Forward(w)), b);
        double gradient = Median(seconds, () => b.Replayable("bench gradient", () =>
        {
            executor.Forward(w);
            executor.Backward(g);
        }), b);
        double hvp = Median(seconds, () => b.Replayable("bench hvp", () =>
        {
            executor.Forward(w);
            executor.HessianVectorProduct(v, hv);
        }), b);
        executor.Forward(w);
        executor.Backward(g);
        double hvpAgain = Median(seconds, () => b.Replayable("bench hvp same point", () => executor.HessianVectorProduct(v, hv)), b);
        double step = Median(seconds, () =>
        {
            executor.SetBatch(inputs, targets, rows);
            b.Replayable("bench step", () =>
            {
                executor.Forward(w);
                executor.Backward(g);
                SgdUpdateRule.Instance.Step(b, w, g, [velocity], hypers);
            });
        }, b);
        double hyperStep = MeasureHyperStep(m, b, rows, inputs, targets, seconds);
        return new Dictionary<string, object>
        {
            ["forward_ms"] = forward,
            ["forward_rows_per_second"] = rows / (forward / 1000),
            ["gradient_ms"] = gradient,
            ["hvp_ms"] = hvp,
            ["train_step_ms"] = step,
            ["hvp_over_gradient"] = hvp / gradient,
            ["hvp_same_point_ms"] = hvpAgain,
            ["hvp_same_point_over_gradient"] = hvpAgain / gradient,
            ["hyper_step_ms"] = hyperStep,
        };
    }

    // One full Neumann hyperparameter step (ours-wd-lr-m, depth 5): validation gradient, forward at w_{t−1}, 4 HVPs, Adam.
    private static double MeasureHyperStep(OnePass.Training.Models.Model m, IBackend b, int rows, float[] inputs, float[] targets, double seconds)
    {
        int n = m.ParameterCount;
        var split = new OnePass.Training.Data.DataSplit(inputs, targets, rows, m.InputWidth, m.TargetWidth);
        var data = new OnePass.Training.Data.DataSet("bench", OnePass.Training.Data.TaskKind.Classification, m.InputWidth, m.OutputWidth, split, split, split,
            new OnePass.Training.Data.Normalisation(new float[m.InputWidth], Enumerable.Repeat(1f, m.InputWidth).ToArray()));
        using var trainExec = new GraphExecutor(m, b);
        using var valExec = new GraphExecutor(m, b);
        using var w = b.Allocate(n);
        using var velocity = b.Allocate(n);
        using var g = b.Allocate(n);
        using var hypers = new HyperparameterSet(b, n, -2f, -5f, 0f, false, (-10f, 0f));
        b.Upload(m.InitialWeights(1), w);
        var sampler = new OnePass.Training.Data.BatchSampler(split, rows, 1);
        var state = new TrainingState
        {
            Backend = b, Model = m, TrainingExecutor = trainExec, ValidationExecutor = valExec, Weights = w, RuleState = [velocity], Gradient = g,
            Hyperparameters = hypers, Data = data, TrainingSplit = split, ValidationSampler = new OnePass.Training.Data.BatchSampler(split, rows, 2),
        };
        using var optimiser = new NeumannHyperOptimiser("ours-wd-lr-m", 1, 5, 0.05, [HyperparameterKind.LearningRate, HyperparameterKind.WeightDecay, HyperparameterKind.Momentum]);
        var batch = sampler.Next();
        state.LastBatch = batch;
        trainExec.SetBatch(batch.Inputs, batch.Targets, rows);
        trainExec.Gradient(w, g);
        optimiser.BeforeUpdate(state);
        return Median(seconds, () => optimiser.Step(state), b);
    }

    // Evaluation of many examples as the trainer does it: the inference executor in chunks of the configuration's
    // evaluation_chunk, or sized from the model.
    private static void MeasureEvaluation(OnePass.Training.Models.Model m, IBackend b, int rows, int configuredChunk, Dictionary<string, object> figures)
    {
        var (inputs, targets) = DerivativeCheck.RandomBatch(m, rows, new Random(3));
        var split = new OnePass.Training.Data.DataSplit(inputs, targets, rows, m.InputWidth, m.TargetWidth);
        int chunk = Trainer.EvaluationChunkFor(m, configuredChunk);
        using var executor = new InferenceExecutor(m, b);
        using var w = b.Allocate(m.ParameterCount);
        b.Upload(m.InitialWeights(1), w);
        var clock = Stopwatch.StartNew();
        Trainer.Evaluate(executor, w, split, chunk);
        figures["evaluate_rows"] = rows;
        figures["evaluate_ms"] = clock.Elapsed.TotalMilliseconds;
        figures["evaluate_chunk"] = chunk;
        figures["evaluate_buffers_mib"] = executor.AllocatedElements * 4.0 / (1 << 20);
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        figures["peak_process_memory_mib"] = process.PeakWorkingSet64 / (double)(1 << 20);
    }

    // One gradient and one Hessian-vector product (after a fresh forward, as bench's hvp_ms) per op type and rule.
    private static void PrintProfile(OnePass.Training.Models.Model m, IBackend b, int rows)
    {
        var (inputs, targets) = DerivativeCheck.RandomBatch(m, rows, new Random(1));
        using var executor = new GraphExecutor(m, b);
        using var w = b.Allocate(m.ParameterCount);
        using var g = b.Allocate(m.ParameterCount);
        using var v = b.Allocate(m.ParameterCount);
        using var hv = b.Allocate(m.ParameterCount);
        b.Upload(m.InitialWeights(1), w);
        b.Upload(m.InitialWeights(2), v);
        executor.SetBatch(inputs, targets, rows);
        executor.Gradient(w, g);
        executor.HessianVectorProduct(v, hv);
        var inv = CultureInfo.InvariantCulture;
        foreach (var (name, pass) in new (string, Action)[]
        {
            ("gradient (forward + backward)", () => executor.Gradient(w, g)),
            ("Hessian-vector product (forward + backward + both tangent passes)", () =>
            {
                executor.Forward(w);
                executor.HessianVectorProduct(v, hv);
            }),
        })
        {
            var profile = new ExecutorProfile();
            executor.Profile = profile;
            const int repeats = 3;
            for (int i = 0; i < repeats; i++)
            {
                pass();
            }

            executor.Profile = null;
            double total = profile.Entries.Sum(e => e.Seconds);
            Console.Error.WriteLine($"profile of one {name}: {(1000 * total / repeats).ToString("F1", inv)} ms in op rules (mean of {repeats})");
            foreach (var (op, rule, secs, _) in profile.Entries.Take(12))
            {
                Console.Error.WriteLine($"  {op,-20} {rule,-17} {(1000 * secs / repeats).ToString("F1", inv),8} ms  {(100 * secs / total).ToString("F0", inv),3} %");
            }
        }
    }

    /// <summary>Warms up, then times <paramref name="action"/> repeatedly for about <paramref name="seconds"/>; median in ms.</summary>
    public static double Median(double seconds, Action action, IBackend backend)
    {
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < Math.Min(0.5, seconds / 4))
        {
            action();
        }

        backend.Synchronize();
        var samples = new List<double>();
        var total = Stopwatch.StartNew();
        while ((total.Elapsed.TotalSeconds < seconds || samples.Count < 5) && samples.Count < 100000)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            backend.Synchronize();
            samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        samples.Sort();
        return samples[samples.Count / 2];
    }
}
