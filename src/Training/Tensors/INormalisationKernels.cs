namespace OnePass.Training.Tensors;

/// <summary>
/// The normalisation family's fused kernels (batch norm over N×C×H×W: statistics, their derivatives and
/// R-operator), behind one small interface per backend. Ops in <c>Graphs/Ops/Normalisation</c> call only
/// these and the general primitives of <see cref="IBackend"/>.
/// </summary>
public interface INormalisationKernels
{
}
