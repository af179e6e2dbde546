using OnePass.Training.Tensors;

namespace OnePass.Training.Optimisation;

/// <summary>
/// SGD with momentum and weight decay, PyTorch semantics (ALGORITHM.md): b_t = μ⊙b_{t−1} + g + ξ⊙w_{t−1};
/// w_t = w_{t−1} − η⊙b_t, so u = η⊙(μ⊙b_{t−1} + g + ξ⊙w). Each hyperparameter may be a scalar or one value
/// per weight. State: the velocity b.
/// </summary>
public sealed class SgdUpdateRule : IUpdateRule
{
    /// <summary>The rule (it holds no data of its own).</summary>
    public static SgdUpdateRule Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "sgd";

    /// <inheritdoc />
    public int StateBufferCount => 1;

    /// <inheritdoc />
    public void Step(IBackend backend, DeviceBuffer weights, DeviceBuffer gradient, IReadOnlyList<DeviceBuffer> state, HyperparameterSet hyperparameters) =>
        backend.SgdMomentumStep(weights, gradient, state[0],
            hyperparameters.LearningRate.AsHyperValue(), hyperparameters.WeightDecay.AsHyperValue(), hyperparameters.Momentum.AsHyperValue());

    /// <inheritdoc />
    /// <remarks>∂u/∂g = diag(η).</remarks>
    public void GradientPartial(IBackend backend, UpdatePoint at, HyperparameterSet hyperparameters, DeviceBuffer v, DeviceBuffer result) =>
        Times(backend, hyperparameters.LearningRate.AsHyperValue(), v, result);

    /// <inheritdoc />
    /// <remarks>∂u/∂w (explicit) = diag(η⊙ξ).</remarks>
    public void WeightPartial(IBackend backend, UpdatePoint at, HyperparameterSet hyperparameters, DeviceBuffer v, DeviceBuffer result)
    {
        Times(backend, hyperparameters.WeightDecay.AsHyperValue(), v, result);
        Times(backend, hyperparameters.LearningRate.AsHyperValue(), result, result);
    }

    /// <inheritdoc />
    /// <remarks>∂u/∂η = b_t; ∂u/∂ξ = η⊙w_{t−1}; ∂u/∂μ = η⊙b_{t−1}.</remarks>
    public void HyperparameterPartial(IBackend backend, UpdatePoint at, HyperparameterSet hyperparameters, HyperparameterKind kind, DeviceBuffer p, DeviceBuffer result)
    {
        var eta = hyperparameters.LearningRate.AsHyperValue();
        switch (kind)
        {
            case HyperparameterKind.LearningRate:
                NewVelocity(backend, at, hyperparameters, result);
                break;
            case HyperparameterKind.WeightDecay:
                Times(backend, eta, at.Weights, result);
                break;
            case HyperparameterKind.Momentum:
                Times(backend, eta, at.State[0], result);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "SGD has no such hyperparameter");
        }

        backend.Multiply(result, p, result);
    }

    /// <inheritdoc />
    /// <remarks>
    /// With ŵ, b̂ the adjoints of w_t, b_t: the whole adjoint of b_t is b̃ = b̂ − η⊙ŵ, which is also g's;
    /// w_{t−1} gets ŵ + ξ⊙b̃ (plus H b̃ from the caller), b_{t−1} gets μ⊙b̃; η gets −ŵ⊙b_t, ξ gets b̃⊙w_{t−1},
    /// μ gets b̃⊙b_{t−1}.
    /// </remarks>
    public void Backward(IBackend backend, UpdatePoint at, HyperparameterSet hyperparameters, DeviceBuffer weightAdjoint,
        IReadOnlyList<DeviceBuffer> stateAdjoint, DeviceBuffer gradientAdjoint, IReadOnlyList<DeviceBuffer> previousStateAdjoint,
        IReadOnlyDictionary<HyperparameterKind, DeviceBuffer> hyperparameterAdjoint)
    {
        var eta = hyperparameters.LearningRate.AsHyperValue();
        var tilde = gradientAdjoint;
        Times(backend, eta, weightAdjoint, tilde);
        backend.Scale(-1f, tilde);
        backend.Axpy(1f, stateAdjoint[0], tilde);

        if (hyperparameterAdjoint.TryGetValue(HyperparameterKind.LearningRate, out var dEta))
        {
            NewVelocity(backend, at, hyperparameters, dEta);
            backend.Multiply(dEta, weightAdjoint, dEta);
            backend.Scale(-1f, dEta);
        }

        if (hyperparameterAdjoint.TryGetValue(HyperparameterKind.WeightDecay, out var dXi))
        {
            backend.Multiply(tilde, at.Weights, dXi);
        }

        if (hyperparameterAdjoint.TryGetValue(HyperparameterKind.Momentum, out var dMu))
        {
            backend.Multiply(tilde, at.State[0], dMu);
        }

        Times(backend, hyperparameters.Momentum.AsHyperValue(), tilde, previousStateAdjoint[0]);
        AddTimes(backend, hyperparameters.WeightDecay.AsHyperValue(), tilde, weightAdjoint);
    }

    // b_t = μ⊙b_{t−1} + g + ξ⊙w_{t−1}, recomputed from the captured point.
    private static void NewVelocity(IBackend backend, UpdatePoint at, HyperparameterSet hyperparameters, DeviceBuffer result)
    {
        Times(backend, hyperparameters.WeightDecay.AsHyperValue(), at.Weights, result);
        backend.Axpy(1f, at.Gradient, result);
        AddTimes(backend, hyperparameters.Momentum.AsHyperValue(), at.State[0], result);
    }

    // result = h ⊙ x (result may be x).
    private static void Times(IBackend backend, HyperValue h, DeviceBuffer x, DeviceBuffer result)
    {
        if (h.IsScalar)
        {
            if (!ReferenceEquals(x, result))
            {
                backend.Copy(x, result);
            }

            backend.Scale(h.Scalar, result);
        }
        else
        {
            backend.Multiply(h.PerElement!, x, result);
        }
    }

    // result += h ⊙ x.
    private static void AddTimes(IBackend backend, HyperValue h, DeviceBuffer x, DeviceBuffer result)
    {
        if (h.IsScalar)
        {
            backend.Axpy(h.Scalar, x, result);
        }
        else
        {
            backend.MultiplyAdd(1f, h.PerElement!, x, result);
        }
    }
}
