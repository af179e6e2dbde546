using System.Diagnostics;
using System.Globalization;
using OnePass.Training.Training;

namespace OnePass.Cli.Tests;

/// <summary>Small synthetic inputs and background `onepass` processes for the reliability tests.</summary>
internal static class Fixtures
{
    /// <summary>A synthetic uci-energy folder (768 rows of 8 inputs and 1 target) under <paramref name="dir"/>.</summary>
    public static string EnergyData(string dir, int seed = 5)
    {
        string data = Path.Combine(dir, "energy");
        Directory.CreateDirectory(data);
        var random = new Random(seed);
        var inv = CultureInfo.InvariantCulture;
        File.WriteAllLines(Path.Combine(data, "data.txt"), Enumerable.Range(0, 768).Select(_ =>
            string.Join(" ", Enumerable.Range(0, 9).Select(_ => (random.NextDouble() * 10).ToString("F3", inv)))));
        File.WriteAllLines(Path.Combine(data, "permutation.txt"), Enumerable.Range(0, 768).Select(i => i.ToString(inv)));
        return data;
    }

    /// <summary>A uci-energy configuration file of <paramref name="steps"/> hyperparameter steps.</summary>
    public static string EnergyConfig(string dir, int steps, string extra = "")
    {
        string config = Path.Combine(dir, "c.yaml");
        File.WriteAllText(config, $"dataset: uci-energy\nbatch_size: 20\nhyperparameter_steps: {steps}\nnetwork_weight_steps: 5\nlog_every: 50\nmodel:\n  layer_sizes: [8, 4, 1]\n{extra}");
        return config;
    }

    /// <summary>Starts `onepass` without waiting for it (output redirected and drained).</summary>
    public static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "onepass.dll"));
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Runs `onepass` to the end with extra environment variables.</summary>
    public static OnePassProcess.Result RunWithEnvironment(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "onepass.dll"));
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"onepass {string.Join(' ', args)} did not finish");
        }

        return new OnePassProcess.Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Waits until a process holds <paramref name="runDir"/>; returns its id.</summary>
    public static int WaitForHolder(string runDir, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (RunFolderLock.IsHeld(runDir, out int? holder) && holder is { } pid)
            {
                return pid;
            }

            Thread.Sleep(100);
        }

        throw new TimeoutException($"no process took {runDir} within {timeout}");
    }

    /// <summary>True when process <paramref name="pid"/> ends within <paramref name="timeout"/>.</summary>
    public static bool Ends(int pid, TimeSpan timeout)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return p.WaitForExit(timeout);
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    /// <summary>Sends a signal by name (TERM, INT, KILL) with kill(1).</summary>
    public static void Signal(int pid, string name)
    {
        using var kill = Process.Start("kill", ["-" + name, pid.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    /// <summary>Asserts the reliability contract for an error: non-zero, never 70, one line on stderr, no stack trace.</summary>
    public static void AssertOneLineError(OnePassProcess.Result r, string? expected = null)
    {
        Assert.True(r.ExitCode is not (0 or 70), $"exit {r.ExitCode}: {r.StdErr}");
        string stderr = r.StdErr.Trim();
        Assert.DoesNotContain("\n", stderr);
        Assert.DoesNotContain("   at ", stderr);
        if (expected is not null)
        {
            Assert.Contains(expected, stderr);
        }
    }
}
