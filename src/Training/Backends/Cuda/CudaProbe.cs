using OnePass.Native.Interop;

namespace OnePass.Training.Backends.Cuda;

/// <summary>Checks, without starting a backend, whether CUDA is usable: driver library, cuInit, a device, NVRTC, cuBLAS.</summary>
public static class CudaProbe
{
    private static readonly Lazy<CudaProbeResult> Cached = new(RunUncached);

    /// <summary>The probe result for this process (computed once).</summary>
    public static CudaProbeResult Run() => Cached.Value;

    private static CudaProbeResult RunUncached()
    {
        try
        {
            LibrarySearchResult driver = NativeLibraryResolver.Find(NativeLibraryResolver.CudaDriverName);
            if (!driver.Found)
            {
                return CudaProbeResult.Unavailable($"no CUDA driver ({FirstCandidate(driver)} not found)");
            }

            int status = CudaDriver.Init(0);
            if (status == 100)
            {
                return CudaProbeResult.Unavailable("no CUDA device (cuInit reported CUDA_ERROR_NO_DEVICE)");
            }

            if (status != 0)
            {
                return CudaProbeResult.Unavailable($"the CUDA driver did not start ({CudaException.FormatMessage(CudaLibraryKind.Driver, "cuInit", status)})");
            }

            status = CudaDriver.DeviceGetCount(out int count);
            if (status != 0 || count == 0)
            {
                return CudaProbeResult.Unavailable(status != 0
                    ? $"no CUDA device ({CudaException.FormatMessage(CudaLibraryKind.Driver, "cuDeviceGetCount", status)})"
                    : "no CUDA device (the driver reports 0 devices)");
            }

            LibrarySearchResult nvrtc = NativeLibraryResolver.Find(NativeLibraryResolver.NvrtcName);
            if (!nvrtc.Found)
            {
                return CudaProbeResult.Unavailable($"NVRTC not found ({FirstCandidate(nvrtc)} not found; install the CUDA toolkit or set CUDA_PATH)");
            }

            LibrarySearchResult cublas = NativeLibraryResolver.Find(NativeLibraryResolver.CublasName);
            if (!cublas.Found)
            {
                return CudaProbeResult.Unavailable($"cuBLAS not found ({FirstCandidate(cublas)} not found; install the CUDA toolkit or set CUDA_PATH)");
            }

            return new CudaProbeResult(true, $"{count} CUDA device(s); driver from {driver.LoadedFrom}");
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return CudaProbeResult.Unavailable($"the CUDA libraries could not be used ({e.Message.Split('\n')[0].Trim()})");
        }
    }

    private static string FirstCandidate(LibrarySearchResult result) =>
        result.Attempts.Count > 0 ? result.Attempts[0].Candidate : result.LogicalName;
}
