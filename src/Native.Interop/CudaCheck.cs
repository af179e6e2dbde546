namespace OnePass.Native.Interop;

/// <summary>Turns non-zero status codes into <see cref="CudaException"/>s.</summary>
public static class CudaCheck
{
    /// <summary>Throws when a driver call returned anything but CUDA_SUCCESS.</summary>
    public static void Driver(int status, string function)
    {
        if (status != 0)
        {
            throw new CudaException(CudaLibraryKind.Driver, function, status);
        }
    }

    /// <summary>Throws when an NVRTC call returned anything but NVRTC_SUCCESS.</summary>
    public static void Nvrtc(int status, string function)
    {
        if (status != 0)
        {
            throw new CudaException(CudaLibraryKind.Nvrtc, function, status);
        }
    }

    /// <summary>Throws when a cuBLAS call returned anything but CUBLAS_STATUS_SUCCESS.</summary>
    public static void Cublas(int status, string function)
    {
        if (status != 0)
        {
            throw new CudaException(CudaLibraryKind.Cublas, function, status);
        }
    }

    /// <summary>Throws when a cuDNN call returned anything but CUDNN_STATUS_SUCCESS.</summary>
    public static void Cudnn(int status, string function)
    {
        if (status != 0)
        {
            throw new CudaException(CudaLibraryKind.Cudnn, function, status);
        }
    }

    /// <summary>Throws for a non-zero status of the given library.</summary>
    public static void Check(CudaLibraryKind library, int status, string function)
    {
        if (status != 0)
        {
            throw new CudaException(library, function, status);
        }
    }
}
