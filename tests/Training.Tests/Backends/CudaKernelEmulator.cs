using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using OnePass.Training.Backends.Cuda;

namespace OnePass.Training.Tests.Backends;

/// <summary>
/// Runs kernel sources from <c>kernels/</c> on the host: each source is compiled as C++ by the system's C++ compiler
/// with a small emulation header (blockIdx, threadIdx, atomicAdd, ...), and every kernel gets a trampoline taking the
/// same argument array as cuLaunchKernel. A launch runs the kernel on one thread of one block, which the grid-stride
/// loops make cover every element: exact for kernels without shared memory or barriers (the families emulated
/// here), and for the block reductions of <c>losses.cu</c>, whose shuffles with the absent lanes of a one-thread
/// block are made neutral. The backend's own family classes drive it through <see cref="ICudaLauncher"/> with "device" pointers
/// into host memory. Not a GPU: it checks the kernels' arithmetic and the launch sites' argument lists, not timing,
/// races or memory spaces.
/// </summary>
internal sealed unsafe partial class CudaKernelEmulator : ICudaLauncher, IDisposable
{
    private const string Header = """
        #include <math.h>
        #include <string.h>
        #include <algorithm>
        using std::max;
        using std::min;
        struct onepass_dim3 { unsigned x, y, z; };
        static const onepass_dim3 threadIdx = {0, 0, 0}, blockIdx = {0, 0, 0}, blockDim = {1, 1, 1}, gridDim = {1, 1, 1};
        #define __global__
        #define __device__
        #define __forceinline__ inline
        static inline float atomicAdd(float* address, float value) { float old = *address; *address = old + value; return old; }
        static inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long value) { unsigned long long old = *address; *address = old + value; return old; }
        static inline int atomicCAS(int* address, int compare, int value) { int old = *address; if (old == compare) *address = value; return old; }
        static inline float __int_as_float(int bits) { float f; memcpy(&f, &bits, sizeof f); return f; }
        static inline double __longlong_as_double(long long bits) { double d; memcpy(&d, &bits, sizeof d); return d; }
        // Block reductions with one thread: shared memory is static storage, barriers do nothing, and a shuffle reads a
        // lane that does not exist, which the reductions' operators below treat as absent.
        #define __shared__ static
        static inline void __syncthreads() {}
        struct onepass_absent_lane {};
        template <typename T> static inline onepass_absent_lane __shfl_down_sync(unsigned, T, int) { return {}; }
        static inline double& operator+=(double& v, onepass_absent_lane) { return v; }
        static inline float fmaxf(float v, onepass_absent_lane) { return v; }
        """;

    private static readonly Lazy<string?> Compiler = new(FindCompiler);
    private readonly nint library;
    private readonly string folder;
    private const int GuardFloats = 4096;
    private const float Sentinel = -12345.678f;
    private readonly List<nint> allocations = [];
    private readonly List<CudaBuffer> buffers = [];
    private readonly nint indexErrors;

