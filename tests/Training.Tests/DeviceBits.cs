using OnePass.Training.Tensors;

namespace OnePass.Training.Tests;

/// <summary>Bit-for-bit comparisons of device buffers, for tests that state must not have moved at all.</summary>
internal static class DeviceBits
{
    /// <summary>A host copy of <paramref name="buffer"/>.</summary>
    public static float[] Download(IBackend backend, DeviceBuffer buffer)
    {
        var host = new float[buffer.Length];
        backend.Download(buffer, host);
        return host;
    }

    /// <summary>True when the two arrays hold the same bit patterns (NaN payloads and signed zeros included).</summary>
    public static bool SameBits(float[] a, float[] b) =>
        a.Length == b.Length && a.Zip(b).All(p => BitConverter.SingleToInt32Bits(p.First) == BitConverter.SingleToInt32Bits(p.Second));
}
