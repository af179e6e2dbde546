namespace OnePass.Export;

/// <summary>Which ONNX Runtime execution provider an <see cref="OnnxInferenceSession"/> uses.</summary>
public enum ExecutionProviderChoice
{
    /// <summary>Try CUDA (device 0); if it cannot be used, fall back to the CPU and log one line saying why.</summary>
    Auto,

    /// <summary>Require CUDA (device 0); failing to set it up is an error.</summary>
    Cuda,

    /// <summary>Use the CPU provider only.</summary>
    Cpu,
}
