using System.Diagnostics;

namespace OnePass.Cli.Tests;

/// <summary>Runs the built `onepass` (onepass.dll beside the test assembly) as a child process.</summary>
internal static class OnePassProcess
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    public static Result Run(params string[] args) => Run(TimeSpan.FromMinutes(3), args);

    public static Result Run(TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "onepass.dll"));
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"onepass {string.Join(' ', args)} did not finish within {timeout}");
        }

        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "onepass-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
