namespace OnePass.Native.Interop;

/// <summary>A cuDNN handle; disposing calls cudnnDestroy.</summary>
public sealed class CudnnHandle : CudaResourceHandle
{
    /// <summary>Takes ownership of <paramref name="value"/>, created in <paramref name="context"/>.</summary>
    public CudnnHandle(nint value, nint context)
        : base(value, context)
    {
    }

    /// <summary>The raw handle.</summary>
    public nint Value => handle;

    /// <inheritdoc />
    protected override int Release(nint value) => Cudnn.Destroy(value);
}
