using OnePass.Native.Interop;

namespace OnePass.Native.Interop.Tests;

public sealed class StatusMessageTests
{
    [Fact]
    public void Driver_error_names_function_status_and_description()
    {
        var error = Assert.Throws<CudaException>(() => CudaCheck.Driver(2, "cuMemAlloc_v2"));

        Assert.Equal("cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory", error.Message);
        Assert.Equal(CudaLibraryKind.Driver, error.Library);
        Assert.Equal(2, error.Status);
        Assert.Equal("CUDA_ERROR_OUT_OF_MEMORY", error.StatusName);
    }

    [Fact]
    public void Success_does_not_throw()
    {
        CudaCheck.Driver(0, "cuInit");
        CudaCheck.Nvrtc(0, "nvrtcCompileProgram");
        CudaCheck.Cublas(0, "cublasSgemm_v2");
        CudaCheck.Cudnn(0, "cudnnConvolutionForward");
    }

    [Fact]
    public void Cudnn_errors_use_the_cudnn_prefix()
    {
        var error = Assert.Throws<CudaException>(() => CudaCheck.Cudnn(2006, "cudnnConvolutionForward"));

        Assert.Equal(CudaLibraryKind.Cudnn, error.Library);
        Assert.StartsWith("cudnnConvolutionForward failed: CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT (2006)", error.Message);
        Assert.Equal("CUDNN_UNKNOWN_STATUS", StatusNames.Describe(CudaLibraryKind.Cudnn, 987654, (_, _) => (null, null)).Name);
    }

    [Theory]
    [InlineData(CudaLibraryKind.Driver, 100, "CUDA_ERROR_NO_DEVICE")]
    [InlineData(CudaLibraryKind.Driver, 209, "CUDA_ERROR_NO_BINARY_FOR_GPU")]
    [InlineData(CudaLibraryKind.Driver, 700, "CUDA_ERROR_ILLEGAL_ADDRESS")]
    [InlineData(CudaLibraryKind.Nvrtc, 6, "NVRTC_ERROR_COMPILATION")]
    [InlineData(CudaLibraryKind.Nvrtc, 5, "NVRTC_ERROR_INVALID_OPTION")]
    [InlineData(CudaLibraryKind.Cublas, 7, "CUBLAS_STATUS_INVALID_VALUE")]
    [InlineData(CudaLibraryKind.Cublas, 13, "CUBLAS_STATUS_EXECUTION_FAILED")]
    [InlineData(CudaLibraryKind.Cudnn, 2000, "CUDNN_STATUS_BAD_PARAM")]
    [InlineData(CudaLibraryKind.Cudnn, 3000, "CUDNN_STATUS_NOT_SUPPORTED")]
    [InlineData(CudaLibraryKind.Cudnn, 5000, "CUDNN_STATUS_EXECUTION_FAILED")]
    public void Common_codes_have_names(CudaLibraryKind library, int status, string name)
    {
        Assert.Equal(name, StatusNames.Name(library, status));
        Assert.NotNull(StatusNames.Description(library, status));
        Assert.Contains($"{name} ({status})", new CudaException(library, "f", status).Message);
    }

    [Fact]
    public void Unknown_codes_still_give_a_readable_message()
    {
        var error = new CudaException(CudaLibraryKind.Cublas, "cublasSgemm_v2", 12345);

        Assert.Equal("cublasSgemm_v2 failed: CUBLAS_UNKNOWN_STATUS (12345)", error.Message);
    }

    [Fact]
    public void Compiler_log_follows_the_status_line()
    {
        var error = new CudaException(CudaLibraryKind.Nvrtc, "nvrtcCompileProgram", 6, "kernel.cu(3): error: identifier \"x\" is undefined\n");

        string[] lines = error.Message.Split(Environment.NewLine);
        Assert.Equal("nvrtcCompileProgram failed: NVRTC_ERROR_COMPILATION (6): compilation failed", lines[0]);
        Assert.Equal("kernel.cu(3): error: identifier \"x\" is undefined", lines[1]);
    }

    [Fact]
    public void Codes_missing_from_the_table_are_named_by_the_library_itself()
    {
        var (name, description) = StatusNames.Describe(CudaLibraryKind.Driver, 4242, (_, status) => ($"CUDA_ERROR_FROM_DRIVER_{status}", "what the driver says"));

        Assert.Equal("CUDA_ERROR_FROM_DRIVER_4242", name);
        Assert.Equal("what the driver says", description);
    }

    [Fact]
    public void The_table_wins_over_the_library_and_an_unknown_code_stays_unknown()
    {
        int asked = 0;
        (string?, string?) Ask(CudaLibraryKind library, int status)
        {
            asked++;
            return (null, null);
        }

        Assert.Equal(("NVRTC_ERROR_COMPILATION", "compilation failed"), StatusNames.Describe(CudaLibraryKind.Nvrtc, 6, Ask));
        Assert.Equal(0, asked);
        Assert.Equal(("NVRTC_UNKNOWN_STATUS", null), StatusNames.Describe(CudaLibraryKind.Nvrtc, 99, Ask));
        Assert.Equal(1, asked);
    }

    [Theory]
    [InlineData(12, "NVRTC_ERROR_TIME_FILE_WRITE_FAILED")]
    [InlineData(16, "NVRTC_ERROR_CANCELLED")]
    public void Nvrtc_12_codes_are_in_the_table(int status, string name)
    {
        Assert.Equal(name, StatusNames.Name(CudaLibraryKind.Nvrtc, status));
    }
}
