using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OnePass.Native.Interop;

/// <summary>
/// Source-generated bindings to the CUDA driver API (libcuda / nvcuda). Every function returns a CUresult;
/// pass it to <see cref="CudaCheck.Driver"/>. Handles are raw pointers; device pointers are 64-bit integers.
/// </summary>
public static unsafe partial class CudaDriver
{
    private const string Library = NativeLibraryResolver.CudaDriverName;

    static CudaDriver() => NativeLibraryResolver.EnsureInstalled();

    /// <summary>CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT.</summary>
    public const int AttributeMultiprocessorCount = 16;

    /// <summary>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR.</summary>
    public const int AttributeComputeCapabilityMajor = 75;

    /// <summary>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR.</summary>
    public const int AttributeComputeCapabilityMinor = 76;

    /// <summary>CU_STREAM_NON_BLOCKING: the stream does not synchronise with the legacy default stream.</summary>
    public const uint StreamNonBlocking = 1;

    /// <summary>CU_EVENT_DEFAULT.</summary>
    public const uint EventDefault = 0;

    /// <summary>CU_STREAM_CAPTURE_MODE_THREAD_LOCAL.</summary>
    public const int StreamCaptureModeThreadLocal = 1;

    /// <summary>CUresult cuInit(unsigned int Flags).</summary>
    [LibraryImport(Library, EntryPoint = "cuInit")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int Init(uint flags);

    /// <summary>CUresult cuDriverGetVersion(int* driverVersion).</summary>
    [LibraryImport(Library, EntryPoint = "cuDriverGetVersion")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int DriverGetVersion(out int driverVersion);

    /// <summary>CUresult cuDeviceGetCount(int* count).</summary>
    [LibraryImport(Library, EntryPoint = "cuDeviceGetCount")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int DeviceGetCount(out int count);

    /// <summary>CUresult cuDeviceGet(CUdevice* device, int ordinal).</summary>
    [LibraryImport(Library, EntryPoint = "cuDeviceGet")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int DeviceGet(out int device, int ordinal);

    /// <summary>CUresult cuDeviceGetName(char* name, int len, CUdevice dev).</summary>
    [LibraryImport(Library, EntryPoint = "cuDeviceGetName")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int DeviceGetName(byte* name, int length, int device);

    /// <summary>CUresult cuDeviceGetAttribute(int* pi, CUdevice_attribute attrib, CUdevice dev).</summary>
    [LibraryImport(Library, EntryPoint = "cuDeviceGetAttribute")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int DeviceGetAttribute(out int value, int attribute, int device);

    /// <summary>CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice dev).</summary>
    [LibraryImport(Library, EntryPoint = "cuDeviceTotalMem_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int DeviceTotalMem(out nuint bytes, int device);

    /// <summary>CUresult cuDevicePrimaryCtxRetain(CUcontext* pctx, CUdevice dev).</summary>
    [LibraryImport(Library, EntryPoint = "cuDevicePrimaryCtxRetain")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int DevicePrimaryCtxRetain(out nint context, int device);

    /// <summary>CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev).</summary>
    [LibraryImport(Library, EntryPoint = "cuDevicePrimaryCtxRelease_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int DevicePrimaryCtxRelease(int device);

    /// <summary>CUresult cuCtxSetCurrent(CUcontext ctx).</summary>
    [LibraryImport(Library, EntryPoint = "cuCtxSetCurrent")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int CtxSetCurrent(nint context);

    /// <summary>CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytesize).</summary>
    [LibraryImport(Library, EntryPoint = "cuMemAlloc_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int MemAlloc(out ulong devicePointer, nuint bytes);

    /// <summary>CUresult cuMemFree_v2(CUdeviceptr dptr).</summary>
    [LibraryImport(Library, EntryPoint = "cuMemFree_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int MemFree(ulong devicePointer);

    /// <summary>CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t bytes, CUstream stream).</summary>
    [LibraryImport(Library, EntryPoint = "cuMemcpyHtoDAsync_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int MemcpyHtoDAsync(ulong destination, void* source, nuint bytes, nint stream);

    /// <summary>CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes, CUstream stream).</summary>
    [LibraryImport(Library, EntryPoint = "cuMemcpyDtoHAsync_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int MemcpyDtoHAsync(void* destination, ulong source, nuint bytes, nint stream);

    /// <summary>CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream).</summary>
    [LibraryImport(Library, EntryPoint = "cuMemcpyDtoDAsync_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int MemcpyDtoDAsync(ulong destination, ulong source, nuint bytes, nint stream);

    /// <summary>CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t count, CUstream stream).</summary>
    [LibraryImport(Library, EntryPoint = "cuMemsetD32Async")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int MemsetD32Async(ulong destination, uint value, nuint count, nint stream);

    /// <summary>CUresult cuStreamCreate(CUstream* stream, unsigned int flags).</summary>
    [LibraryImport(Library, EntryPoint = "cuStreamCreate")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int StreamCreate(out nint stream, uint flags);

    /// <summary>CUresult cuStreamDestroy_v2(CUstream stream).</summary>
    [LibraryImport(Library, EntryPoint = "cuStreamDestroy_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int StreamDestroy(nint stream);

    /// <summary>CUresult cuStreamSynchronize(CUstream stream).</summary>
    [LibraryImport(Library, EntryPoint = "cuStreamSynchronize")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int StreamSynchronize(nint stream);

    /// <summary>CUresult cuEventCreate(CUevent* event, unsigned int flags).</summary>
    [LibraryImport(Library, EntryPoint = "cuEventCreate")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int EventCreate(out nint cudaEvent, uint flags);

    /// <summary>CUresult cuEventRecord(CUevent event, CUstream stream).</summary>
    [LibraryImport(Library, EntryPoint = "cuEventRecord")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int EventRecord(nint cudaEvent, nint stream);

    /// <summary>CUresult cuEventSynchronize(CUevent event).</summary>
    [LibraryImport(Library, EntryPoint = "cuEventSynchronize")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int EventSynchronize(nint cudaEvent);

    /// <summary>CUresult cuEventElapsedTime(float* milliseconds, CUevent start, CUevent end).</summary>
    [LibraryImport(Library, EntryPoint = "cuEventElapsedTime")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int EventElapsedTime(out float milliseconds, nint start, nint end);

    /// <summary>CUresult cuEventDestroy_v2(CUevent event).</summary>
    [LibraryImport(Library, EntryPoint = "cuEventDestroy_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int EventDestroy(nint cudaEvent);

    /// <summary>CUresult cuModuleLoadData(CUmodule* module, const void* image).</summary>
    [LibraryImport(Library, EntryPoint = "cuModuleLoadData")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int ModuleLoadData(out nint module, void* image);

    /// <summary>CUresult cuModuleGetFunction(CUfunction* function, CUmodule module, const char* name).</summary>
    [LibraryImport(Library, EntryPoint = "cuModuleGetFunction", StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int ModuleGetFunction(out nint function, nint module, string name);

    /// <summary>CUresult cuModuleUnload(CUmodule module).</summary>
    [LibraryImport(Library, EntryPoint = "cuModuleUnload")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int ModuleUnload(nint module);

    /// <summary>
    /// CUresult cuLaunchKernel(CUfunction f, grid x/y/z, block x/y/z, unsigned int sharedMemBytes, CUstream stream,
    /// void** kernelParams, void** extra).
    /// </summary>
    [LibraryImport(Library, EntryPoint = "cuLaunchKernel")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int LaunchKernel(nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ, uint sharedMemoryBytes, nint stream, void** kernelParameters, void** extra);

    /// <summary>CUresult cuStreamBeginCapture_v2(CUstream stream, CUstreamCaptureMode mode).</summary>
    [LibraryImport(Library, EntryPoint = "cuStreamBeginCapture_v2")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int StreamBeginCapture(nint stream, int mode);

    /// <summary>CUresult cuStreamEndCapture(CUstream stream, CUgraph* graph).</summary>
    [LibraryImport(Library, EntryPoint = "cuStreamEndCapture")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int StreamEndCapture(nint stream, out nint graph);

    /// <summary>CUresult cuGraphInstantiateWithFlags(CUgraphExec* exec, CUgraph graph, unsigned long long flags).</summary>
    [LibraryImport(Library, EntryPoint = "cuGraphInstantiateWithFlags")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GraphInstantiateWithFlags(out nint graphExec, nint graph, ulong flags);

    /// <summary>CUresult cuGraphLaunch(CUgraphExec exec, CUstream stream).</summary>
    [LibraryImport(Library, EntryPoint = "cuGraphLaunch")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GraphLaunch(nint graphExec, nint stream);

    /// <summary>CUresult cuGraphExecDestroy(CUgraphExec exec).</summary>
    [LibraryImport(Library, EntryPoint = "cuGraphExecDestroy")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GraphExecDestroy(nint graphExec);

    /// <summary>CUresult cuGraphDestroy(CUgraph graph).</summary>
    [LibraryImport(Library, EntryPoint = "cuGraphDestroy")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GraphDestroy(nint graph);

    /// <summary>CUresult cuGetErrorName(CUresult error, const char** name).</summary>
    [LibraryImport(Library, EntryPoint = "cuGetErrorName")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetErrorName(int error, out nint name);

    /// <summary>CUresult cuGetErrorString(CUresult error, const char** description).</summary>
    [LibraryImport(Library, EntryPoint = "cuGetErrorString")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetErrorString(int error, out nint description);
}
