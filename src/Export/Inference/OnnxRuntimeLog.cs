using Microsoft.ML.OnnxRuntime;

namespace OnePass.Export;

/// <summary>
/// Routes ONNX Runtime's native log into managed code. The ORT environment is a process-wide
/// singleton; OnePass creates it (on first use of <see cref="OnnxInferenceSession"/> or
/// <see cref="EnsureInitialized"/>) with severity WARNING and a managed logging callback.
/// Messages go to the current subscribers, or to standard error when there are none.
/// If something else created the ORT environment first, capture is unavailable
/// (<see cref="CaptureActive"/> is false) and ORT logs to standard error itself.
/// </summary>
public static class OnnxRuntimeLog
{
    private static readonly Lock Gate = new();
    private static readonly DOrtLoggingFunction Callback = OnLog; // rooted for the process lifetime
    private static Action<OrtLogEntry>[] subscribers = [];
    private static bool initialized;

    [ThreadStatic]
    private static List<OrtLogEntry>? suppressed;

    /// <summary>True when ORT's log is routed through this class.</summary>
    public static bool CaptureActive { get; private set; }

    /// <summary>Creates the ORT environment (severity WARNING, managed callback) if not done yet.</summary>
    public static void EnsureInitialized()
    {
        lock (Gate)
        {
            if (initialized)
            {
                return;
            }

            initialized = true;
            if (OrtEnv.IsCreated)
            {
                CaptureActive = false;
                return;
            }

            var options = new EnvironmentCreationOptions
            {
                logId = "onepass",
                logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
                loggingFunction = Callback,
            };
            OrtEnv.CreateInstanceWithOptions(ref options);
            CaptureActive = true;
        }
    }

    /// <summary>
    /// Adds <paramref name="sink"/> to the receivers of ORT log messages (WARNING and above) until the
    /// returned handle is disposed. Messages arrive on the thread that caused them.
    /// </summary>
    public static IDisposable Subscribe(Action<OrtLogEntry> sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        EnsureInitialized();
        lock (Gate)
        {
            subscribers = [.. subscribers, sink];
        }

        return new Subscription(sink);
    }

    /// <summary>
    /// Swallows messages logged on the calling thread until disposed, collecting them instead;
    /// used while probing a provider whose failure is reported separately.
    /// </summary>
    internal static SuppressionScope Suppress() => new();

    private static void OnLog(IntPtr param, OrtLoggingLevel severity, string category, string logId, string codeLocation, string message)
    {
        var entry = new OrtLogEntry(SeverityName(severity), category ?? string.Empty, logId ?? string.Empty, codeLocation ?? string.Empty, message ?? string.Empty);
        try
        {
            if (suppressed is { } sink)
            {
                sink.Add(entry);
                return;
            }

            var current = Volatile.Read(ref subscribers);
            if (current.Length == 0)
            {
                Console.Error.WriteLine(entry.ToString());
                return;
            }

            foreach (var s in current)
            {
                s(entry);
            }
        }
        catch
        {
            // Never let a managed exception unwind into native code.
        }
    }

    private static string SeverityName(OrtLoggingLevel level) => level switch
    {
        OrtLoggingLevel.ORT_LOGGING_LEVEL_VERBOSE => "VERBOSE",
        OrtLoggingLevel.ORT_LOGGING_LEVEL_INFO => "INFO",
        OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING => "WARNING",
        OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR => "ERROR",
        _ => "FATAL",
    };

    internal sealed class SuppressionScope : IDisposable
    {
        private readonly List<OrtLogEntry>? previous;

        public SuppressionScope()
        {
            previous = suppressed;
            suppressed = [];
        }

        public IReadOnlyList<OrtLogEntry> Collected => suppressed ?? [];

        public void Dispose() => suppressed = previous;
    }

    private sealed class Subscription(Action<OrtLogEntry> sink) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) != 0)
            {
                return;
            }

            lock (Gate)
            {
                subscribers = subscribers.Where(s => !ReferenceEquals(s, sink)).ToArray();
            }
        }
    }
}
