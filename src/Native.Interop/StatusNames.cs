using System.Collections.Frozen;
using System.Runtime.InteropServices;

namespace OnePass.Native.Interop;

/// <summary>
/// Names and one-line descriptions of the common CUresult, nvrtcResult, cublasStatus_t and cudnnStatus_t codes, so error
/// messages read well even when the library's own string functions are unavailable.
/// </summary>
public static class StatusNames
{
    private static readonly FrozenDictionary<int, (string Name, string Description)> Driver = new Dictionary<int, (string, string)>
    {
        [0] = ("CUDA_SUCCESS", "no error"),
        [1] = ("CUDA_ERROR_INVALID_VALUE", "invalid argument"),
        [2] = ("CUDA_ERROR_OUT_OF_MEMORY", "out of memory"),
        [3] = ("CUDA_ERROR_NOT_INITIALIZED", "initialization error"),
        [4] = ("CUDA_ERROR_DEINITIALIZED", "driver shutting down"),
        [5] = ("CUDA_ERROR_PROFILER_DISABLED", "profiler disabled while using external profiling tool"),
        [34] = ("CUDA_ERROR_STUB_LIBRARY", "CUDA driver is a stub library"),
        [46] = ("CUDA_ERROR_DEVICE_UNAVAILABLE", "CUDA-capable device(s) is/are busy or unavailable"),
        [100] = ("CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"),
        [101] = ("CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"),
        [102] = ("CUDA_ERROR_DEVICE_NOT_LICENSED", "device doesn't have valid Grid license"),
        [200] = ("CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"),
        [201] = ("CUDA_ERROR_INVALID_CONTEXT", "invalid device context"),
        [209] = ("CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"),
        [214] = ("CUDA_ERROR_ECC_UNCORRECTABLE", "uncorrectable ECC error encountered"),
        [218] = ("CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"),
        [221] = ("CUDA_ERROR_JIT_COMPILER_NOT_FOUND", "PTX JIT compiler library not found"),
        [222] = ("CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "the provided PTX was compiled with an unsupported toolchain"),
        [300] = ("CUDA_ERROR_INVALID_SOURCE", "device kernel image is invalid"),
        [301] = ("CUDA_ERROR_FILE_NOT_FOUND", "file not found"),
        [400] = ("CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"),
        [500] = ("CUDA_ERROR_NOT_FOUND", "named symbol not found"),
        [600] = ("CUDA_ERROR_NOT_READY", "device not ready"),
        [700] = ("CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"),
        [701] = ("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"),
        [702] = ("CUDA_ERROR_LAUNCH_TIMEOUT", "the launch timed out and was terminated"),
        [719] = ("CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"),
        [800] = ("CUDA_ERROR_NOT_PERMITTED", "operation not permitted"),
        [801] = ("CUDA_ERROR_NOT_SUPPORTED", "operation not supported"),
        [803] = ("CUDA_ERROR_SYSTEM_DRIVER_MISMATCH", "system has unsupported display driver / cuda driver combination"),
        [804] = ("CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE", "forward compatibility was attempted on non supported HW"),
        [900] = ("CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", "operation not permitted when stream is capturing"),
        [901] = ("CUDA_ERROR_STREAM_CAPTURE_INVALIDATED", "operation failed due to a previous error during capture"),
        [999] = ("CUDA_ERROR_UNKNOWN", "unknown error"),
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<int, (string Name, string Description)> NvrtcCodes = new Dictionary<int, (string, string)>
    {
        [0] = ("NVRTC_SUCCESS", "no error"),
        [1] = ("NVRTC_ERROR_OUT_OF_MEMORY", "out of memory"),
        [2] = ("NVRTC_ERROR_PROGRAM_CREATION_FAILURE", "program creation failed"),
        [3] = ("NVRTC_ERROR_INVALID_INPUT", "invalid input"),
        [4] = ("NVRTC_ERROR_INVALID_PROGRAM", "invalid program"),
        [5] = ("NVRTC_ERROR_INVALID_OPTION", "invalid compiler option"),
        [6] = ("NVRTC_ERROR_COMPILATION", "compilation failed"),
        [7] = ("NVRTC_ERROR_BUILTIN_OPERATION_FAILURE", "builtin operation failed"),
        [8] = ("NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION", "no name expressions after compilation"),
        [9] = ("NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION", "no lowered names before compilation"),
        [10] = ("NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID", "name expression not valid"),
        [11] = ("NVRTC_ERROR_INTERNAL_ERROR", "internal compiler error"),
        [12] = ("NVRTC_ERROR_TIME_FILE_WRITE_FAILED", "the time trace file could not be written"),
        [13] = ("NVRTC_ERROR_NO_PCH_CREATE_ATTEMPTED", "no precompiled header was created"),
        [14] = ("NVRTC_ERROR_PCH_CREATE_HEAP_EXHAUSTED", "the precompiled-header heap is exhausted"),
        [15] = ("NVRTC_ERROR_PCH_CREATE", "precompiled header creation failed"),
        [16] = ("NVRTC_ERROR_CANCELLED", "compilation cancelled"),
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<int, (string Name, string Description)> CublasCodes = new Dictionary<int, (string, string)>
    {
        [0] = ("CUBLAS_STATUS_SUCCESS", "success"),
        [1] = ("CUBLAS_STATUS_NOT_INITIALIZED", "the library was not initialized"),
        [3] = ("CUBLAS_STATUS_ALLOC_FAILED", "resource allocation failed"),
        [7] = ("CUBLAS_STATUS_INVALID_VALUE", "an invalid numeric value was used as an argument"),
        [8] = ("CUBLAS_STATUS_ARCH_MISMATCH", "the device does not support a required feature"),
        [11] = ("CUBLAS_STATUS_MAPPING_ERROR", "access to GPU memory space failed"),
        [13] = ("CUBLAS_STATUS_EXECUTION_FAILED", "the GPU program failed to execute"),
        [14] = ("CUBLAS_STATUS_INTERNAL_ERROR", "an internal operation failed"),
        [15] = ("CUBLAS_STATUS_NOT_SUPPORTED", "the functionality requested is not supported"),
        [16] = ("CUBLAS_STATUS_LICENSE_ERROR", "license error"),
    }.ToFrozenDictionary();

    // cuDNN 9 numbers its codes by category (1xxx initialisation, 2xxx bad parameter, 3xxx not supported, 4xxx
    // internal error, 5xxx execution failed); earlier versions used 0-14, which this table does not cover.
    private static readonly FrozenDictionary<int, (string Name, string Description)> CudnnCodes = new Dictionary<int, (string, string)>
    {
        [0] = ("CUDNN_STATUS_SUCCESS", "success"),
        [1001] = ("CUDNN_STATUS_NOT_INITIALIZED", "the library was not initialized"),
        [1002] = ("CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH", "cuDNN's sub-libraries have different versions"),
        [1008] = ("CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED", "a cuDNN sub-library could not be loaded"),
        [2000] = ("CUDNN_STATUS_BAD_PARAM", "an invalid parameter was passed"),
        [2002] = ("CUDNN_STATUS_BAD_PARAM_NULL_POINTER", "a null pointer was passed"),
        [2003] = ("CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER", "a misaligned pointer was passed"),
        [2006] = ("CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT", "a buffer or workspace is too small"),
        [2008] = ("CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH", "tensor shapes do not match"),
        [3000] = ("CUDNN_STATUS_NOT_SUPPORTED", "the operation is not supported"),
        [3002] = ("CUDNN_STATUS_NOT_SUPPORTED_SHAPE", "the shape is not supported"),
        [3003] = ("CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE", "the data type is not supported"),
        [3004] = ("CUDNN_STATUS_NOT_SUPPORTED_LAYOUT", "the layout is not supported"),
        [3005] = ("CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER", "the CUDA driver is too old for this cuDNN"),
        [3006] = ("CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART", "the CUDA runtime is incompatible with this cuDNN"),
        [3007] = ("CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH", "this cuDNN does not support the GPU's architecture"),
        [3009] = ("CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE", "a needed cuDNN sub-library is unavailable"),
        [4000] = ("CUDNN_STATUS_INTERNAL_ERROR", "an internal operation failed"),
        [4004] = ("CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED", "device memory allocation failed"),
        [5000] = ("CUDNN_STATUS_EXECUTION_FAILED", "the GPU program failed to execute"),
        [5001] = ("CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER", "a CUDA driver call failed"),
    }.ToFrozenDictionary();

    /// <summary>
    /// The symbolic name of a status code, e.g. "CUDA_ERROR_OUT_OF_MEMORY": from the table, else from the library
    /// itself (<c>cuGetErrorName</c>, <c>nvrtcGetErrorString</c>) when it is loaded and knows the code, else
    /// "CUDA_UNKNOWN_STATUS" (NVRTC_, CUBLAS_).
    /// </summary>
    public static string Name(CudaLibraryKind library, int status) => Describe(library, status, AskLibrary).Name;

    /// <summary>A short description of a status code (the table's, else the library's own), or null when neither knows it.</summary>
    public static string? Description(CudaLibraryKind library, int status) => Describe(library, status, AskLibrary).Description;

    /// <summary>
    /// Name and description of a code: the table's when it has the code, else what <paramref name="askLibrary"/>
    /// (the library's own string functions; null parts when it does not know the code either) returns, else
    /// "PREFIX_UNKNOWN_STATUS" with no description.
    /// </summary>
    public static (string Name, string? Description) Describe(CudaLibraryKind library, int status, Func<CudaLibraryKind, int, (string? Name, string? Description)> askLibrary)
    {
        if (Table(library).TryGetValue(status, out var entry))
        {
            return entry;
        }

        (string? name, string? description) = askLibrary(library, status);
        return (string.IsNullOrWhiteSpace(name) ? $"{Prefix(library)}_UNKNOWN_STATUS" : name, string.IsNullOrWhiteSpace(description) ? null : description);
    }

    // Asks an already-found library for a code's name; never loads a missing one, never throws.
    private static unsafe (string? Name, string? Description) AskLibrary(CudaLibraryKind library, int status)
    {
        try
        {
            switch (library)
            {
                case CudaLibraryKind.Driver when NativeLibraryResolver.Find(NativeLibraryResolver.CudaDriverName).Found:
                {
                    string? name = CudaDriver.GetErrorName(status, out nint namePointer) == 0 ? Marshal.PtrToStringUTF8(namePointer) : null;
                    string? description = CudaDriver.GetErrorString(status, out nint textPointer) == 0 ? Marshal.PtrToStringUTF8(textPointer) : null;
                    return (name, description);
                }

                case CudaLibraryKind.Nvrtc when NativeLibraryResolver.Find(NativeLibraryResolver.NvrtcName).Found:
                {
                    // For a code it does not know, nvrtcGetErrorString answers "NVRTC_ERROR unknown".
                    string? name = Marshal.PtrToStringUTF8(Nvrtc.GetErrorString(status));
                    return (name is null || name.Contains(' ', StringComparison.Ordinal) ? null : name, null);
                }

                case CudaLibraryKind.Cudnn when NativeLibraryResolver.Find(NativeLibraryResolver.CudnnName).Found:
                {
                    // cudnnGetErrorString answers with the code's symbolic name.
                    string? name = Marshal.PtrToStringUTF8(Cudnn.GetErrorString(status));
                    return (name is null || name.Contains(' ', StringComparison.Ordinal) ? null : name, null);
                }

                default:
                    return (null, null);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return (null, null);
        }
    }

    private static FrozenDictionary<int, (string Name, string Description)> Table(CudaLibraryKind library) => library switch
    {
        CudaLibraryKind.Driver => Driver,
        CudaLibraryKind.Nvrtc => NvrtcCodes,
        CudaLibraryKind.Cublas => CublasCodes,
        CudaLibraryKind.Cudnn => CudnnCodes,
        _ => throw new ArgumentOutOfRangeException(nameof(library), library, null),
    };

    private static string Prefix(CudaLibraryKind library) => library switch
    {
        CudaLibraryKind.Driver => "CUDA",
        CudaLibraryKind.Nvrtc => "NVRTC",
        CudaLibraryKind.Cudnn => "CUDNN",
        _ => "CUBLAS",
    };
}
