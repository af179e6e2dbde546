using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OnePass.Native.Interop;

/// <summary>
/// Source-generated bindings to the part of the cuDNN 9 legacy API (cudnn_graph.h, cudnn_ops.h, cudnn_cnn.h) that a
/// float32 NCHW 2-D convolution needs: the handle, tensor, filter and convolution descriptors, the heuristic algorithm
/// queries and their workspace sizes, and the three convolution calls. Functions returning cudnnStatus_t give it as
/// an int; pass it to <see cref="CudaCheck.Cudnn"/>. Signatures and enum values are those of NVIDIA's public headers
/// and documentation; <see cref="ExportedNames"/> lists every entry point bound here.
/// </summary>
public static unsafe partial class Cudnn
{
    private const string Library = NativeLibraryResolver.CudnnName;

    static Cudnn() => NativeLibraryResolver.EnsureInstalled();

    /// <summary>CUDNN_DATA_FLOAT (cudnnDataType_t).</summary>
    public const int DataFloat = 0;

    /// <summary>CUDNN_TENSOR_NCHW (cudnnTensorFormat_t).</summary>
    public const int TensorNchw = 0;

    /// <summary>CUDNN_CROSS_CORRELATION (cudnnConvolutionMode_t): no kernel flip, as PyTorch and ONNX convolve.</summary>
    public const int CrossCorrelation = 1;

    /// <summary>CUDNN_DEFAULT_MATH (cudnnMathType_t): may use TF32 tensor cores for float32 on Ampere and later.</summary>
    public const int DefaultMath = 0;

    /// <summary>CUDNN_FMA_MATH (cudnnMathType_t): FMA arithmetic only, so float32 stays float32 (no TF32).</summary>
    public const int FmaMath = 3;

    /// <summary>CUDNN_DETERMINISTIC (cudnnDeterminism_t).</summary>
    public const int Deterministic = 1;

    /// <summary>
    /// cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionBwdDataAlgoPerf_t and cudnnConvolutionBwdFilterAlgoPerf_t, which
    /// share one layout: { algo; cudnnStatus_t status; float time; size_t memory; cudnnDeterminism_t determinism;
    /// cudnnMathType_t mathType; int reserved[3]; } (enums are C ints).
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct AlgorithmPerformance
    {
        /// <summary>The algorithm (cudnnConvolutionFwdAlgo_t, BwdDataAlgo_t or BwdFilterAlgo_t).</summary>
        public int Algorithm;

        /// <summary>CUDNN_STATUS_SUCCESS when the algorithm supports the problem.</summary>
        public int Status;

        /// <summary>Measured time in ms (Find calls) or −1 (heuristic Get calls).</summary>
        public float Time;

        /// <summary>Workspace bytes it needs.</summary>
        public nuint Memory;

        /// <summary>Whether its results are bit-reproducible (<see cref="Deterministic"/>).</summary>
        public int Determinism;

        /// <summary>The math type it would run with.</summary>
        public int MathType;

        /// <summary>Reserved.</summary>
        public int Reserved0;

        /// <summary>Reserved.</summary>
        public int Reserved1;

        /// <summary>Reserved.</summary>
        public int Reserved2;
    }

    /// <summary>Every cuDNN entry point bound in this class, as exported by libcudnn.so.9.</summary>
    public static readonly IReadOnlyList<string> ExportedNames =
    [
        "cudnnGetVersion", "cudnnGetErrorString", "cudnnCreate", "cudnnDestroy", "cudnnSetStream",
        "cudnnCreateTensorDescriptor", "cudnnSetTensor4dDescriptor", "cudnnDestroyTensorDescriptor",
        "cudnnCreateFilterDescriptor", "cudnnSetFilter4dDescriptor", "cudnnDestroyFilterDescriptor",
        "cudnnCreateConvolutionDescriptor", "cudnnSetConvolution2dDescriptor", "cudnnSetConvolutionMathType", "cudnnDestroyConvolutionDescriptor",
        "cudnnGetConvolutionForwardAlgorithm_v7", "cudnnGetConvolutionBackwardDataAlgorithm_v7", "cudnnGetConvolutionBackwardFilterAlgorithm_v7",
        "cudnnGetConvolutionForwardWorkspaceSize", "cudnnGetConvolutionBackwardDataWorkspaceSize", "cudnnGetConvolutionBackwardFilterWorkspaceSize",
        "cudnnConvolutionForward", "cudnnConvolutionBackwardData", "cudnnConvolutionBackwardFilter",
    ];

