namespace OnePass.Cli.Tests;

/// <summary>`onepass sweep` runs every algorithm from the same initialisations, resumes, shards; `report` summarises.</summary>
public sealed class SweepCliTests
{
    [Fact]
    public void SweepResumesShardsAndReports()
    {
        string dir = OnePassProcess.TempDir();
        string data = Path.Combine(dir, "energy");
        Directory.CreateDirectory(data);
        var random = new Random(5);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        File.WriteAllLines(Path.Combine(data, "data.txt"), Enumerable.Range(0, 768).Select(_ =>
            string.Join(" ", Enumerable.Range(0, 9).Select(_ => (random.NextDouble() * 10).ToString("F3", inv)))));
        File.WriteAllLines(Path.Combine(data, "permutation.txt"), Enumerable.Range(0, 768).Select(i => i.ToString(inv)));
        string config = Path.Combine(dir, "c.yaml");
        File.WriteAllText(config, "dataset: uci-energy\nbatch_size: 0\nhyperparameter_steps: 2\nnetwork_weight_steps: 5\nmodel:\n  layer_sizes: [8, 4, 1]\n");
        string sweep = Path.Combine(dir, "sweep");
        string[] common = ["sweep", "--config", config, "--algorithms", "random,ours-wd-lr-m", "--inits", "2", "--parallel", "2", "--out", sweep, "--data-dir", data];

        var shard0 = OnePassProcess.Run([.. common, "--shard", "0/2"]);
        Assert.True(shard0.ExitCode == 0, shard0.StdOut + shard0.StdErr);
        Assert.Contains("2 runs in this shard, 0 already finished", shard0.StdOut);
        var all = OnePassProcess.Run(common);
        Assert.True(all.ExitCode == 0, all.StdOut + all.StdErr);
        Assert.Contains("4 runs in this shard, 2 already finished, 2 to run", all.StdOut);
        foreach (string a in new[] { "random", "ours-wd-lr-m" })
        {
            for (int k = 0; k < 2; k++)
            {
                Assert.True(File.Exists(Path.Combine(sweep, a, $"init-{k}", "summary.json")), $"{a} init-{k}");
            }
        }

        // Both algorithms started from the same initial hyperparameters.
        string Init(string a) => File.ReadAllText(Path.Combine(sweep, a, "init-1", "config.yaml")).Split('\n').First(l => l.StartsWith("lr:", StringComparison.Ordinal));
        Assert.Equal(Init("random"), Init("ours-wd-lr-m"));
        Assert.True(File.Exists(Path.Combine(sweep, "random", "init-0", "losses.png")), "run plots missing");
        Assert.True(File.Exists(Path.Combine(sweep, "random", "init-0", "hyperparameters.png")), "hyperparameter plot missing");

        var report = OnePassProcess.Run("report", sweep);
        Assert.True(report.ExitCode == 0, report.StdErr);
        Assert.Contains("| ours-wd-lr-m | 2 |", report.StdOut);
        Assert.Contains("| random | 2 |", report.StdOut);
        Assert.True(File.Exists(Path.Combine(sweep, "report.csv")));
        Assert.True(File.Exists(Path.Combine(sweep, "report.png")), "box plot missing");
        Assert.Equal(3, File.ReadAllLines(Path.Combine(sweep, "report.csv")).Length);
    }

    [Fact]
    public void ReportRanksDivergedRunsWorstInsteadOfDroppingThem()
    {
        string dir = OnePassProcess.TempDir();
        void Run(string algorithm, string name, string loss, string accuracy, bool diverged)
        {
            string run = Path.Combine(dir, algorithm, name);
            Directory.CreateDirectory(run);
            File.WriteAllText(Path.Combine(run, "summary.json"),
                "{\"algorithm\": \"" + algorithm + "\", \"wall_seconds\": 1.5, \"diverged\": " + (diverged ? "true" : "false")
                + ", \"final\": {\"test_loss\": " + loss + ", \"test_accuracy\": " + accuracy + "}}");
        }

        Run("a", "init-0", "0.5", "0.8", false);
        Run("a", "init-1", "0.3", "0.9", false);
        Run("a", "init-2", "\"NaN\"", "null", true);
        Run("b", "init-0", "0.7", "0.6", false);
        var r = OnePassProcess.Run("report", dir);
        Assert.True(r.ExitCode == 0, r.StdErr);
        // a: losses {0.3, 0.5, ∞} → median 0.5, quartiles 0.4 and ∞; accuracies {0, 0.8, 0.9} → median 80 %.
        Assert.Contains("| a | 3 | 1 | 0.5000 | [0.4000, ∞] | 80.00 % | 1.50 |", r.StdOut);
        Assert.Contains("| b | 1 | 0 | 0.7000 | [0.7000, 0.7000] | 60.00 % | 1.50 |", r.StdOut);
        Assert.Contains("Diverged runs rank worst", r.StdOut);
    }
}
