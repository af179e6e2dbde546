using System.Runtime.InteropServices;
using OnePass.Training.Checkpoints;
using OnePass.Training.Data;
using OnePass.Training.Training;

namespace OnePass.Cli.Commands;

/// <summary>
/// Runs a command body and turns expected failures (bad input, missing files, bad configuration) into one line
/// on stderr and exit code 1; a run folder another process holds exits 75 (EX_TEMPFAIL, so a sweep can tell it
/// from a failure); a run cancelled with Ctrl+C exits 130 and one ended by SIGTERM 143. Unexpected exceptions still show their type
/// and message on one line (the stack trace only with ONEPASS_DEBUG=1).
/// </summary>
internal static class CliAction
{
    public static int Run(Func<CancellationToken, int> body)
    {
        using var cancellation = new CancellationTokenSource();
        bool terminated = false;
        void Terminate()
        {
            terminated = true;
            cancellation.Cancel();
        }

        ConsoleCancelEventHandler handler = (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        Console.CancelKeyPress += handler;
        using var sigterm = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            Terminate();
        });
        ProcessLifetime.EndWithParent(Terminate);
        try
        {
            int code = body(cancellation.Token);
            cancellation.Token.ThrowIfCancellationRequested();
            return code;
        }
        catch (Exception e) when (IsCancellation(e))
        {
            Console.Error.WriteLine(terminated ? "onepass: terminated (SIGTERM)" : "onepass: cancelled");
            return terminated ? 143 : 130;
        }
        catch (RunFolderInUseException e)
        {
            Console.Error.WriteLine($"onepass: {OneLine(e.Message)}");
            return 75;
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"onepass: {OneLine(e.Message)}");
            return 1;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"onepass: internal error ({e.GetType().Name}): {OneLine(e.Message)}");
            if (Environment.GetEnvironmentVariable("ONEPASS_DEBUG") == "1")
            {
                Console.Error.WriteLine(e);
            }

            return 70;
        }
        finally
        {
            Console.CancelKeyPress -= handler;
        }
    }

    private static bool IsCancellation(Exception e) =>
        e is OperationCanceledException
        || (e is AggregateException a && a.Flatten().InnerExceptions.All(IsCancellation));

    private static bool IsUserError(Exception e) =>
        e is UserInputException or DataFormatException or DataNotFoundException or CheckpointException
            or FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException
            or ArgumentException or FormatException or NotSupportedException or InvalidDataException
            || e.GetType().Namespace?.StartsWith("OnePass", StringComparison.Ordinal) == true;

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
