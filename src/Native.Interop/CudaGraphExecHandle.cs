namespace OnePass.Native.Interop;

/// <summary>An instantiated CUDA graph (CUgraphExec); disposing calls cuGraphExecDestroy.</summary>
public sealed class CudaGraphExecHandle : CudaResourceHandle
{
    /// <summary>Takes ownership of <paramref name="value"/>, created in <paramref name="context"/>.</summary>
    public CudaGraphExecHandle(nint value, nint context)
        : base(value, context)
    {
    }

    /// <summary>The raw handle.</summary>
    public nint Value => handle;

    /// <inheritdoc />
    protected override int Release(nint value) => CudaDriver.GraphExecDestroy(value);
}
