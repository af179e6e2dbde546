using OnePass.Training.Tensors;

namespace OnePass.Training.Optimisation;

/// <summary>
/// SGD with momentum and weight decay, PyTorch semantics (ALGORITHM.md): b_t = μ⊙b_{t−1} + ḡ + ξ⊙w_{t−1};
/// w_t = w_{t−1} − η⊙b_t, so u = η⊙(μ⊙b_{t−1} + ḡ + ξ⊙w). Each hyperparameter may be a scalar or one value
/// per weight. State: the velocity b.
/// <para>
/// ḡ is the loss gradient g itself, or with a clip norm m &gt; 0 the gradient clipped to global norm m as PyTorch's
/// <c>clip_grad_norm_</c> does before the optimiser adds weight decay: ḡ = c·g with c = m/(‖g‖ + 10⁻⁶) when that is
/// below 1, else c = 1. The clip is part of u and of every derivative of it: while it is active,
/// ∂ḡ/∂g = C = c·I − k·g gᵀ with k = m/(‖g‖(‖g‖ + 10⁻⁶)²), the exact derivative of c(g)·g (ALGORITHM.md writes it
/// c(I − ĝĝᵀ), which drops the 10⁻⁶ from the rank-one term). C is symmetric, so Cᵀ = C. Applying C costs two
/// reductions (‖g‖ and g·v), so with clipping the partials are no longer diagonal.
/// </para>
/// </summary>
public sealed class SgdUpdateRule : IUpdateRule
{
    /// <summary>The ε PyTorch's <c>clip_grad_norm_</c> adds to the norm.</summary>
    public const double ClipEpsilon = 1e-6;

    /// <summary>Creates the rule; <paramref name="maxGradientNorm"/> &gt; 0 clips the gradient to that global norm, 0 does not.</summary>
    public SgdUpdateRule(double maxGradientNorm = 0)
    {
        if (!(maxGradientNorm >= 0) || !double.IsFinite(maxGradientNorm))
        {
            throw new ArgumentOutOfRangeException(nameof(maxGradientNorm), maxGradientNorm, "the clip norm must be 0 (no clipping) or a positive number");
        }

        MaxGradientNorm = maxGradientNorm;
    }

    /// <summary>The rule without clipping (it holds no data of its own).</summary>
    public static SgdUpdateRule Instance { get; } = new();

    /// <summary>The global norm the gradient is clipped to; 0: no clipping.</summary>
    public double MaxGradientNorm { get; }

    /// <inheritdoc />
    public string Name => MaxGradientNorm > 0 ? $"sgd (gradient clipped to norm {MaxGradientNorm.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)})" : "sgd";

    /// <inheritdoc />
    public int StateBufferCount => 1;

    /// <inheritdoc />
    /// <remarks>
    /// Unclipped (or clip inactive): one fused kernel. Clip active: b = μ⊙b; b += c·g; b += ξ⊙w; w −= η⊙b, leaving
    /// <paramref name="gradient"/> unchanged.
    /// </remarks>
    public void Step(IBackend backend, DeviceBuffer weights, DeviceBuffer gradient, IReadOnlyList<DeviceBuffer> state, HyperparameterSet hyperparameters)
    {
        var eta = hyperparameters.LearningRate.AsHyperValue();
        var xi = hyperparameters.WeightDecay.AsHyperValue();
        var mu = hyperparameters.Momentum.AsHyperValue();
        var clip = Clip(backend, gradient);
        if (!clip.Active)
        {
            backend.SgdMomentumStep(weights, gradient, state[0], eta, xi, mu);
            return;
        }

        var b = state[0];
        Times(backend, mu, b, b);
        backend.Axpy(clip.C, gradient, b);
        AddTimes(backend, xi, weights, b);
        if (eta.IsScalar)
        {
            backend.Axpy(-eta.Scalar, b, weights);
        }
        else
        {
            backend.MultiplyAdd(-1f, eta.PerElement!, b, weights);
        }
    }

