namespace OnePass.Cli.Tests;

/// <summary>Issue 12 items 1 and 10: one writer per run folder; a killed run leaves no stale lock or temporary files.</summary>
public sealed class RunFolderLockTests
{
    [Fact]
    public void SecondWriterToARunFolderExitsNamingTheFolderAndTheHolder()
    {
        string dir = OnePassProcess.TempDir();
        string data = Fixtures.EnergyData(dir);
        string config = Fixtures.EnergyConfig(dir, 1_000_000);
        string run = Path.Combine(dir, "run");
        using var first = Fixtures.Start("train", "--config", config, "--data-dir", data, "--out", run, "--backend", "cpu");
        try
        {
            int holder = Fixtures.WaitForHolder(run, TimeSpan.FromSeconds(60));
            Assert.Equal(first.Id, holder);
            var second = OnePassProcess.Run("train", "--config", config, "--data-dir", data, "--out", run, "--backend", "cpu");
            Assert.Equal(75, second.ExitCode);
            Fixtures.AssertOneLineError(second, $"process {first.Id}");
            Assert.Contains(run, second.StdErr);
        }
        finally
        {
            first.Kill();
            first.WaitForExit();
        }

        // kill -9 released the lock, and the next run in the folder removes what the killed one left half-written.
        File.WriteAllText(Path.Combine(run, "model.ckpt.tmp-999999"), "partial");
        string shortConfig = Fixtures.EnergyConfig(dir, 2);
        var third = OnePassProcess.Run("train", "--config", shortConfig, "--data-dir", data, "--out", run, "--backend", "cpu");
        Assert.True(third.ExitCode == 0, third.StdErr);
        Assert.Empty(Directory.GetFiles(run, "*.tmp-*"));
    }

    [Fact]
    public void OutputPathThatIsAFileIsOneLineError()
    {
        string dir = OnePassProcess.TempDir();
        string data = Fixtures.EnergyData(dir);
        string file = Path.Combine(dir, "not-a-folder");
        File.WriteAllText(file, "x");
        var r = OnePassProcess.Run("train", "--config", Fixtures.EnergyConfig(dir, 2), "--data-dir", data, "--out", file, "--backend", "cpu");
        Fixtures.AssertOneLineError(r, "is a file, not a folder");
    }
}
