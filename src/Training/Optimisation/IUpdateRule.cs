using OnePass.Training.Tensors;

namespace OnePass.Training.Optimisation;

/// <summary>
/// A differentiable weight-update rule w_t = w_{t−1} − u(w_{t−1}, g(w_{t−1}), s_{t−1}, λ) with per-weight state s
/// (SGD: the momentum buffer). Besides the step it exposes what the hypergradient methods need (ALGORITHM.md), all
/// evaluated at the point the update was taken from (<see cref="UpdatePoint"/>), with the state s_{t−1} held constant:
/// the transposed partials (∂u/∂g)ᵀ and (∂u/∂w)ᵀ applied to a vector (∂u/∂w through u's explicit dependence only; the
/// path through g is the caller's Hessian-vector product, so Jᵀv = H((∂u/∂g)ᵀv) + (∂u/∂w)ᵀv with H symmetric), and
/// the contraction p ⊙ ∂u/∂λ per hyperparameter. <see cref="Backward"/> is the full reverse-mode step, state included,
/// for differentiating through unrolled updates.
/// <para>
/// The partials need not be diagonal: a rule may mix weights through a global function of g, as gradient-norm
/// clipping does (∂u/∂g = diag(η)·(c·I − k·g gᵀ), see <see cref="SgdUpdateRule"/>), and then each product may take
/// reductions over the whole vector. That is why they are products with vectors, transposed where it matters, and
/// not diagonals. Any hyperparameter optimiser written against this interface works with any rule that implements it.
/// </para>
/// </summary>
public interface IUpdateRule
{
    /// <summary>Name, for logs.</summary>
    string Name { get; }

    /// <summary>Number of per-weight state buffers the rule keeps (SGD with momentum: 1, the velocity).</summary>
    int StateBufferCount { get; }

    /// <summary>
    /// One update in place: <paramref name="weights"/> and <paramref name="state"/> move from t−1 to t;
    /// <paramref name="gradient"/> (g, the loss gradient without weight decay) is left unchanged.
    /// </summary>
    void Step(IBackend backend, DeviceBuffer weights, DeviceBuffer gradient, IReadOnlyList<DeviceBuffer> state, HyperparameterSet hyperparameters);

    /// <summary>
    /// <paramref name="result"/> = the gradient as <see cref="Step"/> applies it, before weight decay and momentum: g itself,
    /// or g clipped for a clipping rule (for hypergradients that treat the step as w − η·(that), such as Baydin's).
    /// </summary>
    void EffectiveGradient(IBackend backend, DeviceBuffer gradient, DeviceBuffer result);

    /// <summary>
    /// <paramref name="result"/> = (∂u/∂g)ᵀ v, the vector-Jacobian product (Σ_k v_k ∂u_k/∂g); equal to (∂u/∂g) v when
    /// ∂u/∂g is symmetric (diagonal, or a clip with a scalar η).
    /// </summary>
    void GradientPartial(IBackend backend, UpdatePoint at, HyperparameterSet hyperparameters, DeviceBuffer v, DeviceBuffer result);

    /// <summary><paramref name="result"/> = (∂u/∂w)ᵀ v through u's explicit dependence on w (not through g).</summary>
    void WeightPartial(IBackend backend, UpdatePoint at, HyperparameterSet hyperparameters, DeviceBuffer v, DeviceBuffer result);

    /// <summary>
    /// <paramref name="result"/>_k = p_k · ∂u_k/∂λ in natural space, per weight k: the hypergradient contraction
    /// pᵀ ∂u/∂λ before summing (a scalar λ sums the result; a per-weight λ_k is entry k).
    /// </summary>
    void HyperparameterPartial(IBackend backend, UpdatePoint at, HyperparameterSet hyperparameters, HyperparameterKind kind, DeviceBuffer p, DeviceBuffer result);

    /// <summary>
    /// Reverse mode through one update (w_t, s_t) from (w_{t−1}, g(w_{t−1}), s_{t−1}, λ). On entry
    /// <paramref name="weightAdjoint"/> and <paramref name="stateAdjoint"/> hold the adjoints of w_t and s_t; on return
    /// <paramref name="weightAdjoint"/> holds the adjoint of w_{t−1} except the path through g (the caller adds
    /// H · <paramref name="gradientAdjoint"/>), <paramref name="gradientAdjoint"/> the adjoint of g (through all u does to g, a clip included),
    /// <paramref name="previousStateAdjoint"/> that of s_{t−1}, and <paramref name="hyperparameterAdjoint"/>[kind] the
    /// per-weight terms of the adjoint of λ (natural space; sum them for a scalar λ). The state adjoints may alias.
    /// </summary>
    void Backward(IBackend backend, UpdatePoint at, HyperparameterSet hyperparameters, DeviceBuffer weightAdjoint,
        IReadOnlyList<DeviceBuffer> stateAdjoint, DeviceBuffer gradientAdjoint, IReadOnlyList<DeviceBuffer> previousStateAdjoint,
        IReadOnlyDictionary<HyperparameterKind, DeviceBuffer> hyperparameterAdjoint);
}