    /// <inheritdoc />
    public void EffectiveGradient(IBackend backend, DeviceBuffer gradient, DeviceBuffer result)
    {
        var clip = Clip(backend, gradient);
        backend.Copy(gradient, result);
        if (clip.Active)
        {
            backend.Scale(clip.C, result);
        }
    }

    /// <inheritdoc />
    /// <remarks>∂u/∂g = diag(η)·C, so (∂u/∂g)ᵀv = C(η⊙v) (C = I unclipped).</remarks>
    public void GradientPartial(IBackend backend, UpdatePoint at, HyperparameterSet hyperparameters, DeviceBuffer v, DeviceBuffer result)
    {
        Times(backend, hyperparameters.LearningRate.AsHyperValue(), v, result);
        ApplyClipJacobian(backend, Clip(backend, at.Gradient), at.Gradient, result);
    }

    /// <inheritdoc />
    /// <remarks>∂u/∂w (explicit) = diag(η⊙ξ); the clip depends on g only.</remarks>
    public void WeightPartial(IBackend backend, UpdatePoint at, HyperparameterSet hyperparameters, DeviceBuffer v, DeviceBuffer result)
    {
        Times(backend, hyperparameters.WeightDecay.AsHyperValue(), v, result);
        Times(backend, hyperparameters.LearningRate.AsHyperValue(), result, result);
    }

    /// <inheritdoc />
    /// <remarks>∂u/∂η = b_t (with the clipped gradient); ∂u/∂ξ = η⊙w_{t−1}; ∂u/∂μ = η⊙b_{t−1}.</remarks>
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
    /// With ŵ, b̂ the adjoints of w_t, b_t: the whole adjoint of b_t is b̃ = b̂ − η⊙ŵ, which is also ḡ's, so g gets Cb̃;
    /// w_{t−1} gets ŵ + ξ⊙b̃ (plus H C b̃ from the caller), b_{t−1} gets μ⊙b̃; η gets −ŵ⊙b_t, ξ gets b̃⊙w_{t−1},
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

        // Last, since everything above needs b̃ itself: g's adjoint is C b̃.
        ApplyClipJacobian(backend, Clip(backend, at.Gradient), at.Gradient, gradientAdjoint);
    }

    // The clip factor c of g and the rank-one coefficient k of C = c·I − k·g gᵀ (c = 1, k = 0 when inactive).
    private (bool Active, float C, float K) Clip(IBackend backend, DeviceBuffer gradient)
    {
        if (MaxGradientNorm <= 0)
        {
            return (false, 1f, 0f);
        }

        double norm = Math.Sqrt(backend.Dot(gradient, gradient));
        double c = MaxGradientNorm / (norm + ClipEpsilon);
        return c < 1 ? (true, (float)c, (float)(MaxGradientNorm / (norm * (norm + ClipEpsilon) * (norm + ClipEpsilon)))) : (false, 1f, 0f);
    }

    // x = C x = c·x − k·(g·x)·g in place (nothing when the clip is inactive).
    private static void ApplyClipJacobian(IBackend backend, (bool Active, float C, float K) clip, DeviceBuffer gradient, DeviceBuffer x)
    {
        if (!clip.Active)
        {
            return;
        }

        double gx = backend.Dot(gradient, x);
        backend.Scale(clip.C, x);
        backend.Axpy((float)(-clip.K * gx), gradient, x);
    }

    // b_t = μ⊙b_{t−1} + ḡ + ξ⊙w_{t−1}, recomputed from the captured point.
    private void NewVelocity(IBackend backend, UpdatePoint at, HyperparameterSet hyperparameters, DeviceBuffer result)
    {
        Times(backend, hyperparameters.WeightDecay.AsHyperValue(), at.Weights, result);
        backend.Axpy(Clip(backend, at.Gradient).C, at.Gradient, result);
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
