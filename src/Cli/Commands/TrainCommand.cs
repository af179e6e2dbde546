using System.CommandLine;
using System.Globalization;
using OnePass.Training.Configuration;
using OnePass.Training.Optimisation;
using OnePass.Training.Training;
using Spectre.Console;

namespace OnePass.Cli.Commands;

/// <summary>`onepass train`: one training run with hyperparameters tuned as it goes.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "YAML configuration file (see configs/)", Required = true };
        var set = new Option<string[]>("--set") { Description = "Override a configuration key: --set key=value (repeatable; nested keys dotted, e.g. model.layer_sizes=[8,50,1])", AllowMultipleArgumentsPerToken = false };
        var dataDir = CommonOptions.DataDir();
        var outDir = new Option<string?>("--out") { Description = "Output folder for metrics.csv, summary.json, model.ckpt (default runs/<dataset>-<algorithm>-<seed>)" };
        var seed = new Option<int?>("--seed") { Description = "Seed (overrides the configuration's)" };
        var backend = CommonOptions.Backend();
        var command = new Command("train", "Train a model, tuning its weight-update hyperparameters in the same run") { config, set, dataDir, outDir, seed, backend };
        command.SetAction(parse => CliAction.Run(token =>
        {
            var cfg = TrainingConfig.Load(parse.GetValue(config)!, parse.GetValue(set) ?? []);
            if (parse.GetValue(seed) is { } s)
            {
                cfg.Seed = s;
            }

            string output = parse.GetValue(outDir) ?? Path.Combine("runs", $"{cfg.DataSet.Replace(':', '-')}-{cfg.Algorithm}-{cfg.Seed}");
            var summary = Run(cfg, parse.GetValue(dataDir), output, parse.GetValue(backend)!, token);
            return summary.Diverged ? 3 : 0;
        }));
        return command;
    }

    /// <summary>Loads the data, trains with a live progress bar, prints the outcome.</summary>
    public static TrainingSummary Run(TrainingConfig cfg, string? dataDir, string output, string backendChoice, CancellationToken token)
    {
        // One writer per run folder, for the whole run (released by the OS however this process ends).
        using var folderLock = RunFolderLock.Acquire(output);
        var data = DataSetLoader.Load(cfg, dataDir);
        Console.WriteLine($"data: {cfg.DataSet} from {data.Folder}");
        if (cfg.BatchSize > data.Train.Count)
        {
            Console.Error.WriteLine($"onepass: warning: batch_size {cfg.BatchSize} is larger than the {data.Train.Count}-row training split; using {data.Train.Count} (full batch)");
        }
        using var backend = CommonOptions.CreateBackend(backendChoice);
        using var optimiser = HyperOptimiserFactory.Create(cfg);
        var trainer = new Trainer(cfg, data, backend, output);
        var err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        err.MarkupLine($"[bold]onepass train[/]: {Markup.Escape(data.Name)} ({data.Train.Count}/{data.Validation.Count}/{data.Test.Count} train/val/test), " +
            $"{Markup.Escape(cfg.Algorithm)}, {Markup.Escape(backend.Description)}, {cfg.HyperparameterSteps}×{cfg.NetworkWeightSteps} steps -> {Markup.Escape(output)}");
        TrainingSummary? summary = null;
        bool interactive = !Console.IsErrorRedirected;
        // The hyperparameters' path as it goes: a line (losses and hyperparameters) every twentieth of the run, kept
        // above the live progress bar on a terminal, and the only progress output when standard error is redirected.
        long lastPrinted = -1;
        int every = Math.Max(1, cfg.HyperparameterSteps / 20);
        string? PeriodicLine(TrainingProgress p)
        {
            long hyperStep = p.WeightStep / cfg.NetworkWeightSteps;
            if (hyperStep % every != 0 || hyperStep == lastPrinted)
            {
                return null;
            }

            lastPrinted = hyperStep;
            return $"  step {p.WeightStep}/{p.TotalWeightSteps}  {Describe(p)}";
        }

        if (interactive)
        {
            err.Progress().AutoClear(false).HideCompleted(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("training", maxValue: (double)cfg.HyperparameterSteps * cfg.NetworkWeightSteps);
                    summary = trainer.Run(optimiser, new SynchronousProgress<TrainingProgress>(p =>
                    {
                        task.Value = p.WeightStep;
                        // The live line keeps to the losses so that it fits a terminal; the hyperparameters are in the lines above it.
                        task.Description = Markup.Escape(Describe(p, withHyperparameters: false));
                        if (PeriodicLine(p) is { } line)
                        {
                            err.WriteLine(line);
                        }
                    }), token);
                });
        }
        else
        {
            summary = trainer.Run(optimiser, new SynchronousProgress<TrainingProgress>(p =>
            {
                if (PeriodicLine(p) is { } line)
                {
                    Console.Error.WriteLine(line);
                }
            }), token);
        }

        Report(summary!, output);
        return summary!;
    }

    private static string Describe(TrainingProgress p, bool withHyperparameters = true)
    {
        var inv = CultureInfo.InvariantCulture;
        string val = p.ValidationLoss is { } v ? v.ToString("F4", inv) : "-";
        string test = p.TestLoss is { } t ? t.ToString("F4", inv) : "-";
        string losses = $"train {p.TrainingLoss.ToString("F4", inv)} val {val} test {test}";
        return withHyperparameters ? $"{losses} | {p.Hyperparameters}" : losses;
    }

    /// <summary>
    /// "hyperparameters (initial → final): lr 0.03162 → 0.0451, weight_decay 1e-05 → 1.3e-05, momentum 0.5 → 0.62":
    /// each hyperparameter in natural space at the start and the end of the run (per-weight ones by their summary
    /// statistics, lr.mean, lr.median, …).
    /// </summary>
    internal static string HyperparameterPath(TrainingSummary s)
    {
        var inv = CultureInfo.InvariantCulture;
        var parts = s.Hyperparameters.Select(kv =>
            $"{kv.Key} {(s.InitialHyperparameters.TryGetValue(kv.Key, out double initial) ? initial.ToString("G4", inv) : "?")} → {kv.Value.ToString("G4", inv)}");
        return $"hyperparameters (initial → final, {s.Algorithm}): {string.Join(", ", parts)}";
    }

    private static void Report(TrainingSummary s, string output)
    {
        var inv = CultureInfo.InvariantCulture;
        if (s.Diverged)
        {
            Console.Error.WriteLine($"onepass: run stopped: {s.Message}");
        }

        Console.WriteLine($"initial test loss {s.Initial.TestLoss.ToString("F4", inv)}" + (s.Initial.TestAccuracy is { } ia ? $", test accuracy {ia.ToString("P2", inv)}" : ""));
        Console.WriteLine($"final   test loss {s.Final.TestLoss.ToString("F4", inv)}" + (s.Final.TestAccuracy is { } fa ? $", test accuracy {fa.ToString("P2", inv)}" : ""));
        Console.WriteLine(HyperparameterPath(s));
        Console.WriteLine($"{s.WeightSteps} weight steps in {s.WallSeconds.ToString("F1", inv)} s ({s.TrainSeconds.ToString("F1", inv)} s training); results in {output}");
    }
}
