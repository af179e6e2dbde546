using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>An int32 buffer in host memory: a window onto a managed array.</summary>
public sealed class CpuIndexBuffer : IndexBuffer
{
    internal CpuIndexBuffer(int[] array, int offset, int length)
        : base(length)
    {
        Array = array;
        Offset = offset;
    }

    /// <summary>The backing array (shared by slices).</summary>
    public int[] Array { get; }

    /// <summary>Index of this buffer's first element in <see cref="Array"/>.</summary>
    public int Offset { get; }

    /// <summary>The elements as a span.</summary>
    public Span<int> Span => Array.AsSpan(Offset, Length);

    /// <inheritdoc />
    public override IndexBuffer Slice(int offset, int length)
    {
        CheckSlice(offset, length);
        return new CpuIndexBuffer(Array, Offset + offset, length);
    }
}
