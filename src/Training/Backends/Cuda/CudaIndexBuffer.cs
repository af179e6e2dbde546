using OnePass.Native.Interop;
using OnePass.Training.Tensors;

namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// int32 elements (token ids, class labels) in device memory. An owning buffer returns its block to the backend's
/// pool when disposed; slices point into their parent's block and own nothing.
/// </summary>
public sealed class CudaIndexBuffer : IndexBuffer
{
    private readonly PoolLease? lease;

    internal CudaIndexBuffer(CudaMemoryPool pool, DeviceMemoryHandle block, long bucket, int length)
        : base(length)
    {
        lease = new PoolLease(pool, block, bucket);
        Pointer = lease.Pointer;
    }

    private CudaIndexBuffer(ulong pointer, int length)
        : base(length)
    {
        Pointer = pointer;
    }

    /// <summary>A non-owning buffer over <paramref name="length"/> ints at <paramref name="pointer"/> (for kernel emulation in tests).</summary>
    internal static CudaIndexBuffer Wrap(ulong pointer, int length) => new(pointer, length);

    /// <summary>The CUdeviceptr of the first element.</summary>
    public ulong Pointer { get; }

    /// <inheritdoc />
    public override IndexBuffer Slice(int offset, int length)
    {
        CheckSlice(offset, length);
        return new CudaIndexBuffer(Pointer + ((ulong)offset * sizeof(int)), length);
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