    /// <summary>size_t cudnnGetVersion(void): major·10000 + minor·100 + patch for cuDNN 9 (e.g. 90100).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnGetVersion")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nuint GetVersion();

    /// <summary>const char* cudnnGetErrorString(cudnnStatus_t status).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnGetErrorString")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint GetErrorString(int status);

    /// <summary>cudnnStatus_t cudnnCreate(cudnnHandle_t* handle).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnCreate")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int Create(out nint handle);

    /// <summary>cudnnStatus_t cudnnDestroy(cudnnHandle_t handle).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnDestroy")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int Destroy(nint handle);

    /// <summary>cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t stream).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnSetStream")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int SetStream(nint handle, nint stream);

    /// <summary>cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* desc).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnCreateTensorDescriptor")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int CreateTensorDescriptor(out nint descriptor);

    /// <summary>cudnnStatus_t cudnnSetTensor4dDescriptor(desc, cudnnTensorFormat_t format, cudnnDataType_t dataType, int n, int c, int h, int w).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnSetTensor4dDescriptor")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int SetTensor4dDescriptor(nint descriptor, int format, int dataType, int n, int c, int h, int w);

    /// <summary>cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t desc).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnDestroyTensorDescriptor")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int DestroyTensorDescriptor(nint descriptor);

    /// <summary>cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* desc).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnCreateFilterDescriptor")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int CreateFilterDescriptor(out nint descriptor);

    /// <summary>cudnnStatus_t cudnnSetFilter4dDescriptor(desc, cudnnDataType_t dataType, cudnnTensorFormat_t format, int k, int c, int h, int w) (data type first, unlike the tensor call).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnSetFilter4dDescriptor")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int SetFilter4dDescriptor(nint descriptor, int dataType, int format, int k, int c, int h, int w);

    /// <summary>cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t desc).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnDestroyFilterDescriptor")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int DestroyFilterDescriptor(nint descriptor);

    /// <summary>cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* desc).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnCreateConvolutionDescriptor")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int CreateConvolutionDescriptor(out nint descriptor);

