using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>
/// The primitives a convolution by im2col is built from: the im2col matrix and its adjoint, the layout changes
/// around the GEMM, the GEMM itself and temporary memory. The CPU family implements them with host loops and the
/// packed SGEMM; the CUDA family with its kernels and cuBLAS (its path when cuDNN is missing).
/// </summary>
/// <remarks>
/// The im2col matrix of N images (a whole batch or a chunk of it) is [C·kh·kw, N·Ho·Wo]: row (c·kh + i)·kw + j, column
/// n·Ho·Wo + ho·Wo + wo holds x[n, c, ho·s + i − p, wo·s + j − p] (zero in the padding). A convolution is then one GEMM
/// W[O, C·kh·kw] · col, giving a channel-major [O, N, Ho·Wo] result that <see cref="ChannelMajorToBatchMajor"/> turns
/// into NCHW.
/// </remarks>
internal interface IIm2ColKernels
{
    /// <summary>Writes the im2col matrix of <paramref name="x"/> [N, C, H, W] into <paramref name="columns"/> (at least <see cref="ConvolutionGeometry.ColumnRows"/>·<see cref="ConvolutionGeometry.ColumnCount"/> elements).</summary>
    void Im2Col(DeviceBuffer x, ConvolutionGeometry geometry, DeviceBuffer columns);

    /// <summary>Accumulates the adjoint of <see cref="Im2Col"/>: each im2col entry is added to the input element it was read from (padding entries are dropped).</summary>
    void Col2Im(DeviceBuffer columns, ConvolutionGeometry geometry, DeviceBuffer dx);

    /// <summary>
    /// destination[n, c, p] = source[c, n, p] + beta·destination[n, c, p] for source [C, N, P] and destination
    /// [N, C, P]; beta 0 does not read the destination.
    /// </summary>
    void ChannelMajorToBatchMajor(DeviceBuffer source, int batch, int channels, int plane, float beta, DeviceBuffer destination);

    /// <summary>destination[c, n, p] = source[n, c, p] for source [N, C, P] and destination [C, N, P].</summary>
    void BatchMajorToChannelMajor(DeviceBuffer source, int batch, int channels, int plane, DeviceBuffer destination);

    /// <summary>Accumulates destination[c, r] += source[r, c] for source [rows, cols] and destination [cols, rows] (a transposed weight gradient).</summary>
    void AddTransposed(DeviceBuffer source, int rows, int cols, DeviceBuffer destination);

    /// <summary>C = alpha·op(A)·op(B) + beta·C, row-major, as <see cref="IBackend.Gemm"/>.</summary>
    void Gemm(bool transposeA, bool transposeB, int m, int n, int k, float alpha, DeviceBuffer a, DeviceBuffer b, float beta, DeviceBuffer c);

    /// <summary>
    /// Temporary memory of at least <paramref name="length"/> floats with undefined contents; disposing it hands it
    /// back, which is safe as soon as the calls that use it have been made (or queued, on a stream).
    /// </summary>
    DeviceBuffer RentScratch(int length);
}

/// <summary>
/// Convolution by im2col and GEMM, a cache-sized chunk of images at a time: im2col (a [C·kh·kw, n·Ho·Wo] matrix),
/// one GEMM, and a transpose to NCHW; the adjoints run the same steps backwards (GEMM with Wᵀ then col2im; the
/// filter gradient as one GEMM per chunk into a transposed accumulator). Implements the convolution calls of
/// <see cref="IConvolutionKernels"/> for any <see cref="IIm2ColKernels"/>.
/// </summary>
internal sealed class Im2ColConvolution
{
    // Elements of one chunk's im2col matrix: the batch is convolved a few images at a time so that the im2col matrix
    // and the product stay in cache between im2col, GEMM and transpose (a whole-batch im2col matrix of a ResNet layer
    // is hundreds of MB and makes every step wait on memory).
    private const int ChunkElements = 1 << 21;

    private readonly IIm2ColKernels kernels;

    /// <summary>Builds the convolution from <paramref name="kernels"/>.</summary>
    public Im2ColConvolution(IIm2ColKernels kernels) => this.kernels = kernels;

    /// <summary>Images per chunk for <paramref name="g"/> (at least one, at most the batch).</summary>
    public static int ImagesPerChunk(ConvolutionGeometry g) =>
        Math.Clamp(ChunkElements / Math.Max(1, g.ColumnRows * g.OutputPlane), 1, Math.Max(1, g.Batch));

    /// <summary>Checks the geometry and that every buffer holds its tensor; false when there is nothing to compute.</summary>
    public static bool Check(ConvolutionGeometry g, int outChannels, DeviceBuffer input, DeviceBuffer weight, DeviceBuffer output)
    {
        if (g.Batch < 0 || g.Channels < 1 || g.Height < 1 || g.Width < 1 || g.KernelHeight < 1 || g.KernelWidth < 1 || g.Stride < 1 || g.Padding < 0
            || g.OutputHeight < 1 || g.OutputWidth < 1 || outChannels < 1)
        {
            throw new ArgumentException($"invalid convolution geometry {g} with {outChannels} output channels");
        }

        Need(input, (long)g.Batch * g.Channels * g.InputPlane, "convolution input");
        Need(weight, (long)outChannels * g.ColumnRows, "convolution weight");
        Need(output, (long)g.Batch * outChannels * g.OutputPlane, "convolution output");
        return g.Batch > 0;
    }

