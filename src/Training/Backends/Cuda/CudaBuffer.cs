using OnePass.Native.Interop;
using OnePass.Training.Tensors;

namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// float32 elements in device memory. An owning buffer returns its block to the backend's pool when disposed;
/// slices point into their parent's block and own nothing.
/// </summary>
public sealed class CudaBuffer : DeviceBuffer
{
    private readonly PoolLease? lease;

    internal CudaBuffer(CudaMemoryPool pool, DeviceMemoryHandle block, long bucket, int length)
        : base(length)
    {
        lease = new PoolLease(pool, block, bucket);
        Pointer = lease.Pointer;
    }

    private CudaBuffer(ulong pointer, int length)
        : base(length)
    {
        Pointer = pointer;
    }

    /// <summary>A non-owning buffer over <paramref name="length"/> floats at <paramref name="pointer"/> (for kernel emulation in tests).</summary>
    internal static CudaBuffer Wrap(ulong pointer, int length) => new(pointer, length);

    /// <summary>The CUdeviceptr of the first element.</summary>
    public ulong Pointer { get; }

    /// <inheritdoc />
    public override DeviceBuffer Slice(int offset, int length)
    {
        CheckSlice(offset, length);
        return new CudaBuffer(Pointer + ((ulong)offset * sizeof(float)), length);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lease?.Return();
        }
    }
}
