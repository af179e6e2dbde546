using System.Diagnostics;

namespace OnePass.Training.Data;

/// <summary>
/// Installs a Debian package with apt-get when the machine allows it: apt-get on the PATH and either root or
/// password-less sudo. Used by <c>onepass data --install</c> (the build's Data target) to install
/// <c>dataset-fashion-mnist</c> before Fashion-MNIST is downloaded. The process runner is injectable for tests.
/// </summary>
public sealed class DebianPackageInstaller
{
    /// <summary>The Debian package holding the four Fashion-MNIST IDX files.</summary>
    public const string FashionMnistPackage = "dataset-fashion-mnist";

    /// <summary>
    /// Runs a program with arguments and returns its exit code, or null when it cannot be started
    /// (default: a child process whose output goes to this process's stderr).
    /// </summary>
    public Func<string, IReadOnlyList<string>, int?> RunProcess { get; init; } = Run;

    /// <summary>Finds a program on the PATH (default: the process's PATH); null when absent.</summary>
    public Func<string, string?> FindProgram { get; init; } = FindOnPath;

    /// <summary>Where progress lines go (default: stderr, prefixed "onepass: ").</summary>
    public Action<string> Say { get; init; } = line => Console.Error.WriteLine($"onepass: {line}");

    /// <summary>
    /// Installs <paramref name="package"/>. Returns null when it was installed, otherwise why it was not
    /// (no apt-get, neither root nor password-less sudo, or apt-get failing). Says what it does before it does it.
    /// </summary>
    public string? TryInstall(string package)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(package);
        if (FindProgram("apt-get") is null)
        {
            return "apt-get is not available";
        }

        string[] prefix;
        if (RunCapture("id", ["-u"]) == "0")
        {
            prefix = [];
        }
        else if (FindProgram("sudo") is not null && RunProcess("sudo", ["-n", "true"]) == 0)
        {
            prefix = ["sudo", "-n"];
        }
        else
        {
            return "not root, and sudo needs a password (or is absent)";
        }

        string how = prefix.Length == 0 ? "apt-get" : "sudo apt-get";
        Say($"Fashion-MNIST not found: installing Debian's package {package} ({how} update, then {how} install -y {package})");
        int? update = Apt(prefix, ["update", "-qq"]);
        if (update != 0)
        {
            return $"{how} update failed (exit code {update?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"})";
        }

        int? install = Apt(prefix, ["install", "-y", "-qq", package]);
        if (install != 0)
        {
            return $"{how} install {package} failed (exit code {install?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"})";
        }

        Say($"installed {package}");
        return null;
    }

    private int? Apt(string[] prefix, string[] arguments)
    {
        // DEBIAN_FRONTEND through env, so that it survives sudo's environment reset.
        string[] command = [.. prefix, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", .. arguments];
        return RunProcess(command[0], command[1..]);
    }

    // The first line of a program's output when it exits 0 (through RunProcess, so tests can substitute it).
    private string? RunCapture(string program, string[] arguments)
    {
        if (RunProcess == Run)
        {
            try
            {
                var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, UseShellExecute = false };
                foreach (string a in arguments)
                {
                    info.ArgumentList.Add(a);
                }

                using var process = Process.Start(info);
                if (process is null)
                {
                    return null;
                }

                string output = process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                return process.ExitCode == 0 ? output.Trim() : null;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return null;
            }
        }

        // A substituted runner answers "id -u" with its exit code: 0 means root.
        return RunProcess(program, arguments) == 0 ? "0" : null;
    }

    private static int? Run(string program, IReadOnlyList<string> arguments)
    {
        try
        {
            var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true };
            foreach (string a in arguments)
            {
                info.ArgumentList.Add(a);
            }

            using var process = Process.Start(info);
            if (process is null)
            {
                return null;
            }

            // apt-get's own output goes to stderr so that stdout stays the command's result.
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    Console.Error.WriteLine(e.Data);
                }
            };
            process.BeginOutputReadLine();
            process.WaitForExit();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static string? FindOnPath(string program)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
