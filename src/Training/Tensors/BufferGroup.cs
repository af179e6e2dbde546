namespace OnePass.Training.Tensors;

/// <summary>A fixed number of equally long buffers allocated and disposed together (e.g. an update rule's state).</summary>
public sealed class BufferGroup : IDisposable
{
    private readonly DeviceBuffer[] _buffers;

    /// <summary>Allocates <paramref name="count"/> zeroed buffers of <paramref name="length"/> elements.</summary>
    public BufferGroup(IBackend backend, int count, int length)
    {
        _buffers = new DeviceBuffer[count];
        for (int i = 0; i < count; i++)
        {
            _buffers[i] = backend.Allocate(length);
            backend.Fill(_buffers[i], 0f);
        }
    }

    /// <summary>The buffers.</summary>
    public IReadOnlyList<DeviceBuffer> Buffers => _buffers;

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var b in _buffers)
        {
            b.Dispose();
        }
    }
}
