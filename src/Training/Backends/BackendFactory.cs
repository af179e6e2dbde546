using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>Chooses the compute backend (interim: CPU only until the CUDA backend lands).</summary>
public static class BackendFactory
{
    /// <summary>Creates the backend named by <paramref name="choice"/> (auto, cpu or cuda).</summary>
    public static IBackend Create(string choice, Action<string> log) => choice switch
    {
        "cpu" => new CpuBackend(),
        "auto" => LogAndCreate(log),
        "cuda" => throw new NotSupportedException("--backend cuda: this build has no CUDA backend"),
        _ => throw new ArgumentException($"unknown backend '{choice}' (choose auto, cpu or cuda)"),
    };

    private static CpuBackend LogAndCreate(Action<string> log)
    {
        log("no CUDA backend in this build; using the CPU backend");
        return new CpuBackend();
    }
}
