namespace OnePass.Training.Tensors;

/// <summary>
/// The convolution and pooling family's fused kernels (N×C×H×W, row-major), behind one small interface per
/// backend: the CPU implements them with im2col and the packed SGEMM, CUDA may call cuDNN. Ops in
/// <c>Graphs/Ops/Convolution</c> call only these and the general primitives of <see cref="IBackend"/>.
/// Methods whose summary says "accumulates" add into their output; all others overwrite it.
/// </summary>
/// <remarks>
/// The im2col matrix of N images (a whole batch or a chunk of it) is [C·kh·kw, N·Ho·Wo]: row (c·kh + i)·kw + j, column n·Ho·Wo + ho·Wo + wo holds
/// x[n, c, ho·s + i − p, wo·s + j − p] (zero in the padding). A convolution is then one GEMM W[O, C·kh·kw] ·
/// col, giving a channel-major [O, N, Ho·Wo] result that <see cref="ChannelMajorToBatchMajor"/> turns into NCHW.
/// </remarks>
public interface IConvolutionKernels
{
    /// <summary>Writes the im2col matrix of <paramref name="x"/> [N, C, H, W] into <paramref name="columns"/> (at least <see cref="ConvolutionGeometry.ColumnRows"/>·<see cref="ConvolutionGeometry.ColumnCount"/> elements).</summary>
    void Im2Col(DeviceBuffer x, ConvolutionGeometry geometry, DeviceBuffer columns);

    /// <summary>Accumulates the adjoint of <see cref="Im2Col"/>: each im2col entry is added to the input element it was read from (padding entries are dropped).</summary>
    void Col2Im(DeviceBuffer columns, ConvolutionGeometry geometry, DeviceBuffer dx);

    /// <summary>
    /// destination[n, c, p] = source[c, n, p] + bias[c] for source [C, N, P] and destination [N, C, P];
    /// <paramref name="bias"/> null adds nothing.
    /// </summary>
    void ChannelMajorToBatchMajor(DeviceBuffer source, int batch, int channels, int plane, DeviceBuffer? bias, DeviceBuffer destination);

    /// <summary>destination[c, n, p] = source[n, c, p] for source [N, C, P] and destination [C, N, P].</summary>
    void BatchMajorToChannelMajor(DeviceBuffer source, int batch, int channels, int plane, DeviceBuffer destination);

    /// <summary>Accumulates destination[c, r] += source[r, c] for source [rows, cols] and destination [cols, rows] (a transposed weight gradient).</summary>
    void AddTransposed(DeviceBuffer source, int rows, int cols, DeviceBuffer destination);

    /// <summary>Accumulates result[c] += Σ_n Σ_p x[n, c, p] for x [N, C, P] (a convolution's bias gradient).</summary>
    void AddChannelSums(DeviceBuffer x, int batch, int channels, int plane, DeviceBuffer result);

    /// <summary>
    /// Max pooling of x [N, C, H, W] into y [N, C, Ho, Wo] (padding counts as −∞; the first maximal element in
    /// row-major window order wins, NaN propagates); writes each winner's index within its input plane (h·W + w,
    /// as a float) into <paramref name="argmax"/> [N, C, Ho, Wo].
    /// </summary>
    void MaxPoolForward(DeviceBuffer x, ConvolutionGeometry geometry, DeviceBuffer y, DeviceBuffer argmax);

    /// <summary>Accumulates dx[n, c, argmax[n, c, o]] += dy[n, c, o] (the max pool's adjoint for fixed indices).</summary>
    void MaxPoolBackward(DeviceBuffer dy, DeviceBuffer argmax, ConvolutionGeometry geometry, DeviceBuffer dx);

    /// <summary>y[n, c, o] = x[n, c, argmax[n, c, o]] (the max pool for fixed indices, e.g. its tangent).</summary>
    void MaxPoolGather(DeviceBuffer x, DeviceBuffer argmax, ConvolutionGeometry geometry, DeviceBuffer y);

    /// <summary>y[i] = mean of plane i of x, for <paramref name="planes"/> contiguous planes of <paramref name="planeSize"/> elements.</summary>
    void GlobalAveragePoolForward(DeviceBuffer x, int planes, int planeSize, DeviceBuffer y);

    /// <summary>Accumulates dx[i, k] += dy[i] / planeSize for every element k of plane i.</summary>
    void GlobalAveragePoolBackward(DeviceBuffer dy, int planes, int planeSize, DeviceBuffer dx);
}
