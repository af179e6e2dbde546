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
    /// Compiles <paramref name="source"/>. When <paramref name="architecture"/> is a real architecture ("sm_90")
    /// the result is a CUBIN for exactly that device; for a virtual one ("compute_90") it is PTX (NUL-terminated),
    /// which the driver JIT-compiles. Throws a <see cref="CudaException"/> carrying the compiler log on failure.
    /// </summary>
    public static byte[] Compile(string source, string programName, string architecture, IReadOnlyList<string> options)
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
                    $"compiling {programName} for {architecture} with [{string.Join(' ', allOptions)}]:{Environment.NewLine}{Log(program)}");
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

            var image = new byte[(int)size];
            fixed (byte* destination = image)
            {
                CudaCheck.Nvrtc(cubin ? Nvrtc.GetCubin(program, destination) : Nvrtc.GetPtx(program, destination), cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX");
            }

            return image;
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

    private static string Log(nint program)
    {
        if (Nvrtc.GetProgramLogSize(program, out nuint size) != 0 || size <= 1)
        {
            return "(no compiler log)";
        }

        var log = new byte[(int)size];
        fixed (byte* destination = log)
        {
            if (Nvrtc.GetProgramLog(program, destination) != 0)
            {
                return "(compiler log unavailable)";
            }
        }

        return Encoding.UTF8.GetString(log, 0, log.Length - 1).TrimEnd();
    }
}
