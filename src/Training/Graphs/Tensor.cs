using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs;

/// <summary>A buffer seen with a concrete shape (the batch dimension resolved). Row-major.</summary>
public readonly record struct Tensor(DeviceBuffer Buffer, int[] Shape)
{
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