    /// <summary>
    /// cudnnStatus_t cudnnSetConvolution2dDescriptor(desc, int pad_h, int pad_w, int u, int v, int dilation_h,
    /// int dilation_w, cudnnConvolutionMode_t mode, cudnnDataType_t computeType).
    /// </summary>
    [LibraryImport(Library, EntryPoint = "cudnnSetConvolution2dDescriptor")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int SetConvolution2dDescriptor(nint descriptor, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW, int mode, int computeType);

    /// <summary>cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t desc, cudnnMathType_t mathType).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnSetConvolutionMathType")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int SetConvolutionMathType(nint descriptor, int mathType);

    /// <summary>cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t desc).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnDestroyConvolutionDescriptor")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int DestroyConvolutionDescriptor(nint descriptor);

    /// <summary>
    /// cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(handle, xDesc, wDesc (filter), convDesc, yDesc,
    /// int requestedAlgoCount, int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults): heuristics, best first.
    /// </summary>
    [LibraryImport(Library, EntryPoint = "cudnnGetConvolutionForwardAlgorithm_v7")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetConvolutionForwardAlgorithm(nint handle, nint x, nint w, nint convolution, nint y, int requested, out int returned, AlgorithmPerformance* results);

    /// <summary>
    /// cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, wDesc (filter), dyDesc, convDesc, dxDesc,
    /// int requestedAlgoCount, int* returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t* perfResults).
    /// </summary>
    [LibraryImport(Library, EntryPoint = "cudnnGetConvolutionBackwardDataAlgorithm_v7")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetConvolutionBackwardDataAlgorithm(nint handle, nint w, nint dy, nint convolution, nint dx, int requested, out int returned, AlgorithmPerformance* results);

    /// <summary>
    /// cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, xDesc, dyDesc, convDesc, dwDesc (filter),
    /// int requestedAlgoCount, int* returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t* perfResults).
    /// </summary>
    [LibraryImport(Library, EntryPoint = "cudnnGetConvolutionBackwardFilterAlgorithm_v7")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetConvolutionBackwardFilterAlgorithm(nint handle, nint x, nint dy, nint convolution, nint dw, int requested, out int returned, AlgorithmPerformance* results);

    /// <summary>cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(handle, xDesc, wDesc, convDesc, yDesc, algo, size_t* sizeInBytes).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnGetConvolutionForwardWorkspaceSize")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetConvolutionForwardWorkspaceSize(nint handle, nint x, nint w, nint convolution, nint y, int algorithm, out nuint bytes);

    /// <summary>cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(handle, wDesc, dyDesc, convDesc, dxDesc, algo, size_t* sizeInBytes).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnGetConvolutionBackwardDataWorkspaceSize")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetConvolutionBackwardDataWorkspaceSize(nint handle, nint w, nint dy, nint convolution, nint dx, int algorithm, out nuint bytes);

    /// <summary>cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, xDesc, dyDesc, convDesc, dwDesc, algo, size_t* sizeInBytes).</summary>
    [LibraryImport(Library, EntryPoint = "cudnnGetConvolutionBackwardFilterWorkspaceSize")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetConvolutionBackwardFilterWorkspaceSize(nint handle, nint x, nint dy, nint convolution, nint dw, int algorithm, out nuint bytes);

    /// <summary>
    /// cudnnStatus_t cudnnConvolutionForward(handle, const void* alpha, xDesc, const void* x, wDesc, const void* w,
    /// convDesc, algo, void* workSpace, size_t workSpaceSizeInBytes, const void* beta, yDesc, void* y):
    /// y = alpha·conv(x, w) + beta·y (alpha and beta in host memory, float for float data).
    /// </summary>
    [LibraryImport(Library, EntryPoint = "cudnnConvolutionForward")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int ConvolutionForward(nint handle, float* alpha, nint xDescriptor, nint x, nint wDescriptor, nint w, nint convolution, int algorithm,
        nint workspace, nuint workspaceBytes, float* beta, nint yDescriptor, nint y);

    /// <summary>
    /// cudnnStatus_t cudnnConvolutionBackwardData(handle, const void* alpha, wDesc, const void* w, dyDesc, const void* dy,
    /// convDesc, algo, void* workSpace, size_t workSpaceSizeInBytes, const void* beta, dxDesc, void* dx).
    /// </summary>
    [LibraryImport(Library, EntryPoint = "cudnnConvolutionBackwardData")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int ConvolutionBackwardData(nint handle, float* alpha, nint wDescriptor, nint w, nint dyDescriptor, nint dy, nint convolution, int algorithm,
        nint workspace, nuint workspaceBytes, float* beta, nint dxDescriptor, nint dx);

    /// <summary>
    /// cudnnStatus_t cudnnConvolutionBackwardFilter(handle, const void* alpha, xDesc, const void* x, dyDesc, const void* dy,
    /// convDesc, algo, void* workSpace, size_t workSpaceSizeInBytes, const void* beta, dwDesc, void* dw).
    /// </summary>
    [LibraryImport(Library, EntryPoint = "cudnnConvolutionBackwardFilter")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int ConvolutionBackwardFilter(nint handle, float* alpha, nint xDescriptor, nint x, nint dyDescriptor, nint dy, nint convolution, int algorithm,
        nint workspace, nuint workspaceBytes, float* beta, nint dwDescriptor, nint dw);

    /// <summary>"9.1.0" for a <see cref="GetVersion"/> value of 90100 (cuDNN 9's major·10000 + minor·100 + patch).</summary>
    public static string FormatVersion(ulong version) => $"{version / 10000}.{version / 100 % 100}.{version % 100}";
}
