namespace OnePass.Native.Interop;

/// <summary>A cuBLAS handle; disposing calls cublasDestroy_v2.</summary>
public sealed class CublasHandle : CudaResourceHandle
{
    /// <summary>Takes ownership of <paramref name="value"/>, created in <paramref name="context"/>.</summary>
    public CublasHandle(nint value, nint context)
        : base(value, context)
    {
    }

    /// <summary>The raw handle.</summary>
    public nint Value => handle;

    /// <inheritdoc />
    protected override int Release(nint value) => Cublas.Destroy(value);
}
