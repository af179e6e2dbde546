namespace OnePass.Cli.Tests;

/// <summary>Issue 12 item 2: a sweep's `train` children end with it, and SIGTERM ends a sweep cleanly.</summary>
public sealed class SweepLifetimeTests
{
    private static (System.Diagnostics.Process Sweep, int[] Children) StartLongSweep(string dir)
    {
        string data = Fixtures.EnergyData(dir);
        string config = Fixtures.EnergyConfig(dir, 1_000_000);
        string sweep = Path.Combine(dir, "sweep");
        var process = Fixtures.Start("sweep", "--config", config, "--algorithms", "random,ours-wd-lr-m", "--inits", "1", "--parallel", "2",
            "--out", sweep, "--data-dir", data);
        int[] children = new[] { "random", "ours-wd-lr-m" }.Select(a => Fixtures.WaitForHolder(Path.Combine(sweep, a, "init-0"), TimeSpan.FromSeconds(90))).ToArray();
        return (process, children);
    }

    [Fact]
    public void ChildrenDieWhenTheSweepIsKilled()
    {
        var (sweep, children) = StartLongSweep(OnePassProcess.TempDir());
        using (sweep)
        {
            sweep.Kill(); // SIGKILL to the sweep alone, as `kill -9` would
            sweep.WaitForExit();
            foreach (int child in children)
            {
                bool ended = Fixtures.Ends(child, TimeSpan.FromSeconds(20));
                if (!ended)
                {
                    Fixtures.Signal(child, "KILL");
                }

                Assert.True(ended, $"train child {child} outlived the killed sweep");
            }
        }
    }

    [Fact]
    public void SigtermEndsTheSweepAndItsChildrenWithExit143()
    {
        var (sweep, children) = StartLongSweep(OnePassProcess.TempDir());
        using (sweep)
        {
            var stderr = new System.Text.StringBuilder();
            sweep.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (stderr)
                    {
                        stderr.AppendLine(e.Data);
                    }
                }
            };
            Fixtures.Signal(sweep.Id, "TERM");
            bool exited = sweep.WaitForExit(TimeSpan.FromSeconds(30));
            if (!exited)
            {
                sweep.Kill(entireProcessTree: true);
            }

            Assert.True(exited, "sweep did not end after SIGTERM");
            sweep.WaitForExit();
            Assert.Equal(143, sweep.ExitCode);
            lock (stderr)
            {
                Assert.Equal("onepass: terminated (SIGTERM)", stderr.ToString().Trim());
            }

            foreach (int child in children)
            {
                Assert.True(Fixtures.Ends(child, TimeSpan.FromSeconds(5)), $"train child {child} outlived the sweep");
            }
        }
    }
}
