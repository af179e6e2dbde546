namespace OnePass.Native.Interop;

/// <summary>A CUevent; disposing calls cuEventDestroy_v2.</summary>
public sealed class CudaEventHandle : CudaResourceHandle
{
    /// <summary>Takes ownership of <paramref name="value"/>, created in <paramref name="context"/>.</summary>
    public CudaEventHandle(nint value, nint context)
        : base(value, context)
    {
    }

    /// <summary>The raw handle.</summary>
    public nint Value => handle;

    /// <inheritdoc />
    protected override int Release(nint value) => CudaDriver.EventDestroy(value);
}
