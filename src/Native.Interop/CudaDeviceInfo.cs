using System.Text;

namespace OnePass.Native.Interop;

/// <summary>What the driver reports about one device.</summary>
/// <param name="Ordinal">Device ordinal as passed to cuDeviceGet.</param>
/// <param name="Device">The CUdevice.</param>
/// <param name="Name">Marketing name, e.g. "NVIDIA H100 80GB HBM3".</param>
/// <param name="Major">Compute capability major version.</param>
/// <param name="Minor">Compute capability minor version.</param>
/// <param name="Multiprocessors">Number of streaming multiprocessors.</param>
/// <param name="TotalMemoryBytes">Device memory in bytes.</param>
/// <param name="DriverVersion">Driver API version, e.g. 12040 for 12.4.</param>
public sealed record CudaDeviceInfo(int Ordinal, int Device, string Name, int Major, int Minor, int Multiprocessors, ulong TotalMemoryBytes, int DriverVersion)
{
    /// <summary>The NVRTC real architecture name, e.g. "sm_90".</summary>
    public string Architecture => $"sm_{Major}{Minor}";

    /// <summary>Initialises the driver and queries device <paramref name="ordinal"/>.</summary>
    public static unsafe CudaDeviceInfo Query(int ordinal)
    {
        CudaCheck.Driver(CudaDriver.Init(0), "cuInit");
        CudaCheck.Driver(CudaDriver.DriverGetVersion(out int driverVersion), "cuDriverGetVersion");
        CudaCheck.Driver(CudaDriver.DeviceGet(out int device, ordinal), "cuDeviceGet");
        byte* name = stackalloc byte[256];
        CudaCheck.Driver(CudaDriver.DeviceGetName(name, 256, device), "cuDeviceGetName");
        int length = 0;
        while (length < 256 && name[length] != 0)
        {
            length++;
        }

        CudaCheck.Driver(CudaDriver.DeviceGetAttribute(out int major, CudaDriver.AttributeComputeCapabilityMajor, device), "cuDeviceGetAttribute");
        CudaCheck.Driver(CudaDriver.DeviceGetAttribute(out int minor, CudaDriver.AttributeComputeCapabilityMinor, device), "cuDeviceGetAttribute");
        CudaCheck.Driver(CudaDriver.DeviceGetAttribute(out int sms, CudaDriver.AttributeMultiprocessorCount, device), "cuDeviceGetAttribute");
        CudaCheck.Driver(CudaDriver.DeviceTotalMem(out nuint bytes, device), "cuDeviceTotalMem_v2");
        return new CudaDeviceInfo(ordinal, device, Encoding.UTF8.GetString(name, length), major, minor, sms, bytes, driverVersion);
    }

    /// <summary>One line for logs: name, architecture, SMs, memory, driver version.</summary>
    public override string ToString() =>
        $"{Name} ({Architecture}, {Multiprocessors} SMs, {TotalMemoryBytes / (1024.0 * 1024 * 1024):F1} GiB, driver {DriverVersion / 1000}.{DriverVersion % 1000 / 10})";
}
