namespace OnePass.Native.Interop;

/// <summary>What one successful NVRTC compilation produced.</summary>
/// <param name="Image">A CUBIN (for an "sm_XY" target) or NUL-terminated PTX (for "compute_XY").</param>
/// <param name="Log">The compiler's log: warnings, or empty when there were none.</param>
/// <param name="Architecture">The target it was compiled for.</param>
public sealed record NvrtcOutput(byte[] Image, string Log, string Architecture);
