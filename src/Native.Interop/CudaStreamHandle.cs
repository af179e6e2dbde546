namespace OnePass.Native.Interop;

/// <summary>A CUstream; disposing calls cuStreamDestroy_v2.</summary>
public sealed class CudaStreamHandle : CudaResourceHandle
{
    /// <summary>Takes ownership of <paramref name="value"/>, created in <paramref name="context"/>.</summary>
    public CudaStreamHandle(nint value, nint context)
        : base(value, context)
    {
    }

    /// <summary>The raw handle.</summary>
    public nint Value => handle;

    /// <inheritdoc />
    protected override int Release(nint value) => CudaDriver.StreamDestroy(value);
}
