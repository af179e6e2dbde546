using System.Runtime.InteropServices;
using System.Text;

namespace OnePass.Native.Interop;

/// <summary>Compiles CUDA C source to a device image with NVRTC.</summary>
public static unsafe class NvrtcCompiler
{
    /// <summary>The NVRTC version as "major.minor".</summary>
    public static string Version()
    {
        CudaCheck.Nvrtc(Nvrtc.Version(out int major, out int minor), "nvrtcVersion");
        return $"{major}.{minor}";
    }

    /// <summary>
    /// The architectures this NVRTC can target, as 10 × major + minor in ascending order (80 for sm_80), from
    /// <c>nvrtcGetSupportedArchs</c>; empty when the library predates that call (NVRTC before 11.2).
    /// </summary>
    public static IReadOnlyList<int> SupportedArchitectures()
    {
        try
        {
            CudaCheck.Nvrtc(Nvrtc.GetNumSupportedArchs(out int count), "nvrtcGetNumSupportedArchs");
            var architectures = new int[count];
            fixed (int* destination = architectures)
            {
                CudaCheck.Nvrtc(Nvrtc.GetSupportedArchs(destination), "nvrtcGetSupportedArchs");
            }

            Array.Sort(architectures);
            return architectures;
        }
        catch (EntryPointNotFoundException)
        {
            return [];
        }
    }

    /// <summary>
    /// Compiles <paramref name="source"/>. When <paramref name="architecture"/> is a real architecture ("sm_90")
    /// the result is a CUBIN for exactly that device; for a virtual one ("compute_90") it is PTX (NUL-terminated),
    /// which the driver JIT-compiles. Throws a <see cref="CudaException"/> carrying the compiler log on failure.
    /// </summary>
    public static byte[] Compile(string source, string programName, string architecture, IReadOnlyList<string> options) =>
        CompileWithLog(source, programName, architecture, options).Image;

    /// <summary>
    /// As <see cref="Compile"/>, but also returns the compiler log of a successful compilation (its warnings;
    /// empty when there were none).
    /// </summary>
    public static NvrtcOutput CompileWithLog(string source, string programName, string architecture, IReadOnlyList<string> options)
    {
        var allOptions = new List<string>(options.Count + 1) { $"--gpu-architecture={architecture}" };
        allOptions.AddRange(options);
        bool cubin = architecture.StartsWith("sm_", StringComparison.Ordinal);

        CudaCheck.Nvrtc(Nvrtc.CreateProgram(out nint program, source, programName, 0, null, null), "nvrtcCreateProgram");
        var pointers = new nint[allOptions.Count];
        try
        {
            for (int i = 0; i < pointers.Length; i++)
            {
                pointers[i] = Marshal.StringToCoTaskMemUTF8(allOptions[i]);
            }

            int status;
            fixed (nint* optionPointers = pointers)
            {
                status = Nvrtc.CompileProgram(program, pointers.Length, (byte**)optionPointers);
            }

            if (status != 0)
            {
                throw new CudaException(CudaLibraryKind.Nvrtc, "nvrtcCompileProgram", status,
                    $"compiling {programName} for {architecture} with [{string.Join(' ', allOptions)}]:{Environment.NewLine}{Log(program) ?? "(no compiler log)"}");
            }

            nuint size;
            if (cubin)
            {
                CudaCheck.Nvrtc(Nvrtc.GetCubinSize(program, out size), "nvrtcGetCUBINSize");
            }
            else
            {
                CudaCheck.Nvrtc(Nvrtc.GetPtxSize(program, out size), "nvrtcGetPTXSize");
            }

            var image = new byte[checked((int)size)];
            fixed (byte* destination = image)
            {
                CudaCheck.Nvrtc(cubin ? Nvrtc.GetCubin(program, destination) : Nvrtc.GetPtx(program, destination), cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX");
            }

            return new NvrtcOutput(image, Log(program) ?? "", architecture);
        }
        finally
        {
            foreach (nint pointer in pointers)
            {
                Marshal.FreeCoTaskMem(pointer);
            }

            Nvrtc.DestroyProgram(ref program);
        }
    }

    // The program's log without its terminating NUL and trailing blanks; null when there is none.
    private static string? Log(nint program)
    {
        if (Nvrtc.GetProgramLogSize(program, out nuint size) != 0 || size <= 1)
        {
            return null;
        }

        var log = new byte[checked((int)size)];
        fixed (byte* destination = log)
        {
            if (Nvrtc.GetProgramLog(program, destination) != 0)
            {
                return "(compiler log unavailable)";
            }
        }

        string text = Encoding.UTF8.GetString(log, 0, log.Length - 1).TrimEnd();
        return text.Length == 0 ? null : text;
    }
}
