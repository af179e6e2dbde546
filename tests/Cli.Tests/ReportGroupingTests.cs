namespace OnePass.Cli.Tests;

/// <summary>Issue 12 item 7: `report` keeps data sets apart, names differing settings, and names a broken summary.json.</summary>
public sealed class ReportGroupingTests
{
    private static void Summary(string dir, string dataSet, string algorithm, string name, double loss, string? config = null)
    {
        string run = Path.Combine(dir, dataSet, algorithm, name);
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "summary.json"), "{\"dataset\": \"" + dataSet + "\", \"algorithm\": \"" + algorithm
            + "\", \"wall_seconds\": 1.0, \"diverged\": false, \"final\": {\"test_loss\": " + loss.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}}");
        if (config is not null)
        {
            File.WriteAllText(Path.Combine(run, "config.yaml"), config);
        }
    }

    [Fact]
    public void DataSetsGetTheirOwnTablesAndDifferingSettingsAreNamed()
    {
        string dir = OnePassProcess.TempDir();
        Summary(dir, "uci-energy", "random", "init-0", 0.5, "dataset: uci-energy\nlr: -2\nhyperparameter_steps: 150\n");
        Summary(dir, "uci-energy", "random", "init-1", 0.7, "dataset: uci-energy\nlr: -3\nhyperparameter_steps: 400\n");
        Summary(dir, "fashion-mnist", "random", "init-0", 0.3);
        var r = OnePassProcess.Run("report", dir);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("## uci-energy", r.StdOut);
        Assert.Contains("## fashion-mnist", r.StdOut);
        Assert.Contains("| random | 2 | 0 | 0.6000 |", r.StdOut);
        Assert.Contains("| random | 1 | 0 | 0.3000 |", r.StdOut);
        Assert.Contains("differ in more than the initial hyperparameters: hyperparameter_steps (150, 400)", r.StdOut);
        Assert.DoesNotContain("lr (", r.StdOut);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(dir, "report.csv")).Length);
    }

    [Fact]
    public void TruncatedSummaryIsNamedAndSkippedOrFatalWithStrict()
    {
        string dir = OnePassProcess.TempDir();
        Summary(dir, "uci-energy", "random", "init-0", 0.5);
        string broken = Path.Combine(dir, "uci-energy", "random", "init-1", "summary.json");
        Directory.CreateDirectory(Path.GetDirectoryName(broken)!);
        File.WriteAllText(broken, "{\"dataset\": \"uci-energy\", \"algorithm\": \"ran");
        var lenient = OnePassProcess.Run("report", dir);
        Assert.Equal(0, lenient.ExitCode);
        Assert.Contains($"warning: skipping {broken}", lenient.StdErr);
        Assert.Contains("| random | 1 | 0 | 0.5000 |", lenient.StdOut);

        var strict = OnePassProcess.Run("report", dir, "--strict");
        Fixtures.AssertOneLineError(strict, broken);
        Assert.Equal(1, strict.ExitCode);
    }

    [Fact]
    public void LanguageModelTablesGiveTheMedianTestPerplexity()
    {
        string dir = OnePassProcess.TempDir();
        foreach (var (name, loss) in new[] { ("init-0", 5.0), ("init-1", 6.0), ("init-2", 7.0) })
        {
            string run = Path.Combine(dir, "ours-wd-lr-m", name);
            Directory.CreateDirectory(run);
            File.WriteAllText(Path.Combine(run, "summary.json"), "{\"dataset\": \"text:tiny\", \"algorithm\": \"ours-wd-lr-m\", \"wall_seconds\": 1.0, \"diverged\": false, "
                + "\"initial\": {\"test_loss\": 9.0, \"test_perplexity\": 8103.08}, \"final\": {\"test_loss\": " + loss.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}}");
        }

        Summary(dir, "uci-energy", "random", "init-0", 0.5);
        var r = OnePassProcess.Run("report", dir);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("| ours-wd-lr-m | 3 | 0 | 6.0000 | [5.5000, 6.5000] | 403.4 |", r.StdOut); // exp(6) = 403.43
        Assert.DoesNotContain("perplexity |\n|---|---|---|---|---|---|---|\n| random", r.StdOut.ReplaceLineEndings("\n"));
        Assert.Contains("| random | 1 | 0 | 0.5000 | [0.5000, 0.5000] | - |", r.StdOut);
    }
}
