namespace OnePass.Training.Backends.Cuda;

/// <summary>Whether the CUDA backend can start on this machine, and if not, why.</summary>
/// <param name="Available">True when the driver, a device, NVRTC and cuBLAS are all usable.</param>
/// <param name="Reason">For an unavailable result, a short reason such as "no CUDA driver (libcuda.so.1 not found)"; else a device summary.</param>
public sealed record CudaProbeResult(bool Available, string Reason)
{
    /// <summary>An unavailable result.</summary>
    public static CudaProbeResult Unavailable(string reason) => new(false, reason);
}
