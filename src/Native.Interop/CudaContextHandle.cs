using Microsoft.Win32.SafeHandles;

namespace OnePass.Native.Interop;

/// <summary>A retained primary context of one device; disposing releases the retain.</summary>
public sealed class CudaContextHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private CudaContextHandle(nint context, int device)
        : base(ownsHandle: true)
    {
        SetHandle(context);
        Device = device;
    }

    /// <summary>The CUdevice this context belongs to.</summary>
    public int Device { get; }

    /// <summary>The raw CUcontext.</summary>
    public nint Value => handle;

    /// <summary>Retains the primary context of <paramref name="device"/> (cuDevicePrimaryCtxRetain).</summary>
    public static CudaContextHandle RetainPrimary(int device)
    {
        CudaCheck.Driver(CudaDriver.DevicePrimaryCtxRetain(out nint context, device), "cuDevicePrimaryCtxRetain");
        return new CudaContextHandle(context, device);
    }

    /// <summary>Makes this context current on the calling thread.</summary>
    public void MakeCurrent() => CudaCheck.Driver(CudaDriver.CtxSetCurrent(handle), "cuCtxSetCurrent");

    /// <inheritdoc />
    protected override bool ReleaseHandle() => CudaDriver.DevicePrimaryCtxRelease(Device) == 0;
}
