using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OnePass.Native.Interop;

/// <summary>
/// Source-generated bindings to the cuBLAS v2 API (column-major). Every function returns a cublasStatus_t;
/// pass it to <see cref="CudaCheck.Cublas"/>.
/// </summary>
public static unsafe partial class Cublas
{
    private const string Library = NativeLibraryResolver.CublasName;

    static Cublas() => NativeLibraryResolver.EnsureInstalled();

    /// <summary>CUBLAS_OP_N.</summary>
    public const int OperationNone = 0;

    /// <summary>CUBLAS_OP_T.</summary>
    public const int OperationTranspose = 1;

    /// <summary>CUBLAS_POINTER_MODE_HOST: alpha and beta live in host memory.</summary>
    public const int PointerModeHost = 0;

    /// <summary>cublasStatus_t cublasCreate_v2(cublasHandle_t* handle).</summary>
    [LibraryImport(Library, EntryPoint = "cublasCreate_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int Create(out nint handle);

    /// <summary>cublasStatus_t cublasDestroy_v2(cublasHandle_t handle).</summary>
    [LibraryImport(Library, EntryPoint = "cublasDestroy_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int Destroy(nint handle);

    /// <summary>cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream).</summary>
    [LibraryImport(Library, EntryPoint = "cublasSetStream_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int SetStream(nint handle, nint stream);

    /// <summary>cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void* workspace, size_t bytes).</summary>
    [LibraryImport(Library, EntryPoint = "cublasSetWorkspace_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int SetWorkspace(nint handle, nint workspace, nuint bytes);

    /// <summary>cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t mode).</summary>
    [LibraryImport(Library, EntryPoint = "cublasSetPointerMode_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int SetPointerMode(nint handle, int mode);

    /// <summary>
    /// cublasStatus_t cublasSgemm_v2(handle, transa, transb, int m, int n, int k, const float* alpha,
    /// const float* A, int lda, const float* B, int ldb, const float* beta, float* C, int ldc).
    /// </summary>
    [LibraryImport(Library, EntryPoint = "cublasSgemm_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int Sgemm(nint handle, int transA, int transB, int m, int n, int k, float* alpha, nint a, int lda, nint b, int ldb, float* beta, nint c, int ldc);

    /// <summary>
    /// cublasStatus_t cublasSgemmStridedBatched(handle, transa, transb, int m, int n, int k, const float* alpha,
    /// const float* A, int lda, long long strideA, const float* B, int ldb, long long strideB, const float* beta,
    /// float* C, int ldc, long long strideC, int batchCount).
    /// </summary>
    [LibraryImport(Library, EntryPoint = "cublasSgemmStridedBatched")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int SgemmStridedBatched(nint handle, int transA, int transB, int m, int n, int k, float* alpha, nint a, int lda, long strideA, nint b, int ldb, long strideB, float* beta, nint c, int ldc, long strideC, int batchCount);
}
