using OnePass.Training.Tensors;

namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// The convolution family on the GPU (<c>kernels/convolution.cu</c>): im2col and its adjoint, the layout changes
/// around the convolution GEMMs (which stay cuBLAS calls), max pooling and global average pooling; every kernel a
/// gather with one thread per output element. Compiled by NVRTC in CI and checked against the CPU family by the host
/// kernel emulator; not yet run on a GPU (<c>onepass selftest --backend cuda</c> compares it with the CPU there).
/// </summary>
internal sealed class CudaConvolution : IConvolutionKernels
{
    /// <summary>The kernels of <c>kernels/convolution.cu</c> this family launches.</summary>
    public static readonly IReadOnlyList<string> KernelNames =
        ["im2col_f32", "col2im_add_f32", "channel_major_to_batch_major_f32", "batch_major_to_channel_major_f32", "add_transposed_f32",
         "add_channel_sums_f32", "max_pool_forward_f32", "max_pool_backward_add_f32", "max_pool_gather_f32",
         "global_average_pool_forward_f32", "global_average_pool_backward_add_f32"];

    private readonly ICudaLauncher backend;
    private readonly Dictionary<string, nint> function;

    /// <summary>Creates the family on <paramref name="launcher"/>, taking each kernel from <paramref name="lookup"/> (by name).</summary>
    public CudaConvolution(ICudaLauncher launcher, Func<string, nint> lookup)
    {
        backend = launcher;
        function = KernelNames.ToDictionary(name => name, lookup, StringComparer.Ordinal);
    }

    private static KernelArgument I(int value) => KernelArgument.Int(value);

    private static KernelArgument Ptr(DeviceBuffer buffer) => KernelArgument.Pointer(CudaBackend.P(buffer));

    private static void Need(DeviceBuffer buffer, long length, string name)
    {
        if (buffer.Length < length)
        {
            throw new ArgumentException($"{name} holds {buffer.Length} elements; {length} are needed");
        }
    }

    private void Run(string kernel, long work, params ReadOnlySpan<KernelArgument> arguments)
    {
        backend.Bind();
        if (work > 0)
        {
            backend.Launch(function[kernel], CudaBackend.GridFor(work), arguments);
        }
    }

    private static void Check(ConvolutionGeometry g)
    {
        if (g.Batch < 0 || g.Channels < 0 || g.Height < 0 || g.Width < 0 || g.KernelHeight < 1 || g.KernelWidth < 1 || g.Stride < 1 || g.Padding < 0
            || g.OutputHeight < 0 || g.OutputWidth < 0)
        {
            throw new ArgumentException($"invalid convolution geometry {g}");
        }
    }

    /// <inheritdoc />
    public void Im2Col(DeviceBuffer x, ConvolutionGeometry g, DeviceBuffer columns)
    {
        Check(g);
        Need(x, (long)g.Batch * g.Channels * g.InputPlane, "im2col input");
        Need(columns, (long)g.ColumnRows * g.ColumnCount, "im2col matrix");
        Run("im2col_f32", (long)g.ColumnRows * g.ColumnCount, I(g.Batch), I(g.Channels), I(g.Height), I(g.Width), I(g.KernelHeight), I(g.KernelWidth),
            I(g.Stride), I(g.Padding), I(g.OutputHeight), I(g.OutputWidth), Ptr(x), Ptr(columns));
    }

    /// <inheritdoc />
    public void Col2Im(DeviceBuffer columns, ConvolutionGeometry g, DeviceBuffer dx)
    {
        Check(g);
        Need(dx, (long)g.Batch * g.Channels * g.InputPlane, "col2im output");
        Need(columns, (long)g.ColumnRows * g.ColumnCount, "im2col matrix");
        Run("col2im_add_f32", (long)g.Batch * g.Channels * g.InputPlane, I(g.Batch), I(g.Channels), I(g.Height), I(g.Width), I(g.KernelHeight), I(g.KernelWidth),
            I(g.Stride), I(g.Padding), I(g.OutputHeight), I(g.OutputWidth), Ptr(columns), Ptr(dx));
    }

    /// <inheritdoc />
    public void ChannelMajorToBatchMajor(DeviceBuffer source, int batch, int channels, int plane, DeviceBuffer? bias, DeviceBuffer destination)
    {
        long total = (long)batch * channels * plane;
        Need(source, total, "channel-major source");
        Need(destination, total, "batch-major destination");
        if (bias is not null)
        {
            Need(bias, channels, "bias");
        }

        Run("channel_major_to_batch_major_f32", total, I(batch), I(channels), I(plane), Ptr(source), KernelArgument.Pointer(CudaBackend.P(bias, nullable: true)), Ptr(destination));
    }

