namespace OnePass.Native.Interop;

/// <summary>Which native library reported a status code.</summary>
public enum CudaLibraryKind
{
    /// <summary>The CUDA driver API (CUresult).</summary>
    Driver,

    /// <summary>The NVRTC run-time compiler (nvrtcResult).</summary>
    Nvrtc,

    /// <summary>cuBLAS (cublasStatus_t).</summary>
    Cublas,

    /// <summary>cuDNN (cudnnStatus_t).</summary>
    Cudnn,
}
