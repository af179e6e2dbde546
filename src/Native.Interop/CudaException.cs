namespace OnePass.Native.Interop;

/// <summary>A CUDA driver, NVRTC or cuBLAS call returned an error status.</summary>
public sealed class CudaException : Exception
{
    /// <summary>Creates the exception for <paramref name="function"/> returning <paramref name="status"/>.</summary>
    public CudaException(CudaLibraryKind library, string function, int status, string? detail = null)
        : base(FormatMessage(library, function, status, detail))
    {
        Library = library;
        Function = function;
        Status = status;
        StatusName = StatusNames.Name(library, status);
    }

    /// <summary>Which library reported the error.</summary>
    public CudaLibraryKind Library { get; }

    /// <summary>The native function that failed, e.g. "cuMemAlloc_v2".</summary>
    public string Function { get; }

    /// <summary>The raw status code.</summary>
    public int Status { get; }

    /// <summary>The symbolic status name, e.g. "CUDA_ERROR_OUT_OF_MEMORY".</summary>
    public string StatusName { get; }

    /// <summary>
    /// "cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory", followed by <paramref name="detail"/>
    /// on a new line when given (e.g. a compiler log).
    /// </summary>
    public static string FormatMessage(CudaLibraryKind library, string function, int status, string? detail = null)
    {
        string name = StatusNames.Name(library, status);
        string? description = StatusNames.Description(library, status);
        string message = description is null
            ? $"{function} failed: {name} ({status})"
            : $"{function} failed: {name} ({status}): {description}";
        return string.IsNullOrWhiteSpace(detail) ? message : message + Environment.NewLine + detail.TrimEnd();
    }
}
