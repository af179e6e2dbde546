using OnePass.Training.Backends.Cuda;
using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>Picks and starts a backend from a user's choice: "auto", "cpu" or "cuda".</summary>
public static class BackendFactory
{
    /// <summary>The accepted choices.</summary>
    public static IReadOnlyList<string> Choices { get; } = ["auto", "cpu", "cuda"];

    /// <summary>
    /// Starts the backend named by <paramref name="choice"/>. "auto" uses CUDA when the driver, a device, NVRTC and
    /// cuBLAS are usable, otherwise the CPU with one line to <paramref name="log"/> saying why; "cuda" throws
    /// <see cref="BackendUnavailableException"/> when CUDA is not usable; anything else throws <see cref="ArgumentException"/>.
    /// </summary>
    public static IBackend Create(string choice, Action<string> log) =>
        Create(choice, log, CudaProbe.Run, () => CudaBackend.Create());

    /// <summary>
    /// As <see cref="Create(string, Action{string})"/>, with the CUDA probe and the CUDA backend constructor
    /// injected (for tests).
    /// </summary>
    public static IBackend Create(string choice, Action<string> log, Func<CudaProbeResult> probe, Func<IBackend> createCuda)
    {
        ArgumentNullException.ThrowIfNull(log);
        string normalized = (choice ?? string.Empty).Trim().ToLowerInvariant();
        switch (normalized)
        {
            case "cpu":
                return new CpuBackend();

            case "cuda":
            {
                CudaProbeResult result = probe();
                if (!result.Available)
                {
                    throw new BackendUnavailableException($"the cuda backend was requested but CUDA is not usable: {result.Reason}; choose the cpu or auto backend");
                }

                try
                {
                    return createCuda();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    throw new BackendUnavailableException($"the cuda backend failed to start: {FirstLine(e.Message)}", e);
                }
            }

            case "auto":
            {
                CudaProbeResult result = probe();
                if (!result.Available)
                {
                    log($"{result.Reason}; using the CPU backend");
                    return new CpuBackend();
                }

                try
                {
                    return createCuda();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    log($"the CUDA backend failed to start ({FirstLine(e.Message)}); using the CPU backend");
                    return new CpuBackend();
                }
            }

            default:
                throw new ArgumentException($"unknown backend '{choice}'; valid choices are {string.Join(", ", Choices)}", nameof(choice));
        }
    }

    private static string FirstLine(string message)
    {
        int newline = message.IndexOfAny(['\r', '\n']);
        return newline < 0 ? message : message[..newline];
    }
}
