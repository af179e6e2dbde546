using OnePass.Native.Interop;

namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// A block rented from the backend's pool by an owning buffer (float or index); <see cref="Return"/> hands it back
/// once. Without it the block stays with the pool, which frees it when the backend is disposed.
/// </summary>
internal sealed class PoolLease(CudaMemoryPool pool, DeviceMemoryHandle block, long bucket)
{
    private DeviceMemoryHandle? held = block;

    /// <summary>The CUdeviceptr of the block.</summary>
    public ulong Pointer { get; } = block.Pointer;

    /// <summary>Returns the block to its bucket (later calls do nothing).</summary>
    public void Return()
    {
        if (held is not null)
        {
            pool.Return(held, bucket);
            held = null;
        }
    }
}
