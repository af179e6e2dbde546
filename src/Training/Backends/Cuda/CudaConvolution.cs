using OnePass.Training.Tensors;

namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// The convolution family on the GPU. The convolution itself goes to cuDNN 9 when the backend found it
/// (<see cref="CudnnConvolution"/>: cudnnConvolutionForward, BackwardData and BackwardFilter) and otherwise to
/// <see cref="Im2ColConvolution"/> over this class's im2col kernels and cuBLAS. The bias, max pooling and global
/// average pooling are the hand-written kernels of <c>kernels/convolution.cu</c>, every one a gather with one thread
/// per output element. The kernels are compiled by NVRTC in CI and checked against the CPU family by the host kernel
/// emulator; neither path has yet run on a GPU (<c>onepass selftest --backend cuda</c> compares them with the CPU there).
/// </summary>
internal sealed class CudaConvolution : IConvolutionKernels, IIm2ColKernels
{
    /// <summary>The kernels of <c>kernels/convolution.cu</c> this family launches.</summary>
    public static readonly IReadOnlyList<string> KernelNames =
        ["im2col_f32", "col2im_add_f32", "channel_major_to_batch_major_f32", "batch_major_to_channel_major_f32", "add_transposed_f32",
         "add_channel_bias_f32", "add_channel_sums_f32", "max_pool_forward_f32", "max_pool_backward_add_f32", "max_pool_gather_f32",
         "global_average_pool_forward_f32", "global_average_pool_backward_add_f32"];

    private readonly ICudaLauncher backend;
    private readonly Dictionary<string, nint> function;
    private readonly Im2ColConvolution im2col;
    private readonly CudnnConvolution? cudnn;

    /// <summary>
    /// Creates the family on <paramref name="launcher"/>, taking each kernel from <paramref name="lookup"/> (by name);
    /// convolutions go to <paramref name="cudnn"/> when given, else to im2col and the launcher's GEMM.
    /// </summary>
    public CudaConvolution(ICudaLauncher launcher, Func<string, nint> lookup, CudnnConvolution? cudnn = null)
    {
        backend = launcher;
        function = KernelNames.ToDictionary(name => name, lookup, StringComparer.Ordinal);
        im2col = new Im2ColConvolution(this);
        this.cudnn = cudnn;
    }

    /// <summary>True when convolutions run through cuDNN.</summary>
    public bool UsesCudnn => cudnn is not null;

    /// <inheritdoc />
    public void ConvolutionForward(DeviceBuffer x, DeviceBuffer weight, ConvolutionGeometry geometry, int outChannels, DeviceBuffer y, float beta)
    {
        if (cudnn is null)
        {
            im2col.Forward(x, weight, geometry, outChannels, y, beta);
        }
        else if (Im2ColConvolution.Check(geometry, outChannels, x, weight, y))
        {
            backend.Bind();
            cudnn.Forward(x, weight, geometry, outChannels, y, beta);
        }
    }

    /// <inheritdoc />
    public void ConvolutionBackwardData(DeviceBuffer dy, DeviceBuffer weight, ConvolutionGeometry geometry, int outChannels, DeviceBuffer dx)
    {
        if (cudnn is null)
        {
            im2col.BackwardData(dy, weight, geometry, outChannels, dx);
        }
        else if (Im2ColConvolution.Check(geometry, outChannels, dx, weight, dy))
        {
            backend.Bind();
            cudnn.BackwardData(dy, weight, geometry, outChannels, dx);
        }
    }

    /// <inheritdoc />
    public void ConvolutionBackwardFilter(DeviceBuffer x, DeviceBuffer dy, ConvolutionGeometry geometry, int outChannels, DeviceBuffer dWeight)
    {
        if (cudnn is null)
        {
            im2col.BackwardFilter(x, dy, geometry, outChannels, dWeight);
        }
        else if (Im2ColConvolution.Check(geometry, outChannels, x, dWeight, dy))
        {
            backend.Bind();
            cudnn.BackwardFilter(x, dy, geometry, outChannels, dWeight);
        }
    }

    /// <inheritdoc />
    public void Gemm(bool transposeA, bool transposeB, int m, int n, int k, float alpha, DeviceBuffer a, DeviceBuffer b, float beta, DeviceBuffer c) =>
        backend.Gemm(transposeA, transposeB, m, n, k, alpha, a, b, beta, c);

    /// <inheritdoc />
    public DeviceBuffer RentScratch(int length) => backend.Allocate(length);

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
    public void ChannelMajorToBatchMajor(DeviceBuffer source, int batch, int channels, int plane, float beta, DeviceBuffer destination)
    {
        long total = (long)batch * channels * plane;
        Need(source, total, "channel-major source");
        Need(destination, total, "batch-major destination");
        Run("channel_major_to_batch_major_f32", total, I(batch), I(channels), I(plane), KernelArgument.Float(beta), Ptr(source), Ptr(destination));
    }

    /// <inheritdoc />
    public void AddChannelBias(DeviceBuffer y, int batch, int channels, int plane, DeviceBuffer bias)
    {
        long total = (long)batch * channels * plane;
        Need(y, total, "biased tensor");
        Need(bias, channels, "bias");
        Run("add_channel_bias_f32", total, I(batch), I(channels), I(plane), Ptr(bias), Ptr(y));
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
