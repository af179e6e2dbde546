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
                        task.Description = Markup.Escape(Describe(p));
                    }), token);
                });
        }
        else
        {
            long lastPrinted = -1;
            int every = Math.Max(1, cfg.HyperparameterSteps / 20);
            summary = trainer.Run(optimiser, new SynchronousProgress<TrainingProgress>(p =>
            {
                long hyperStep = p.WeightStep / cfg.NetworkWeightSteps;
                if (hyperStep % every == 0 && hyperStep != lastPrinted)
                {
                    lastPrinted = hyperStep;
                    Console.Error.WriteLine($"  step {p.WeightStep}/{p.TotalWeightSteps}  {Describe(p)}");
                }
            }), token);
        }

        Report(summary!, output);
        return summary!;
    }

    private static string Describe(TrainingProgress p)
    {
        var inv = CultureInfo.InvariantCulture;
        string val = p.ValidationLoss is { } v ? v.ToString("F4", inv) : "-";
        string test = p.TestLoss is { } t ? t.ToString("F4", inv) : "-";
        return $"train {p.TrainingLoss.ToString("F4", inv)} val {val} test {test} | {p.Hyperparameters}";
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
        Console.WriteLine($"hyperparameters {string.Join(", ", s.Hyperparameters.Select(kv => $"{kv.Key}={kv.Value.ToString("G4", inv)}"))}");
        Console.WriteLine($"{s.WeightSteps} weight steps in {s.WallSeconds.ToString("F1", inv)} s ({s.TrainSeconds.ToString("F1", inv)} s training); results in {output}");
    }
}
