using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>The convolution and pooling family on the CPU.</summary>
internal sealed class CpuConvolution(CpuBackend backend) : IConvolutionKernels
{
    private readonly CpuBackend _backend = backend;
}
