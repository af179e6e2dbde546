using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace OnePass.Cli.Commands;

/// <summary>
/// Ties a `sweep`'s `train` children to the sweep. The sweep names itself in <see cref="ParentVariable"/>; a child
/// that finds it asks Linux for SIGTERM when its parent dies (prctl PR_SET_PDEATHSIG) and also watches its parent
/// id, so a sweep ended by <c>kill -9</c> never leaves runs behind that a rerun would start again beside.
/// Ending a child sends SIGTERM first (it stops cleanly, exit 143), then kills it after a grace period.
/// </summary>
internal static partial class ProcessLifetime
{
    /// <summary>Environment variable holding the sweep's process id in its children.</summary>
    public const string ParentVariable = "ONEPASS_PARENT_PID";

    /// <summary>How long a child has to stop after SIGTERM before it is killed.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    private const int PrSetPdeathsig = 1;
    private const int Sigterm = 15;

    /// <summary>When started by a sweep, calls <paramref name="terminate"/> as soon as the sweep is gone.</summary>
    public static void EndWithParent(Action terminate)
    {
        if (OperatingSystem.IsWindows()
            || !int.TryParse(Environment.GetEnvironmentVariable(ParentVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out int parent))
        {
            return;
        }

        try
        {
            if (OperatingSystem.IsLinux())
            {
                _ = Prctl(PrSetPdeathsig, Sigterm, 0, 0, 0);
            }

            if (GetParentId() != parent)
            {
                // The sweep died before the signal was asked for.
                terminate();
                return;
            }

            var watcher = new Thread(() =>
            {
                while (GetParentId() == parent)
                {
                    Thread.Sleep(500);
                }

                terminate();
            }) { IsBackground = true, Name = "onepass parent watcher" };
            watcher.Start();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Without libc calls the child simply lives on; nothing else depends on this.
        }
    }

    /// <summary>Sets up <paramref name="info"/> so that the child ends with this process.</summary>
    public static void Adopt(ProcessStartInfo info) =>
        info.Environment[ParentVariable] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    /// <summary>Asks a child to stop (SIGTERM on Unix; a kill elsewhere).</summary>
    public static void RequestStop(Process child)
    {
        try
        {
            if (OperatingSystem.IsWindows())
            {
                child.Kill(entireProcessTree: true);
            }
            else
            {
                _ = Kill(child.Id, Sigterm);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or EntryPointNotFoundException)
        {
            // Already gone, or no libc: the grace-period kill below still ends it.
        }
    }

    /// <summary>Waits for a child; once <paramref name="token"/> is cancelled it is asked to stop, then killed after <see cref="Grace"/>.</summary>
    public static void WaitForExit(Process child, CancellationToken token)
    {
        using var registration = token.Register(() => RequestStop(child));
        Stopwatch? sinceCancel = null;
        while (!child.WaitForExit(200))
        {
            if (token.IsCancellationRequested)
            {
                sinceCancel ??= Stopwatch.StartNew();
                if (sinceCancel.Elapsed > Grace)
                {
                    child.Kill(entireProcessTree: true);
                }
            }
        }

        child.WaitForExit();
    }

    private static int GetParentId() => OperatingSystem.IsWindows() ? -1 : GetPpid();

    [LibraryImport("libc", EntryPoint = "prctl")]
    private static partial int Prctl(int option, nint arg2, nint arg3, nint arg4, nint arg5);

    [LibraryImport("libc", EntryPoint = "getppid")]
    private static partial int GetPpid();

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
