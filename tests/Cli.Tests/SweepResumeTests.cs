using System.Text.Json;

namespace OnePass.Cli.Tests;

/// <summary>Issue 12 item 3: a finished run counts only when its recorded configuration is the one it would run now.</summary>
public sealed class SweepResumeTests
{
    [Fact]
    public void ChangedConfigurationIsAnErrorNamingRunAndKeysUnlessForced()
    {
        string dir = OnePassProcess.TempDir();
        string data = Fixtures.EnergyData(dir);
        string config = Fixtures.EnergyConfig(dir, 2);
        string sweep = Path.Combine(dir, "sweep");
        string[] common = ["sweep", "--config", config, "--algorithms", "random", "--inits", "1", "--parallel", "1", "--out", sweep, "--data-dir", data];
        var first = OnePassProcess.Run(common);
        Assert.True(first.ExitCode == 0, first.StdOut + first.StdErr);

        var same = OnePassProcess.Run(common);
        Assert.True(same.ExitCode == 0, same.StdOut + same.StdErr);
        Assert.Contains("1 already finished", same.StdOut);

        var changed = OnePassProcess.Run([.. common, "--set", "hyperparameter_steps=3"]);
        Fixtures.AssertOneLineError(changed, "hyperparameter_steps 2 -> 3");
        Assert.Equal(1, changed.ExitCode);
        Assert.Contains(Path.Combine(sweep, "random", "init-0"), changed.StdErr);
        Assert.Contains("--force", changed.StdErr);

        var forced = OnePassProcess.Run([.. common, "--set", "hyperparameter_steps=3", "--force"]);
        Assert.True(forced.ExitCode == 0, forced.StdOut + forced.StdErr);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(sweep, "random", "init-0", "summary.json")));
        Assert.Equal(3, summary.RootElement.GetProperty("hyperparameter_steps").GetInt32());
    }
}