    public CudaKernelEmulator(params string[] sourceNames)
    {
        folder = Path.Combine(Path.GetTempPath(), "onepass-kernel-emulator-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var program = new StringBuilder(Header).AppendLine();
        var trampolines = new StringBuilder();
        foreach (string name in sourceNames)
        {
            string source = CudaKernels.ReadSource(name);
            program.AppendLine($"// ---- {name}").AppendLine(source);
            foreach (Match kernel in KernelDeclaration().Matches(source))
            {
                string[] parameters = kernel.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                string arguments = string.Join(", ", parameters.Select((p, i) => $"*({ParameterType().Match(p).Groups[1].Value.Trim()}*)a[{i}]"));
                trampolines.AppendLine($"extern \"C\" void launch_{kernel.Groups[1].Value}(void** a) {{ {kernel.Groups[1].Value}({arguments}); }}");
            }
        }

        string file = Path.Combine(folder, "emulated.cpp");
        File.WriteAllText(file, program.Append(trampolines).ToString());
        string output = Path.Combine(folder, "libemulated.so");
        var info = new ProcessStartInfo(Compiler.Value ?? throw new InvalidOperationException(UnavailableReason))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])["-std=c++17", "-O1", "-shared", "-fPIC", "-o", output, file])
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"the C++ compiler rejected the emulated kernels:{Environment.NewLine}{errors}");
        }

        library = NativeLibrary.Load(output);
        indexErrors = (nint)NativeMemory.AllocZeroed(4 * sizeof(int));
        allocations.Add(indexErrors);
    }

    /// <summary>The index-error record the kernels write (kind, value, bound, position), in host memory.</summary>
    public ulong IndexErrors => (ulong)indexErrors;

    /// <summary>The index-error record's four ints, cleared after reading (as the backend does when it throws).</summary>
    public int[] TakeIndexError()
    {
        var record = new Span<int>((void*)indexErrors, 4);
        int[] values = record.ToArray();
        record.Clear();
        return values;
    }

    /// <summary>Why the emulator cannot run here (no C++ compiler), or null.</summary>
    public static string? UnavailableReason => Compiler.Value is null ? "no C++ compiler (c++, g++ or clang++) on PATH" : null;

    /// <summary>The skip reason for emulator tests: null when they can run, or when ONEPASS_REQUIRE_CXX=1 makes a missing compiler a failure.</summary>
    public static string? SkipReason =>
        UnavailableReason is { } reason && Environment.GetEnvironmentVariable("ONEPASS_REQUIRE_CXX") != "1"
            ? $"{reason} (set ONEPASS_REQUIRE_CXX=1 to make this a failure)"
            : null;

    /// <summary>The trampoline of kernel <paramref name="name"/>, used as its function handle.</summary>
    public nint Function(string name) => NativeLibrary.GetExport(library, "launch_" + name);

    public void Bind()
    {
    }

    public Tensors.DeviceBuffer Allocate(int length) => Upload(new float[length]);

    /// <summary>The backend's GEMM as a plain host product in double (cuBLAS stands outside what the emulator checks).</summary>
    public void Gemm(bool transposeA, bool transposeB, int m, int n, int k, float alpha, Tensors.DeviceBuffer a, Tensors.DeviceBuffer b, float beta, Tensors.DeviceBuffer c)
    {
        Assert.True(a.Length >= (long)m * k && b.Length >= (long)k * n && c.Length >= (long)m * n, "GEMM operands too small");
        float* pa = (float*)((CudaBuffer)a).Pointer, pb = (float*)((CudaBuffer)b).Pointer, pc = (float*)((CudaBuffer)c).Pointer;
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    sum += (double)pa[transposeA ? ((long)p * m) + i : ((long)i * k) + p] * pb[transposeB ? ((long)j * k) + p : ((long)p * n) + j];
                }

                long at = ((long)i * n) + j;
                pc[at] = (float)((alpha * sum) + (beta == 0f ? 0.0 : (double)beta * pc[at]));
            }
        }
    }

    public void Launch(nint function, uint grid, params ReadOnlySpan<KernelArgument> arguments)
    {
        Assert.True(grid >= 1, "a launch needs at least one block");
        ulong* values = stackalloc ulong[arguments.Length];
        void** pointers = stackalloc void*[arguments.Length];
        for (int i = 0; i < arguments.Length; i++)
        {
            values[i] = arguments[i].Bits;
            pointers[i] = &values[i];
        }

        ((delegate* unmanaged<void**, void>)function)(pointers);
    }

    /// <summary>
    /// "Device" memory holding <paramref name="values"/> (host memory, freed with the emulator), followed by a guard of
    /// <see cref="GuardFloats"/> sentinel values so that a kernel writing past the end is reported, not a heap corruption.
    /// </summary>
    public CudaBuffer Upload(float[] values)
    {
        nint memory = (nint)NativeMemory.Alloc((nuint)(values.Length + GuardFloats) * sizeof(float));
        allocations.Add(memory);
        var all = new Span<float>((void*)memory, values.Length + GuardFloats);
        values.CopyTo(all);
        all[values.Length..].Fill(Sentinel);
        var buffer = CudaBuffer.Wrap((ulong)memory, values.Length);
        buffers.Add(buffer);
        return buffer;
    }

    /// <summary>"Device" memory holding int32 ids (host memory, freed with the emulator).</summary>
    public CudaIndexBuffer UploadIds(int[] values)
    {
        nint memory = (nint)NativeMemory.Alloc((nuint)Math.Max(1, values.Length) * sizeof(int));
        allocations.Add(memory);
        values.CopyTo(new Span<int>((void*)memory, values.Length));
        return CudaIndexBuffer.Wrap((ulong)memory, values.Length);
    }

    /// <summary>Copies an index buffer back.</summary>
    public int[] DownloadIds(CudaIndexBuffer buffer)
    {
        CheckGuards();
        return new ReadOnlySpan<int>((void*)buffer.Pointer, buffer.Length).ToArray();
    }

    /// <summary>Copies a buffer back, after checking that no kernel wrote into any buffer's guard.</summary>
    public float[] Download(CudaBuffer buffer)
    {
        CheckGuards();
        return new ReadOnlySpan<float>((void*)buffer.Pointer, buffer.Length).ToArray();
    }

    private void CheckGuards()
    {
        foreach (var buffer in buffers)
        {
            var guard = new ReadOnlySpan<float>((void*)(buffer.Pointer + ((ulong)buffer.Length * sizeof(float))), GuardFloats);
            int written = guard.IndexOfAnyExcept(Sentinel);
            Assert.True(written < 0, $"a kernel wrote past the end of a buffer of {buffer.Length} (guard element {written} changed)");
        }
    }

    public void Dispose()
    {
        foreach (nint memory in allocations)
        {
            NativeMemory.Free((void*)memory);
        }

        allocations.Clear();
        NativeLibrary.Free(library);
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string? FindCompiler()
    {
        foreach (string name in (string[])["c++", "g++", "clang++"])
        {
            foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                string candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    [GeneratedRegex(@"extern ""C"" __global__ void (\w+)\(([^)]*)\)")]
    private static partial Regex KernelDeclaration();

    [GeneratedRegex(@"^(.*?)\w+$")]
    private static partial Regex ParameterType();
}

/// <summary>
/// A test that needs a host C++ compiler for <see cref="CudaKernelEmulator"/>; skipped, with the reason, without one,
/// unless <c>ONEPASS_REQUIRE_CXX=1</c> (set by CI, which installs one): then it runs and fails instead.
/// </summary>
public sealed class KernelEmulatorFactAttribute : FactAttribute
{
    public KernelEmulatorFactAttribute()
    {
        Skip = CudaKernelEmulator.SkipReason;
    }
}

/// <summary>A theory that needs a host C++ compiler for <see cref="CudaKernelEmulator"/>; skipped as <see cref="KernelEmulatorFactAttribute"/> is.</summary>
public sealed class KernelEmulatorTheoryAttribute : TheoryAttribute
{
    public KernelEmulatorTheoryAttribute()
    {
        Skip = CudaKernelEmulator.SkipReason;
    }
}
