using System.Buffers;
using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>A float32 buffer in host memory: a window onto a managed array.</summary>
public sealed class CpuBuffer : DeviceBuffer
{
    private float[]? rented;

    internal CpuBuffer(float[] array, int offset, int length)
        : base(length)
    {
        Array = array;
        Offset = offset;
    }

    /// <summary>
    /// Scratch of at least <paramref name="length"/> floats (contents undefined) from the shared array pool; disposing
    /// it returns the array.
    /// </summary>
    internal static CpuBuffer RentScratch(int length)
    {
        float[] array = ArrayPool<float>.Shared.Rent(Math.Max(1, length));
        return new CpuBuffer(array, 0, length) { rented = array };
    }

    /// <summary>The backing array (shared by slices).</summary>
    public float[] Array { get; }

    /// <summary>Index of this buffer's first element in <see cref="Array"/>.</summary>
    public int Offset { get; }

    /// <summary>The elements as a span.</summary>
    public Span<float> Span => Array.AsSpan(Offset, Length);

    /// <inheritdoc />
    public override DeviceBuffer Slice(int offset, int length)
    {
        CheckSlice(offset, length);
        return new CpuBuffer(Array, Offset + offset, length);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && rented is not null)
        {
            ArrayPool<float>.Shared.Return(rented);
            rented = null;
        }
    }
}
