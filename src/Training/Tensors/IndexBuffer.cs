namespace OnePass.Training.Tensors;

/// <summary>
/// A contiguous run of int32 elements owned by a backend: token ids and class labels, kept apart from
/// <see cref="DeviceBuffer"/> (float32) so that a float buffer cannot be passed where integer ids are expected.
/// Slices share storage with their parent and never own it.
/// </summary>
public abstract class IndexBuffer : IDisposable
{
    /// <summary>Creates a buffer description of <paramref name="length"/> elements.</summary>
    protected IndexBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
    }

    /// <summary>Number of int32 elements.</summary>
    public int Length { get; }

    /// <summary>A view of <paramref name="length"/> elements starting at <paramref name="offset"/>, sharing storage.</summary>
    public abstract IndexBuffer Slice(int offset, int length);

    /// <summary>Checks that a slice request lies within this buffer.</summary>
    protected void CheckSlice(int offset, int length)
    {
        if (offset < 0 || length < 0 || (long)offset + length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"slice [{offset}, {offset + length}) is outside an index buffer of {Length} elements");
        }
    }

    /// <summary>Releases the storage when this buffer owns it; slices release nothing.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases owned storage.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