    private static void Need(DeviceBuffer buffer, long length, string name)
    {
        if (buffer.Length < length)
        {
            throw new ArgumentException($"{name} holds {buffer.Length} elements; {length} are needed");
        }
    }

    /// <summary>One chunk of images: its geometry and where its images start.</summary>
    private readonly record struct Chunk(ConvolutionGeometry Geometry, int First)
    {
        public int Count => Geometry.ColumnCount;

        public int Rows => Geometry.ColumnRows;

        // This chunk's images within a batch-major buffer of images of `imageSize` elements.
        public DeviceBuffer Of(DeviceBuffer batch, int imageSize) => batch.Slice(First * imageSize, Geometry.Batch * imageSize);
    }

    private static IEnumerable<Chunk> Chunks(ConvolutionGeometry g)
    {
        int per = ImagesPerChunk(g);
        for (int first = 0; first < g.Batch; first += per)
        {
            yield return new Chunk(g with { Batch = Math.Min(per, g.Batch - first) }, first);
        }
    }

    // Scratch for one chunk's im2col matrix [C·kh·kw, n·P] and channel-major product [O, n·P], plus `extra` elements.
    private DeviceBuffer Rent(ConvolutionGeometry g, int outChannels, long extra, out DeviceBuffer columns, out DeviceBuffer channelMajor)
    {
        long count = (long)ImagesPerChunk(g) * g.OutputPlane;
        long columnsSize = g.ColumnRows * count, productSize = outChannels * count;
        long size = columnsSize + productSize + extra;
        if (size > int.MaxValue)
        {
            throw new ArgumentException($"the im2col scratch of {size} elements for {g} is too large");
        }

        var scratch = kernels.RentScratch((int)size);
        columns = scratch.Slice(0, (int)columnsSize);
        channelMajor = scratch.Slice((int)columnsSize, (int)productSize);
        return scratch;
    }

    /// <summary>y = conv(x, W) + beta·y.</summary>
    public void Forward(DeviceBuffer x, DeviceBuffer weight, ConvolutionGeometry g, int outChannels, DeviceBuffer y, float beta)
    {
        if (!Check(g, outChannels, x, weight, y))
        {
            return;
        }

        int o = outChannels, inImage = g.Channels * g.InputPlane, outImage = o * g.OutputPlane;
        using var scratch = Rent(g, o, 0, out var columns, out var channelMajor);
        foreach (var k in Chunks(g))
        {
            kernels.Im2Col(k.Of(x, inImage), k.Geometry, columns);
            kernels.Gemm(false, false, o, k.Count, k.Rows, 1f, weight, columns, 0f, channelMajor);
            kernels.ChannelMajorToBatchMajor(channelMajor, k.Geometry.Batch, o, g.OutputPlane, beta, k.Of(y, outImage));
        }
    }

    /// <summary>dx += col2im(Wᵀ·Ȳ), Ȳ being dy channel-major.</summary>
    public void BackwardData(DeviceBuffer dy, DeviceBuffer weight, ConvolutionGeometry g, int outChannels, DeviceBuffer dx)
    {
        if (!Check(g, outChannels, dx, weight, dy))
        {
            return;
        }

        int o = outChannels, inImage = g.Channels * g.InputPlane, outImage = o * g.OutputPlane;
        using var scratch = Rent(g, o, 0, out var columns, out var channelMajor);
        foreach (var k in Chunks(g))
        {
            kernels.BatchMajorToChannelMajor(k.Of(dy, outImage), k.Geometry.Batch, o, g.OutputPlane, channelMajor);
            kernels.Gemm(true, false, k.Rows, k.Count, o, 1f, weight, channelMajor, 0f, columns);
            kernels.Col2Im(columns, k.Geometry, k.Of(dx, inImage));
        }
    }

    /// <summary>dW += (col·Ȳᵀ)ᵀ, summed over chunks in a transposed [C·kh·kw, O] accumulator.</summary>
    public void BackwardFilter(DeviceBuffer x, DeviceBuffer dy, ConvolutionGeometry g, int outChannels, DeviceBuffer dWeight)
    {
        if (!Check(g, outChannels, x, dWeight, dy))
        {
            return;
        }

        int o = outChannels, inImage = g.Channels * g.InputPlane, outImage = o * g.OutputPlane;
        int filterSize = g.ColumnRows * o;
        using var scratch = Rent(g, o, filterSize, out var columns, out var channelMajor);
        var filter = scratch.Slice(columns.Length + channelMajor.Length, filterSize);
        float beta = 0f;
        foreach (var k in Chunks(g))
        {
            kernels.BatchMajorToChannelMajor(k.Of(dy, outImage), k.Geometry.Batch, o, g.OutputPlane, channelMajor);
            kernels.Im2Col(k.Of(x, inImage), k.Geometry, columns);
            kernels.Gemm(false, true, k.Rows, o, k.Count, 1f, columns, channelMajor, beta, filter);
            beta = 1f;
        }

        kernels.AddTransposed(filter, g.ColumnRows, o, dWeight);
    }
}
