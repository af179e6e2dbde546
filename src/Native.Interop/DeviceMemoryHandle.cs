namespace OnePass.Native.Interop;

/// <summary>Device memory from cuMemAlloc_v2; disposing calls cuMemFree_v2.</summary>
public sealed class DeviceMemoryHandle : CudaResourceHandle
{
    /// <summary>Takes ownership of <paramref name="value"/>, created in <paramref name="context"/>.</summary>
    public DeviceMemoryHandle(nint value, nint context)
        : base(value, context)
    {
    }

    /// <summary>The raw handle.</summary>
    public nint Value => handle;

    /// <summary>The CUdeviceptr.</summary>
    public ulong Pointer => (ulong)handle;

    /// <inheritdoc />
    protected override int Release(nint value) => CudaDriver.MemFree((ulong)value);
}
