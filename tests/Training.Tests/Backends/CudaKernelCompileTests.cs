using OnePass.Native.Interop;
using OnePass.Training.Backends.Cuda;

namespace OnePass.Training.Tests.Backends;

/// <summary>
/// A test that needs NVRTC (the CUDA run-time compiler) but no GPU or driver. Skipped, with the reason, where
/// NVRTC cannot be loaded, unless <c>ONEPASS_REQUIRE_NVRTC=1</c> (set by CI, which installs it): then it runs and
/// fails on the missing library instead of skipping.
/// </summary>
public sealed class NvrtcFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> UnavailableReason = new(FindReason);

    /// <summary>Sets <see cref="FactAttribute.Skip"/> when NVRTC is absent and not required.</summary>
    public NvrtcFactAttribute()
    {
        if (UnavailableReason.Value is { } reason && Environment.GetEnvironmentVariable("ONEPASS_REQUIRE_NVRTC") != "1")
        {
            Skip = $"NVRTC is not installed: {reason} (set ONEPASS_REQUIRE_NVRTC=1 to make this a failure)";
        }
    }

    private static string? FindReason()
    {
        LibrarySearchResult nvrtc = NativeLibraryResolver.Find(NativeLibraryResolver.NvrtcName);
        return nvrtc.Found ? null : $"{string.Join(", ", NativeLibraryResolver.FileNames(NativeLibraryResolver.NvrtcName, OperatingSystem.IsWindows()))} not found";
    }
}

/// <summary>
/// Compiles every kernel source the CUDA backend embeds, through the backend's own <see cref="NvrtcCompiler"/> and
/// options, for compute_80 and compute_90 PTX and sm_80 and sm_90 CUBIN; no warning is allowed, and every kernel the
/// backend looks up must be defined by exactly one module of each target. Needs NVRTC, not a GPU.
/// </summary>
public sealed class CudaKernelCompileTests
{
    private static readonly string[] Targets = ["compute_80", "compute_90", "sm_80", "sm_90"];

    [NvrtcFact]
    public void Every_kernel_source_compiles_without_warnings_and_defines_every_launched_kernel()
    {
        var failures = new List<string>();
        foreach (string target in Targets)
        {
            var definedBy = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (string source in CudaKernels.SourceNames)
            {
                NvrtcOutput output;
                try
                {
                    output = NvrtcCompiler.CompileWithLog(CudaKernels.ReadSource(source), source, target, CudaKernels.CompileOptions);
                }
                catch (CudaException e)
                {
                    failures.Add($"{source} for {target}: {e.Message}");
                    continue;
                }

                if (output.Log.Length > 0)
                {
                    failures.Add($"{source} for {target} compiled with a log (warnings are errors here):{Environment.NewLine}{output.Log}");
                }

                bool cubin = target.StartsWith("sm_", StringComparison.Ordinal);
                Assert.Equal(cubin, DeviceImage.IsElf(output.Image));
                if (!cubin)
                {
                    Assert.Equal("sm_" + target["compute_".Length..], DeviceImage.PtxTarget(DeviceImage.PtxText(output.Image)));
                }

                foreach (string entry in DeviceImage.EntryPoints(output.Image))
                {
                    if (!definedBy.TryGetValue(entry, out var modules))
                    {
                        definedBy[entry] = modules = [];
                    }

                    modules.Add(source);
                }
            }

            foreach (string kernel in CudaKernels.FunctionNames)
            {
                if (!definedBy.TryGetValue(kernel, out var modules))
                {
                    failures.Add($"{target}: kernel {kernel} is launched by the backend but no module defines it");
                }
                else if (modules.Count > 1)
                {
                    failures.Add($"{target}: kernel {kernel} is defined by {string.Join(" and ", modules)} (cuModuleGetFunction would take the first)");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [NvrtcFact]
    public void A_source_with_an_error_fails_with_the_compiler_log()
    {
        const string broken = "extern \"C\" __global__ void broken_kernel(float* x) { x[threadIdx.x] = undefined_name; }";

        var error = Assert.Throws<CudaException>(() => NvrtcCompiler.CompileWithLog(broken, "broken.cu", "compute_80", CudaKernels.CompileOptions));

        Assert.Equal("NVRTC_ERROR_COMPILATION", error.StatusName);
        Assert.Contains("undefined_name", error.Message);
    }

    [NvrtcFact]
    public void A_warning_reaches_the_log_of_a_successful_compilation()
    {
        // An unused variable is a warning, not an error: the compile test above must be able to see it.
        const string warns = "extern \"C\" __global__ void warns(float* x) { int unused = 3; x[threadIdx.x] = 1.0f; }";

        NvrtcOutput output = NvrtcCompiler.CompileWithLog(warns, "warns.cu", "compute_80", CudaKernels.CompileOptions);

        Assert.Contains("warning", output.Log);
        Assert.Equal(["warns"], DeviceImage.EntryPoints(output.Image));
    }

    [NvrtcFact]
    public void Nvrtc_reports_the_architectures_it_supports_and_a_newer_gpu_falls_back_to_ptx()
    {
        IReadOnlyList<int> supported = NvrtcCompiler.SupportedArchitectures();
        Assert.Contains(80, supported);
        Assert.Contains(90, supported);

        // A GPU newer than every architecture this NVRTC knows gets PTX of the newest one, which really compiles.
        int newest = supported.Max();
        TargetArchitecture choice = TargetArchitecture.Choose((newest / 10) + 1, 0, supported, NvrtcCompiler.Version());
        Assert.Equal($"compute_{newest}", choice.Architecture);
        Assert.NotNull(choice.Note);
        byte[] ptx = NvrtcCompiler.Compile(CudaKernels.ReadSource(CudaKernels.SourceNames[0]), CudaKernels.SourceNames[0], choice.Architecture, CudaKernels.CompileOptions);
        Assert.False(DeviceImage.IsElf(ptx));
        Assert.Equal($"sm_{newest}", DeviceImage.PtxTarget(DeviceImage.PtxText(ptx)));
    }

    [NvrtcFact]
    public void Status_names_ask_the_loaded_nvrtc_and_keep_unknown_codes_unknown()
    {
        // NVRTC answers "NVRTC_ERROR unknown" for a code it does not know: that must not become the name.
        Assert.Equal("NVRTC_UNKNOWN_STATUS", StatusNames.Name(CudaLibraryKind.Nvrtc, 4321));
        Assert.Equal("NVRTC_ERROR_COMPILATION", StatusNames.Name(CudaLibraryKind.Nvrtc, 6));
        Assert.Equal("NVRTC_ERROR_INVALID_OPTION", StatusNames.Describe(CudaLibraryKind.Nvrtc, 5, (_, _) => (null, null)).Name);
    }
}
