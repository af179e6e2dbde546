namespace OnePass.Native.Interop;

/// <summary>A loaded CUmodule; disposing calls cuModuleUnload.</summary>
public sealed class CudaModuleHandle : CudaResourceHandle
{
    /// <summary>Takes ownership of <paramref name="value"/>, created in <paramref name="context"/>.</summary>
    public CudaModuleHandle(nint value, nint context)
        : base(value, context)
    {
    }

    /// <summary>The raw handle.</summary>
    public nint Value => handle;

    /// <inheritdoc />
    protected override int Release(nint value) => CudaDriver.ModuleUnload(value);
}
