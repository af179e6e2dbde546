namespace OnePass.Training.Tensors;

/// <summary>
/// The sizes of one 2-D convolution or pooling window pass over an N×C×H×W tensor (square stride and padding,
/// PyTorch's floor rounding of the output size). Pooling uses it with <see cref="KernelHeight"/> =
/// <see cref="KernelWidth"/>.
/// </summary>
/// <param name="Batch">Images N.</param>
/// <param name="Channels">Input channels C.</param>
/// <param name="Height">Input height H.</param>
/// <param name="Width">Input width W.</param>
/// <param name="KernelHeight">Window height kh.</param>
/// <param name="KernelWidth">Window width kw.</param>
/// <param name="Stride">Step between windows, in both directions.</param>
/// <param name="Padding">Padding on each of the four sides.</param>
public readonly record struct ConvolutionGeometry(int Batch, int Channels, int Height, int Width, int KernelHeight, int KernelWidth, int Stride, int Padding)
{
    /// <summary>Output height Ho = (H + 2p − kh) / stride + 1.</summary>
    public int OutputHeight => ((Height + (2 * Padding) - KernelHeight) / Stride) + 1;

    /// <summary>Output width Wo = (W + 2p − kw) / stride + 1.</summary>
    public int OutputWidth => ((Width + (2 * Padding) - KernelWidth) / Stride) + 1;

    /// <summary>Elements of one input plane, H·W.</summary>
    public int InputPlane => Height * Width;

    /// <summary>Elements of one output plane, Ho·Wo.</summary>
    public int OutputPlane => OutputHeight * OutputWidth;

    /// <summary>Rows of the im2col matrix, C·kh·kw.</summary>
    public int ColumnRows => Channels * KernelHeight * KernelWidth;

    /// <summary>Columns of the im2col matrix, N·Ho·Wo (one per output pixel of the whole batch).</summary>
    public int ColumnCount => Batch * OutputPlane;
}
