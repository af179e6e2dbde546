using OnePass.Native.Interop;

namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// A caching device allocator: blocks are rounded up to size buckets and returned blocks wait in per-bucket free
/// lists, so a training loop stops calling cuMemAlloc after its first step. All work runs on one stream, so a
/// block handed back while kernels that use it are still queued is only reused by work queued after them.
/// </summary>
internal sealed class CudaMemoryPool : IDisposable
{
    private const long MinimumBucket = 256;
    private const long PowerOfTwoLimit = 64L << 20;
    private const long LargeGranularity = 2L << 20;

    private readonly Dictionary<long, Stack<DeviceMemoryHandle>> free = [];
    private readonly List<DeviceMemoryHandle> all = [];
    private readonly nint context;
    private readonly Lock gate = new();

    public CudaMemoryPool(nint context) => this.context = context;

    /// <summary>How many times the pool called cuMemAlloc.</summary>
    public int DeviceAllocations { get; private set; }

    /// <summary>Bytes held from the device, in use or cached.</summary>
    public long ReservedBytes { get; private set; }

    /// <summary>
    /// The bucket a request falls in: powers of two from 256 bytes up to 64 MiB, then multiples of 2 MiB (so big
    /// buffers waste at most 2 MiB).
    /// </summary>
    public static long BucketBytes(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes <= MinimumBucket)
        {
            return MinimumBucket;
        }

        if (bytes <= PowerOfTwoLimit)
        {
            return (long)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)bytes);
        }

        return (bytes + LargeGranularity - 1) / LargeGranularity * LargeGranularity;
    }

    /// <summary>A block of at least <paramref name="bytes"/> bytes; <paramref name="bucket"/> must be passed back to <see cref="Return"/>.</summary>
    public DeviceMemoryHandle Rent(long bytes, out long bucket)
    {
        bucket = BucketBytes(bytes);
        lock (gate)
        {
            if (free.TryGetValue(bucket, out var stack) && stack.Count > 0)
            {
                return stack.Pop();
            }

            int status = CudaDriver.MemAlloc(out ulong pointer, (nuint)bucket);
            if (status == 2)
            {
                // Out of memory: give the cached blocks back to the driver and try once more.
                ReleaseCached();
                status = CudaDriver.MemAlloc(out pointer, (nuint)bucket);
            }

            CudaCheck.Driver(status, "cuMemAlloc_v2");
            var handle = new DeviceMemoryHandle((nint)pointer, context);
            all.Add(handle);
            DeviceAllocations++;
            ReservedBytes += bucket;
            return handle;
        }
    }

    /// <summary>Puts a block back in its bucket's free list.</summary>
    public void Return(DeviceMemoryHandle block, long bucket)
    {
        lock (gate)
        {
            if (block.IsClosed)
            {
                return;
            }

            if (!free.TryGetValue(bucket, out var stack))
            {
                free[bucket] = stack = new Stack<DeviceMemoryHandle>();
            }

            stack.Push(block);
        }
    }

    private void ReleaseCached()
    {
        foreach (var (bucket, stack) in free)
        {
            while (stack.Count > 0)
            {
                var block = stack.Pop();
                all.Remove(block);
                block.Dispose();
                ReservedBytes -= bucket;
            }
        }
    }

    /// <summary>Frees every block, cached or still referenced by live buffers.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            foreach (var block in all)
            {
                block.Dispose();
            }

            all.Clear();
            free.Clear();
            ReservedBytes = 0;
        }
    }
}
