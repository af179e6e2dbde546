using OnePass.Training.Backends.Cuda;

namespace OnePass.Training.Tests;

/// <summary>
/// A fact that runs only where the CUDA backend starts; elsewhere it is skipped with the reason
/// ("no CUDA device: ..."). Pair it with <c>[Trait("Category", "Gpu")]</c>.
/// </summary>
public sealed class GpuFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> UnavailableReason = new(FindReason);

    /// <summary>Sets <see cref="FactAttribute.Skip"/> when no CUDA backend can be created.</summary>
    public GpuFactAttribute()
    {
        if (UnavailableReason.Value is { } reason)
        {
            Skip = $"no CUDA device: {reason}";
        }
    }

    private static string? FindReason()
    {
        CudaProbeResult probe = CudaProbe.Run();
        if (!probe.Available)
        {
            return probe.Reason;
        }

        try
        {
            using var backend = CudaBackend.Create();
            return null;
        }
        catch (Exception e)
        {
            return $"the CUDA backend failed to start: {e.Message.Split('\n')[0].Trim()}";
        }
    }
}
