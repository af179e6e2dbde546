namespace OnePass.Training.Tensors;

/// <summary>
/// The convolution and pooling family (N×C×H×W, row-major, float32), behind one small interface per backend. The
/// convolution is offered whole, with cuDNN's alpha/beta conventions, so that the CPU implements it with im2col and
/// its packed SGEMM while CUDA calls cuDNN (or, without cuDNN, its own im2col kernels around cuBLAS). Ops in
/// <c>Graphs/Ops/Convolution</c> call only these and the general primitives of <see cref="IBackend"/>.
/// Methods whose summary says "accumulates" add into their output; all others overwrite it.
/// </summary>
/// <remarks>
/// conv(x, W) is the cross-correlation y[n, o, ho, wo] = Σ_c Σ_i Σ_j x[n, c, ho·s + i − p, wo·s + j − p] · W[o, c, i, j]
/// (zero outside the image) of x [N, C, H, W] with W [O, C, kh, kw], giving y [N, O, Ho, Wo] as
/// <see cref="ConvolutionGeometry"/> says. It is bilinear in (x, W); its two adjoints are
/// <see cref="ConvolutionBackwardData"/> (in x, for fixed W) and <see cref="ConvolutionBackwardFilter"/> (in W, for
/// fixed x).
/// </remarks>
public interface IConvolutionKernels
{
    /// <summary>
    /// y = conv(x, W) + beta·y for x [N, C, H, W], <paramref name="weight"/> [O, C, kh, kw] and y [N, O, Ho, Wo];
    /// beta 0 overwrites y without reading it (cudnnConvolutionForward with alpha 1).
    /// </summary>
    void ConvolutionForward(DeviceBuffer x, DeviceBuffer weight, ConvolutionGeometry geometry, int outChannels, DeviceBuffer y, float beta);

    /// <summary>
    /// Accumulates dx += the adjoint of conv(·, W) applied to dy, for dy [N, O, Ho, Wo] and dx [N, C, H, W]
    /// (cudnnConvolutionBackwardData with alpha = beta = 1).
    /// </summary>
    void ConvolutionBackwardData(DeviceBuffer dy, DeviceBuffer weight, ConvolutionGeometry geometry, int outChannels, DeviceBuffer dx);

    /// <summary>
    /// Accumulates dW += the adjoint of conv(x, ·) applied to dy, for x [N, C, H, W], dy [N, O, Ho, Wo] and
    /// dW [O, C, kh, kw] (cudnnConvolutionBackwardFilter with alpha = beta = 1).
    /// </summary>
    void ConvolutionBackwardFilter(DeviceBuffer x, DeviceBuffer dy, ConvolutionGeometry geometry, int outChannels, DeviceBuffer dWeight);

    /// <summary>Accumulates y[n, c, p] += bias[c] for y [N, C, P] (a convolution's bias).</summary>
    void AddChannelBias(DeviceBuffer y, int batch, int channels, int plane, DeviceBuffer bias);

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
