namespace OnePass.Native.Interop;

/// <summary>A CUDA library (driver, NVRTC, cuBLAS or cuDNN) could not be found or loaded anywhere the resolver looked.</summary>
public sealed class CudaLibraryNotFoundException : DllNotFoundException
{
    /// <summary>Creates the exception from a failed search.</summary>
    public CudaLibraryNotFoundException(LibrarySearchResult result)
        : base(FormatMessage(result))
    {
        LogicalName = result.LogicalName;
        Attempts = result.Attempts;
    }

    /// <summary>"cuda", "nvrtc", "cublas" or "cudnn".</summary>
    public string LogicalName { get; }

    /// <summary>Every candidate tried, in order.</summary>
    public IReadOnlyList<LibrarySearchAttempt> Attempts { get; }

    /// <summary>A short reason for one-line logs, e.g. "libcuda.so.1 not found".</summary>
    public string ShortReason => $"{(Attempts.Count > 0 ? Attempts[0].Candidate : LogicalName)} not found";

    /// <summary>The full message: what was looked for, every path tried, and how to fix it.</summary>
    public static string FormatMessage(LibrarySearchResult result)
    {
        var text = new System.Text.StringBuilder();
        text.Append("Could not load the ").Append(Describe(result.LogicalName)).Append(". Tried:");
        foreach (var attempt in result.Attempts)
        {
            text.AppendLine().Append("  ").Append(attempt.Candidate).Append(" (").Append(attempt.Outcome).Append(')');
        }

        text.AppendLine().Append("Fix: ").Append(Advice(result.LogicalName));
        return text.ToString();
    }

    private static string Describe(string logicalName) => logicalName switch
    {
        NativeLibraryResolver.CudaDriverName => "CUDA driver library (libcuda)",
        NativeLibraryResolver.NvrtcName => "NVRTC run-time compiler library (libnvrtc)",
        NativeLibraryResolver.CublasName => "cuBLAS library (libcublas)",
        NativeLibraryResolver.CudnnName => "cuDNN 9 library (libcudnn)",
        _ => $"native library '{logicalName}'",
    };

    private static string Advice(string logicalName) => logicalName switch
    {
        NativeLibraryResolver.CudaDriverName =>
            "install the NVIDIA GPU driver (it provides libcuda.so.1 / nvcuda.dll); without a GPU use the CPU backend.",
        NativeLibraryResolver.NvrtcName =>
            "install the CUDA toolkit and set CUDA_PATH to its folder, add its lib64 folder to LD_LIBRARY_PATH, " +
            "or `pip install nvidia-cuda-nvrtc-cu12` (or the cu13 package) into the active Python environment.",
        NativeLibraryResolver.CublasName =>
            "install the CUDA toolkit and set CUDA_PATH to its folder, add its lib64 folder to LD_LIBRARY_PATH, " +
            "or `pip install nvidia-cublas-cu12` (or the cu13 package) into the active Python environment.",
        NativeLibraryResolver.CudnnName =>
            "install cuDNN 9 for your CUDA version and add its lib folder to LD_LIBRARY_PATH, " +
            "or `pip install nvidia-cudnn-cu12` (or the cu13 package) into the active Python environment; " +
            "without it convolutions fall back to im2col and cuBLAS.",
        _ => "install the library or add its folder to the loader path.",
    };
}
