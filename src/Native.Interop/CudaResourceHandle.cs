using Microsoft.Win32.SafeHandles;

namespace OnePass.Native.Interop;

/// <summary>
/// Base of handles to driver resources that belong to a context: release makes that context current on the
/// releasing thread first (finalizers run on their own thread, where no context is current).
/// </summary>
public abstract class CudaResourceHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Creates an owning handle for <paramref name="value"/> in <paramref name="context"/>.</summary>
    protected CudaResourceHandle(nint value, nint context)
        : base(ownsHandle: true)
    {
        SetHandle(value);
        Context = context;
    }

    /// <summary>The context the resource belongs to (zero when none is needed to release it).</summary>
    public nint Context { get; }

    /// <inheritdoc />
    protected sealed override bool ReleaseHandle()
    {
        if (Context != 0 && CudaDriver.CtxSetCurrent(Context) != 0)
        {
            return false;
        }

        return Release(handle) == 0;
    }

    /// <summary>Calls the native destroy function and returns its status.</summary>
    protected abstract int Release(nint value);
}