    /// <inheritdoc />
    public void BatchMajorToChannelMajor(DeviceBuffer source, int batch, int channels, int plane, DeviceBuffer destination)
    {
        long total = (long)batch * channels * plane;
        Need(source, total, "batch-major source");
        Need(destination, total, "channel-major destination");
        Run("batch_major_to_channel_major_f32", total, I(batch), I(channels), I(plane), Ptr(source), Ptr(destination));
    }

    /// <inheritdoc />
    public void AddTransposed(DeviceBuffer source, int rows, int cols, DeviceBuffer destination)
    {
        Need(source, (long)rows * cols, "transpose source");
        Need(destination, (long)rows * cols, "transpose destination");
        Run("add_transposed_f32", (long)rows * cols, I(rows), I(cols), Ptr(source), Ptr(destination));
    }

    /// <inheritdoc />
    public void AddChannelSums(DeviceBuffer x, int batch, int channels, int plane, DeviceBuffer result)
    {
        Need(x, (long)batch * channels * plane, "channel-sum input");
        Need(result, channels, "channel-sum result");
        Run("add_channel_sums_f32", channels, I(batch), I(channels), I(plane), Ptr(x), Ptr(result));
    }

    private static void CheckPool(ConvolutionGeometry g)
    {
        Check(g);
        if (g.KernelHeight != g.KernelWidth)
        {
            throw new ArgumentException($"max pooling needs a square window, got {g.KernelHeight}x{g.KernelWidth}");
        }
    }

    /// <inheritdoc />
    public void MaxPoolForward(DeviceBuffer x, ConvolutionGeometry g, DeviceBuffer y, DeviceBuffer argmax)
    {
        CheckPool(g);
        int planes = g.Batch * g.Channels;
        Need(x, (long)planes * g.InputPlane, "max-pool input");
        Need(y, (long)planes * g.OutputPlane, "max-pool output");
        Need(argmax, (long)planes * g.OutputPlane, "max-pool indices");
        Run("max_pool_forward_f32", (long)planes * g.OutputPlane, I(planes), I(g.Height), I(g.Width), I(g.KernelHeight), I(g.Stride), I(g.Padding),
            I(g.OutputHeight), I(g.OutputWidth), Ptr(x), Ptr(y), Ptr(argmax));
    }

    /// <inheritdoc />
    public void MaxPoolBackward(DeviceBuffer dy, DeviceBuffer argmax, ConvolutionGeometry g, DeviceBuffer dx)
    {
        CheckPool(g);
        int planes = g.Batch * g.Channels;
        Need(dx, (long)planes * g.InputPlane, "max-pool input adjoint");
        Need(dy, (long)planes * g.OutputPlane, "max-pool output adjoint");
        Need(argmax, (long)planes * g.OutputPlane, "max-pool indices");
        Run("max_pool_backward_add_f32", (long)planes * g.InputPlane, I(planes), I(g.Height), I(g.Width), I(g.KernelHeight), I(g.Stride), I(g.Padding),
            I(g.OutputHeight), I(g.OutputWidth), Ptr(dy), Ptr(argmax), Ptr(dx));
    }

    /// <inheritdoc />
    public void MaxPoolGather(DeviceBuffer x, DeviceBuffer argmax, ConvolutionGeometry g, DeviceBuffer y)
    {
        CheckPool(g);
        int planes = g.Batch * g.Channels;
        Need(x, (long)planes * g.InputPlane, "max-pool input");
        Need(y, (long)planes * g.OutputPlane, "max-pool output");
        Need(argmax, (long)planes * g.OutputPlane, "max-pool indices");
        Run("max_pool_gather_f32", (long)planes * g.OutputPlane, I(planes), I(g.InputPlane), I(g.OutputPlane), Ptr(x), Ptr(argmax), Ptr(y));
    }

    /// <inheritdoc />
    public void GlobalAveragePoolForward(DeviceBuffer x, int planes, int planeSize, DeviceBuffer y)
    {
        Need(x, (long)planes * planeSize, "average-pool input");
        Need(y, planes, "average-pool output");
        Run("global_average_pool_forward_f32", planes, I(planes), I(planeSize), Ptr(x), Ptr(y));
    }

    /// <inheritdoc />
    public void GlobalAveragePoolBackward(DeviceBuffer dy, int planes, int planeSize, DeviceBuffer dx)
    {
        Need(dx, (long)planes * planeSize, "average-pool input adjoint");
        Need(dy, planes, "average-pool output adjoint");
        Run("global_average_pool_backward_add_f32", (long)planes * planeSize, I(planes), I(planeSize), Ptr(dy), Ptr(dx));
    }
}
