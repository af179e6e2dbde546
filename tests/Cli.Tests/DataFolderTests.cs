using System.Text.Json;

namespace OnePass.Cli.Tests;

/// <summary>Issue 12 item 5: an explicit data folder that lacks the data is an error, never a silent fallback.</summary>
public sealed class DataFolderTests
{
    [Fact]
    public void DataDirLackingTheDataIsAnErrorEvenWhenAnotherCopyExists()
    {
        string dir = OnePassProcess.TempDir();
        string data = Fixtures.EnergyData(dir);
        string config = Fixtures.EnergyConfig(dir, 2);
        string misspelt = Path.Combine(dir, "enrgy");
        var env = new Dictionary<string, string> { ["ONEPASS_DATA"] = data };
        var r = Fixtures.RunWithEnvironment(env, "train", "--config", config, "--data-dir", misspelt, "--out", Path.Combine(dir, "run"), "--backend", "cpu");
        Fixtures.AssertOneLineError(r, $"--data-dir '{misspelt}' does not hold uci-energy: the folder does not exist");
        Assert.Equal(1, r.ExitCode);

        string empty = Path.Combine(dir, "empty");
        Directory.CreateDirectory(empty);
        var e = Fixtures.RunWithEnvironment(new Dictionary<string, string> { ["ONEPASS_DATA"] = empty },
            "train", "--config", config, "--out", Path.Combine(dir, "run"), "--backend", "cpu");
        Fixtures.AssertOneLineError(e, $"ONEPASS_DATA={empty} does not hold uci-energy: no data.txt");
    }

    [Fact]
    public void TheFolderUsedIsPrintedOnceAndRecorded()
    {
        string dir = OnePassProcess.TempDir();
        string data = Fixtures.EnergyData(dir);
        string run = Path.Combine(dir, "run");
        var r = OnePassProcess.Run("train", "--config", Fixtures.EnergyConfig(dir, 2), "--data-dir", data, "--out", run, "--backend", "cpu");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Single(r.StdOut.Split('\n'), l => l.StartsWith("data: uci-energy from " + data, StringComparison.Ordinal));
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        Assert.Equal(data, summary.RootElement.GetProperty("data_folder").GetString());
    }
}
