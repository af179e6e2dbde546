namespace OnePass.Native.Interop;

/// <summary>What to ask NVRTC for, for one GPU: its own CUBIN when NVRTC knows it, else PTX the driver JIT-compiles.</summary>
/// <param name="Architecture">"sm_XY" (a CUBIN for exactly that GPU) or "compute_XY" (PTX).</param>
/// <param name="Note">Why a fallback was taken, for the log; null when the GPU's own architecture is used.</param>
public sealed record TargetArchitecture(string Architecture, string? Note)
{
    /// <summary>True when the target is PTX rather than the GPU's own CUBIN.</summary>
    public bool IsPtx => Architecture.StartsWith("compute_", StringComparison.Ordinal);

    /// <summary>
    /// Chooses the target for a GPU of compute capability <paramref name="major"/>.<paramref name="minor"/> given
    /// the architectures NVRTC supports (<paramref name="supported"/>, 10 × major + minor, from
    /// <c>nvrtcGetSupportedArchs</c>). A GPU NVRTC knows gets its own sm_XY CUBIN; one newer than NVRTC knows gets
    /// PTX of the newest supported architecture not above it (PTX runs on any later GPU once the driver
    /// JIT-compiles it); an empty list (an NVRTC without that call) means "cannot tell", so the GPU's own
    /// architecture is tried. A GPU older than everything NVRTC supports cannot be targeted at all.
    /// </summary>
    /// <exception cref="NotSupportedException">The GPU is older than every architecture NVRTC supports.</exception>
    public static TargetArchitecture Choose(int major, int minor, IReadOnlyList<int> supported, string compilerVersion = "")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(major);
        ArgumentOutOfRangeException.ThrowIfNegative(minor);
        int device = (major * 10) + minor;
        if (supported.Count == 0 || supported.Contains(device))
        {
            return new TargetArchitecture($"sm_{device}", null);
        }

        string compiler = compilerVersion.Length > 0 ? $"NVRTC {compilerVersion}" : "NVRTC";
        int best = -1;
        foreach (int architecture in supported)
        {
            if (architecture <= device && architecture > best)
            {
                best = architecture;
            }
        }

        if (best < 0)
        {
            throw new NotSupportedException(
                $"{compiler} supports sm_{supported.Min()} to sm_{supported.Max()}; this GPU is sm_{device}, older than all of them: use an older CUDA toolkit's NVRTC");
        }

        return new TargetArchitecture($"compute_{best}",
            $"{compiler} does not know this GPU's sm_{device} (newest it supports: sm_{supported.Max()}); compiling PTX for compute_{best}, which the driver JIT-compiles");
    }
}
