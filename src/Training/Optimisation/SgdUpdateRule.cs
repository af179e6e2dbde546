using OnePass.Training.Tensors;

namespace OnePass.Training.Optimisation;

/// <summary>
/// SGD with momentum and weight decay, PyTorch semantics: d = g + ξ⊙w; b = μ⊙b + d; w −= η⊙b
/// (ALGORITHM.md). Each hyperparameter may be a scalar or one value per weight.
/// </summary>
public static class SgdUpdateRule
{
    /// <summary>Applies one update in place to <paramref name="weights"/> and <paramref name="velocity"/>.</summary>
    public static void Step(IBackend backend, DeviceBuffer weights, DeviceBuffer gradient, DeviceBuffer velocity, HyperparameterSet hyperparameters) =>
        backend.SgdMomentumStep(weights, gradient, velocity,
            hyperparameters.LearningRate.AsHyperValue(), hyperparameters.WeightDecay.AsHyperValue(), hyperparameters.Momentum.AsHyperValue());
}
