namespace OnePass.Training.Tensors;

/// <summary>
/// The convolution and pooling family's fused kernels (N×C×H×W, row-major), behind one small interface per
/// backend: the CPU implements them with im2col and the packed SGEMM, CUDA may call cuDNN. Ops in
/// <c>Graphs/Ops/Convolution</c> call only these and the general primitives of <see cref="IBackend"/>.
/// </summary>
public interface IConvolutionKernels
{
}
