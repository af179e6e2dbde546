using System.Collections.Frozen;

namespace OnePass.Native.Interop;

/// <summary>
/// Names and one-line descriptions of the common CUresult, nvrtcResult and cublasStatus_t codes, so error
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

    /// <summary>The symbolic name of a status code, e.g. "CUDA_ERROR_OUT_OF_MEMORY", or "unknown status" when not in the table.</summary>
    public static string Name(CudaLibraryKind library, int status) =>
        Table(library).TryGetValue(status, out var entry) ? entry.Name : $"{Prefix(library)}_UNKNOWN_STATUS";

    /// <summary>A short description of a status code, or null when it is not in the table.</summary>
    public static string? Description(CudaLibraryKind library, int status) =>
        Table(library).TryGetValue(status, out var entry) ? entry.Description : null;

    private static FrozenDictionary<int, (string Name, string Description)> Table(CudaLibraryKind library) => library switch
    {
        CudaLibraryKind.Driver => Driver,
        CudaLibraryKind.Nvrtc => NvrtcCodes,
        CudaLibraryKind.Cublas => CublasCodes,
        _ => throw new ArgumentOutOfRangeException(nameof(library), library, null),
    };

    private static string Prefix(CudaLibraryKind library) => library switch
    {
        CudaLibraryKind.Driver => "CUDA",
        CudaLibraryKind.Nvrtc => "NVRTC",
        _ => "CUBLAS",
    };
}
