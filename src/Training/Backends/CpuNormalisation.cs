using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>The normalisation family (batch norm) on the CPU.</summary>
internal sealed class CpuNormalisation(CpuBackend backend) : INormalisationKernels
{
    private readonly CpuBackend _backend = backend;
}
