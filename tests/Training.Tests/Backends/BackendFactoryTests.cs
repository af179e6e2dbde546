using OnePass.Training.Backends;
using OnePass.Training.Backends.Cuda;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Backends;

public sealed class BackendFactoryTests
{
    private static readonly CudaProbeResult NoDriver = CudaProbeResult.Unavailable("no CUDA driver (libcuda.so.1 not found)");

    private static IBackend NeverCreated() => throw new InvalidOperationException("the CUDA backend must not be created");

    [Fact]
    public void Auto_without_gpu_uses_cpu_and_says_why_in_one_line()
    {
        var log = new List<string>();

        using IBackend backend = BackendFactory.Create("auto", log.Add, () => NoDriver, NeverCreated);

        Assert.IsType<CpuBackend>(backend);
        Assert.Equal(["no CUDA driver (libcuda.so.1 not found); using the CPU backend"], log);
    }

    [Fact]
    public void Auto_with_gpu_uses_cuda()
    {
        var log = new List<string>();
        var fake = new CpuBackend();

        IBackend backend = BackendFactory.Create("AUTO", log.Add, () => new CudaProbeResult(true, "1 device"), () => fake);

        Assert.Same(fake, backend);
        Assert.Empty(log);
    }

    [Fact]
    public void Auto_falls_back_when_the_cuda_backend_fails_to_start()
    {
        var log = new List<string>();

        using IBackend backend = BackendFactory.Create("auto", log.Add, () => new CudaProbeResult(true, "1 device"),
            () => throw new InvalidOperationException("nvrtcCompileProgram failed: NVRTC_ERROR_INVALID_OPTION (5): invalid compiler option\nlog"));

        Assert.IsType<CpuBackend>(backend);
        Assert.Equal(["the CUDA backend failed to start (nvrtcCompileProgram failed: NVRTC_ERROR_INVALID_OPTION (5): invalid compiler option); using the CPU backend"], log);
    }

    [Fact]
    public void Cuda_without_gpu_throws_a_one_line_error()
    {
        var error = Assert.Throws<BackendUnavailableException>(() => BackendFactory.Create("cuda", _ => { }, () => NoDriver, NeverCreated));

        Assert.Equal("the cuda backend was requested but CUDA is not usable: no CUDA driver (libcuda.so.1 not found); choose the cpu or auto backend", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Cpu_never_probes_cuda()
    {
        using IBackend backend = BackendFactory.Create(" cpu ", _ => { }, () => throw new InvalidOperationException("probed"), NeverCreated);

        Assert.Equal("cpu", backend.Name);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("")]
    public void Unknown_choice_lists_the_valid_ones(string choice)
    {
        var error = Assert.Throws<ArgumentException>(() => BackendFactory.Create(choice, _ => { }, () => NoDriver, NeverCreated));

        Assert.Contains($"unknown backend '{choice}'", error.Message);
        Assert.Contains("auto, cpu, cuda", error.Message);
    }

    [Fact]
    public void Real_probe_gives_a_reason_when_unavailable()
    {
        // Runs on any machine: either CUDA is usable, or the probe explains why not.
        CudaProbeResult result = CudaProbe.Run();

        Assert.False(string.IsNullOrWhiteSpace(result.Reason));
        if (!result.Available)
        {
            var log = new List<string>();
            using IBackend backend = BackendFactory.Create("auto", log.Add);
            Assert.Equal("cpu", backend.Name);
            Assert.Single(log);
            Assert.EndsWith("; using the CPU backend", log[0]);
        }
    }
}
