using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using OnePass.Training.Configuration;
using OnePass.Training.Training;

namespace OnePass.Cli.Commands;

/// <summary>
/// `onepass sweep`: N random initial hyperparameter sets from the paper's ranges, every algorithm from each,
/// run as `onepass train` child processes (P at once). Finished runs (summary.json present) are skipped, so a
/// killed sweep resumes; `--shard i/n` runs every n-th run for array jobs across machines.
/// </summary>
internal static class SweepCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "Base YAML configuration", Required = true };
        var algorithms = new Option<string>("--algorithms") { Description = "Comma-separated algorithms", Required = true };
        var inits = new Option<int>("--inits") { Description = "Number of random initialisations", DefaultValueFactory = _ => 20 };
        var seed = new Option<int>("--seed") { Description = "Seed for drawing the initialisations", DefaultValueFactory = _ => 0 };
        var parallel = new Option<int>("--parallel") { Description = "Runs at once (default: the number of cores)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var shard = new Option<string?>("--shard") { Description = "i/n: run only runs whose index modulo n is i (n such shards, e.g. a SLURM array or Kubernetes Indexed Job as in deploy/, share the sweep into one --out folder)" };
        var outDir = new Option<string>("--out") { Description = "Sweep folder (DIR/<algorithm>/init-<k>/)", Required = true };
        var set = new Option<string[]>("--set") { Description = "Configuration override passed to every run (repeatable)" };
        var dataDir = CommonOptions.DataDir();
        var force = new Option<bool>("--force") { Description = "Rerun finished runs whose recorded configuration differs from the one they would run now" };
        var command = new Command("sweep", "Run several algorithms from the same random initial hyperparameters") { config, algorithms, inits, seed, parallel, shard, outDir, set, dataDir, force };
        command.SetAction(parse => CliAction.Run(token =>
        {
            string configPath = parse.GetValue(config)!;
            var overrides = parse.GetValue(set) ?? [];
            var baseConfig = TrainingConfig.Load(configPath, overrides);
            string[] algs = parse.GetValue(algorithms)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            foreach (string a in algs)
            {
                var probe = baseConfig.Clone();
                probe.Algorithm = a;
                probe.Validate();
            }

            int n = parse.GetValue(inits);
            int p = parse.GetValue(parallel);
            if (n < 1 || p < 1)
            {
                throw new UserInputException("--inits and --parallel must be positive");
            }

            var (shardIndex, shardCount) = ParseShard(parse.GetValue(shard));
            var inv = CultureInfo.InvariantCulture;
            var random = new Random(parse.GetValue(seed));
            var initialisations = Enumerable.Range(0, n).Select(_ =>
            {
                double lr = -6 + (5 * random.NextDouble()), wd = -7 + (5 * random.NextDouble());
                double mu = Math.Clamp(random.NextDouble(), 1e-6, 1 - 1e-6);
                return (Lr: lr, Wd: wd, Momentum: Math.Log(mu / (1 - mu)));
            }).ToArray();
            string root = parse.GetValue(outDir)!;
            var runs = new List<(string Algorithm, int Init, string Dir)>();
            int index = 0;
            for (int k = 0; k < n; k++)
            {
                foreach (string a in algs)
                {
                    if (index++ % shardCount == shardIndex)
                    {
                        runs.Add((a, k, Path.Combine(root, a, $"init-{k}")));
                    }
                }
            }

            // The settings each run's `train` child gets, in the order it applies them.
            List<string> SetsFor((string Algorithm, int Init, string Dir) run)
            {
                var init = initialisations[run.Init];
                var sets = new List<string>
                {
                    $"algorithm={run.Algorithm}", $"lr={init.Lr.ToString("R", inv)}",
                    $"weight_decay={init.Wd.ToString("R", inv)}", $"momentum={init.Momentum.ToString("R", inv)}",
                };
                sets.AddRange(overrides);
                return sets;
            }

            // A finished run counts only when it ran the configuration it would run now.
            var unfinished = new List<(string Algorithm, int Init, string Dir)>();
            var stale = new List<string>();
            foreach (var run in runs)
            {
                var expected = TrainingConfig.Load(configPath, SetsFor(run));
                expected.Seed = run.Init;
                switch (SweepResume.Inspect(run.Dir, expected, out string differences))
                {
                    case SweepResume.State.Unfinished:
                        unfinished.Add(run);
                        break;
                    case SweepResume.State.Stale when parse.GetValue(force):
                        File.Delete(Path.Combine(run.Dir, "summary.json"));
                        Console.WriteLine($"sweep: rerunning {run.Dir} (--force): {differences}");
                        unfinished.Add(run);
                        break;
                    case SweepResume.State.Stale:
                        stale.Add($"{run.Dir} ({differences})");
                        break;
                }
            }

            if (stale.Count > 0)
            {
                throw new UserInputException($"{stale.Count} finished run(s) were run with another configuration: {stale[0]}"
                    + (stale.Count > 1 ? $" and {stale.Count - 1} more" : "") + "; rerun them with --force, or choose another --out");
            }

            var pending = new List<(string Algorithm, int Init, string Dir)>();
            int held = 0;
            foreach (var run in unfinished)
            {
                // A run another process still writes (another sweep, or a child of a killed one that has not ended yet) is left to it.
                if (RunFolderLock.IsHeld(run.Dir, out int? holder))
                {
                    held++;
                    Console.WriteLine($"sweep: skipping {run.Algorithm} init-{run.Init}: {run.Dir} is in use by {(holder is { } h ? $"process {h}" : "another process")}");
                    continue;
                }

                pending.Add(run);
            }

            Console.WriteLine($"sweep: {runs.Count} runs in this shard, {runs.Count - unfinished.Count} already finished, {pending.Count} to run, {p} at once"
                + (held > 0 ? $", {held} in use by other processes" : ""));
            int done = 0, failed = 0;
            Parallel.ForEach(pending, new ParallelOptions { MaxDegreeOfParallelism = p, CancellationToken = token }, run =>
            {
                var args = new List<string> { "train", "--config", configPath, "--out", run.Dir, "--seed", run.Init.ToString(inv), "--backend", "cpu" };
                foreach (string o in SetsFor(run))
                {
                    args.AddRange(["--set", o]);
                }

                if (parse.GetValue(dataDir) is { } d)
                {
                    args.AddRange(["--data-dir", d]);
                }

                Directory.CreateDirectory(run.Dir);
                var clock = Stopwatch.StartNew();
                int exit = RunChild(args, Path.Combine(run.Dir, "log.txt"), token);
                int finished = Interlocked.Increment(ref done);
                if (exit == 75)
                {
                    Interlocked.Increment(ref held);
                }
                else if (exit is not (0 or 3))
                {
                    Interlocked.Increment(ref failed);
                }

                Console.WriteLine($"[{finished}/{pending.Count}] {run.Algorithm} init-{run.Init}: exit {exit} in {clock.Elapsed.TotalSeconds:F1} s");
            });
            token.ThrowIfCancellationRequested();
            Console.WriteLine($"sweep finished: {done} runs, {failed} failed (see their log.txt)"
                + (held > 0 ? $", {held} skipped because another process holds them" : "") + $"; summarise with `onepass report {root}`");
            return failed == 0 ? 0 : 1;
        }));
        return command;
    }

    private static (int Index, int Count) ParseShard(string? text)
    {
        if (text is null)
        {
            return (0, 1);
        }

        string[] parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], out int i) && int.TryParse(parts[1], out int n) && n > 0 && i >= 0 && i < n)
        {
            return (i, n);
        }

        throw new UserInputException($"--shard '{text}': expected i/n with 0 <= i < n");
    }

    // Runs `onepass` again as a child process (apphost, or `dotnet onepass.dll` when started that way).
    private static int RunChild(List<string> args, string logPath, CancellationToken token)
    {
        string process = Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo(process) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            info.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }

        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        ProcessLifetime.Adopt(info);
        using var child = Process.Start(info)!;
        var stdout = child.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = child.StandardError.ReadToEndAsync(CancellationToken.None);
        ProcessLifetime.WaitForExit(child, token);
        if (child.ExitCode != 75)
        {
            // 75: another process holds the run folder; its log is that process's to write.
            AtomicFile.WriteAllText(logPath, stdout.Result + stderr.Result);
        }

        token.ThrowIfCancellationRequested();
        return child.ExitCode;
    }
}
