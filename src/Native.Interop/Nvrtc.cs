using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OnePass.Native.Interop;

/// <summary>
/// Source-generated bindings to NVRTC, the CUDA run-time compiler. Every function but
/// <see cref="GetErrorString"/> returns an nvrtcResult; pass it to <see cref="CudaCheck.Nvrtc"/>.
/// </summary>
public static unsafe partial class Nvrtc
{
    private const string Library = NativeLibraryResolver.NvrtcName;

    static Nvrtc() => NativeLibraryResolver.EnsureInstalled();

    /// <summary>nvrtcResult nvrtcVersion(int* major, int* minor).</summary>
    [LibraryImport(Library, EntryPoint = "nvrtcVersion")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int Version(out int major, out int minor);

    /// <summary>
    /// nvrtcResult nvrtcCreateProgram(nvrtcProgram* prog, const char* src, const char* name, int numHeaders,
    /// const char* const* headers, const char* const* includeNames).
    /// </summary>
    [LibraryImport(Library, EntryPoint = "nvrtcCreateProgram", StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int CreateProgram(out nint program, string source, string name, int headerCount, byte** headers, byte** includeNames);

    /// <summary>nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int numOptions, const char* const* options).</summary>
    [LibraryImport(Library, EntryPoint = "nvrtcCompileProgram")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int CompileProgram(nint program, int optionCount, byte** options);

    /// <summary>nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, size_t* logSizeRet).</summary>
    [LibraryImport(Library, EntryPoint = "nvrtcGetProgramLogSize")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetProgramLogSize(nint program, out nuint size);

    /// <summary>nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, char* log).</summary>
    [LibraryImport(Library, EntryPoint = "nvrtcGetProgramLog")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetProgramLog(nint program, byte* log);

    /// <summary>nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, size_t* ptxSizeRet).</summary>
    [LibraryImport(Library, EntryPoint = "nvrtcGetPTXSize")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetPtxSize(nint program, out nuint size);

    /// <summary>nvrtcResult nvrtcGetPTX(nvrtcProgram prog, char* ptx).</summary>
    [LibraryImport(Library, EntryPoint = "nvrtcGetPTX")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetPtx(nint program, byte* ptx);

    /// <summary>nvrtcResult nvrtcGetCUBINSize(nvrtcProgram prog, size_t* cubinSizeRet).</summary>
    [LibraryImport(Library, EntryPoint = "nvrtcGetCUBINSize")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetCubinSize(nint program, out nuint size);

    /// <summary>nvrtcResult nvrtcGetCUBIN(nvrtcProgram prog, char* cubin).</summary>
    [LibraryImport(Library, EntryPoint = "nvrtcGetCUBIN")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetCubin(nint program, byte* cubin);

    /// <summary>nvrtcResult nvrtcDestroyProgram(nvrtcProgram* prog).</summary>
    [LibraryImport(Library, EntryPoint = "nvrtcDestroyProgram")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int DestroyProgram(ref nint program);

    /// <summary>nvrtcResult nvrtcGetNumSupportedArchs(int* numArchs) (NVRTC 11.2 and later).</summary>
    [LibraryImport(Library, EntryPoint = "nvrtcGetNumSupportedArchs")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetNumSupportedArchs(out int count);

    /// <summary>
    /// nvrtcResult nvrtcGetSupportedArchs(int* supportedArchs) (NVRTC 11.2 and later): fills the array, sized by
    /// <see cref="GetNumSupportedArchs"/>, with the architectures this NVRTC can target as 10 × major + minor, ascending.
    /// </summary>
    [LibraryImport(Library, EntryPoint = "nvrtcGetSupportedArchs")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetSupportedArchs(int* architectures);

    /// <summary>const char* nvrtcGetErrorString(nvrtcResult result).</summary>
    [LibraryImport(Library, EntryPoint = "nvrtcGetErrorString")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint GetErrorString(int result);
}
