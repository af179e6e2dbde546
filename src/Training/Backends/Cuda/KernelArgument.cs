namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// One kernel parameter as raw bits in an 8-byte slot. cuLaunchKernel reads each parameter with its declared
/// size from the slot's address, so 4-byte values sit in the low bytes (little-endian hosts only).
/// </summary>
internal readonly struct KernelArgument
{
    private KernelArgument(ulong bits) => Bits = bits;

    /// <summary>The slot contents.</summary>
    public ulong Bits { get; }

    /// <summary>An <c>int</c> parameter.</summary>
    public static KernelArgument Int(int value) => new((uint)value);

    /// <summary>A <c>float</c> parameter.</summary>
    public static KernelArgument Float(float value) => new(BitConverter.SingleToUInt32Bits(value));

    /// <summary>A <c>double</c> parameter.</summary>
    public static KernelArgument Double(double value) => new(BitConverter.DoubleToUInt64Bits(value));

    /// <summary>A device pointer parameter (zero for a null pointer).</summary>
    public static KernelArgument Pointer(ulong devicePointer) => new(devicePointer);
}
