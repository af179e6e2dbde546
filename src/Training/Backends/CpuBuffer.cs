using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>A float32 buffer in host memory: a window onto a managed array.</summary>
public sealed class CpuBuffer : DeviceBuffer
{
    internal CpuBuffer(float[] array, int offset, int length)
        : base(length)
    {
        Array = array;
        Offset = offset;
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
}
