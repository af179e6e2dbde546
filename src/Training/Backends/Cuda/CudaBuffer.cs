using OnePass.Native.Interop;
using OnePass.Training.Tensors;

namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// float32 elements in device memory. An owning buffer returns its block to the backend's pool when disposed;
/// slices point into their parent's block and own nothing.
/// </summary>
public sealed class CudaBuffer : DeviceBuffer
{
    private readonly CudaMemoryPool? pool;
    private readonly long bucket;
    private DeviceMemoryHandle? block;

    internal CudaBuffer(CudaMemoryPool pool, DeviceMemoryHandle block, long bucket, int length)
        : base(length)
    {
        this.pool = pool;
        this.block = block;
        this.bucket = bucket;
        Pointer = block.Pointer;
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
        // Without Dispose the block stays with the pool, which frees it when the backend is disposed.
        if (disposing && block is not null)
        {
            pool!.Return(block, bucket);
            block = null;
        }
    }
}
