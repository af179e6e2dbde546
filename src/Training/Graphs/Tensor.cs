using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs;

/// <summary>
/// A buffer seen with a concrete shape (the batch dimension resolved). Row-major. Holds either float32 values
/// (<see cref="Buffer"/>) or int32 ids (<see cref="Indices"/>, for token ids and class labels), never both.
/// </summary>
public readonly record struct Tensor
{
    private readonly DeviceBuffer? _buffer;
    private readonly IndexBuffer? _indices;

    /// <summary>A float32 tensor.</summary>
    public Tensor(DeviceBuffer Buffer, int[] Shape)
    {
        _buffer = Buffer ?? throw new ArgumentNullException(nameof(Buffer));
        this.Shape = Shape;
    }

    /// <summary>An int32 tensor of ids.</summary>
    public Tensor(IndexBuffer Indices, int[] Shape)
    {
        _indices = Indices ?? throw new ArgumentNullException(nameof(Indices));
        this.Shape = Shape;
    }

    /// <summary>The float32 elements; throws for a tensor of ids.</summary>
    public DeviceBuffer Buffer => _buffer ?? throw new InvalidOperationException("this tensor holds int32 ids (Indices), not float32 values");

    /// <summary>The int32 ids; throws for a float32 tensor.</summary>
    public IndexBuffer Indices => _indices ?? throw new InvalidOperationException("this tensor holds float32 values (Buffer), not int32 ids");

    /// <summary>True when the tensor holds int32 ids.</summary>
    public bool HoldsIndices => _indices is not null;

    /// <summary>The dimensions.</summary>
    public int[] Shape { get; }

    /// <summary>The first dimension (the batch for data, the output features for a weight matrix).</summary>
    public int Rows => Shape.Length == 0 ? 1 : Shape[0];

    /// <summary>The product of all dimensions after the first.</summary>
    public int Columns
    {
        get
        {
            int c = 1;
            for (int i = 1; i < Shape.Length; i++)
            {
                c *= Shape[i];
            }

            return c;
        }
    }
}
