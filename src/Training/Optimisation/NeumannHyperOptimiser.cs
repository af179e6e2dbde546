using OnePass.Training.Tensors;

namespace OnePass.Training.Optimisation;

/// <summary>
/// The paper's method (ALGORITHM.md): every T weight steps, v₀ = ∇L_val(w_t); p = Σ_{j&lt;i} v_j with
/// v_{j+1} = v_j − Jᵀv_j, Jᵀv = H((∂u/∂g)ᵀv) + (∂u/∂w)ᵀv from the update rule's partials (SGD: (H + ξI)(η⊙v); with
/// gradient clipping (∂u/∂g)ᵀv carries the clip's rank-one term),
/// H the training Hessian at w_{t−1} on the last batch (i − 1 exact HVPs); hypergradients −pᵀ∂u/∂λ from the rule,
/// chained to the unconstrained φ; Adam on φ, then clipping. Works with any <see cref="IUpdateRule"/>.
/// <c>lorraine</c> is this method with weight decay alone.
/// </summary>
public sealed class NeumannHyperOptimiser : IHyperOptimiser
{
    private readonly int _depth;
    private readonly float _adamLr;
    private readonly HashSet<HyperparameterKind> _tuned;
    private readonly Dictionary<HyperparameterKind, (DeviceBuffer Grad, DeviceBuffer M, DeviceBuffer V)> _adam = [];
    private UpdatePoint? _point;
    private DeviceBuffer? _v, _p, _scaled, _hv, _scratch;
    private int _adamStep;
    private IBackend? _backendForReads;

    /// <summary>Creates the optimiser tuning <paramref name="tuned"/> with Neumann depth <paramref name="depth"/>.</summary>
    public NeumannHyperOptimiser(string name, int stepInterval, int depth, double adamLearningRate, IEnumerable<HyperparameterKind> tuned)
    {
        Name = name;
        StepInterval = stepInterval;
        _depth = depth;
        _adamLr = (float)adamLearningRate;
        _tuned = [.. tuned];
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int StepInterval { get; }

    /// <inheritdoc />
    public bool UsesValidation => true;

    /// <summary>
    /// The last hypergradient with respect to φ of <paramref name="kind"/> (one value, or one per weight), copied to the host
    /// on request only, so that training never pays a device-to-host transfer for it.
    /// </summary>
    public float[] LastHypergradient(HyperparameterKind kind)
    {
        if (_adamStep == 0 || !_adam.TryGetValue(kind, out var state))
        {
            throw new InvalidOperationException($"{Name} has taken no hyperparameter step on {kind}");
        }

        var host = new float[state.Grad.Length];
        _backendForReads!.Download(state.Grad, host);
        return host;
    }

    /// <inheritdoc />
    public void BeforeUpdate(TrainingState state)
    {
        if ((state.WeightStep + 1) % StepInterval != 0)
        {
            return;
        }

        var b = state.Backend;
        _point ??= new UpdatePoint(b, state.Model.ParameterCount, state.UpdateRule.StateBufferCount);
        _point.Capture(b, state.Weights, state.Gradient, state.RuleState);
    }

    /// <inheritdoc />
    public void Step(TrainingState state)
    {
        var b = state.Backend;
        var h = state.Hyperparameters;
        int n = state.Model.ParameterCount;
        _v ??= b.Allocate(n);
        _p ??= b.Allocate(n);
        _scaled ??= b.Allocate(n);
        _hv ??= b.Allocate(n);
        _scratch ??= b.Allocate(n);
        _backendForReads = b;
        var sampler = state.ValidationSampler ?? throw new InvalidOperationException($"{Name} needs a validation split");

        // v₀ = ∇L_val(w_t) on a validation batch.
        var vb = sampler.Next();
        state.ValidationExecutor.SetBatch(vb.Inputs, vb.Targets, vb.Count);
        state.ValidationExecutor.Forward(state.Weights);
        state.ValidationExecutor.Backward(_v);
        b.Copy(_v, _p);

        // Neumann terms with H at w_{t−1} on the interval's last training batch.
        var rule = state.UpdateRule;
        var point = _point ?? throw new InvalidOperationException("no update was captured before this hyperparameter step");
        var train = state.TrainingExecutor;
        var last = state.LastBatch ?? throw new InvalidOperationException("no training batch yet");
        train.SetBatch(last.Inputs, last.Targets, last.Count);
        train.Forward(point.Weights);
        for (int j = 1; j < _depth; j++)
        {
            // Each term queues the same work (a CUDA graph on the GPU; a clipped gradient's norm read breaks that).
            b.Replayable("neumann term", () =>
            {
                rule.GradientPartial(b, point, h, _v, _scaled);
                train.HessianVectorProduct(_scaled, _hv);
                rule.WeightPartial(b, point, h, _v, _scratch);
                b.Axpy(1f, _scratch, _hv);
                b.Axpy(-1f, _hv, _v);
                b.Axpy(1f, _v, _p);
            });
        }

        _adamStep++;
        foreach (var hp in h.All)
        {
            if (!_tuned.Contains(hp.Kind))
            {
                continue;
            }

            var (grad, _, _) = AdamState(b, hp);
            // Hypergradient in natural space −pᵀ∂u/∂λ, then chained to φ.
            rule.HyperparameterPartial(b, point, h, hp.Kind, _p, _scratch);
            if (hp.PerWeight)
            {
                hp.TransformDerivative(grad);
                b.Multiply(grad, _scratch, grad);
                b.Scale(-1f, grad);
            }
            else
            {
                var derivative = new float[1];
                hp.TransformDerivative(grad);
                b.Download(grad, derivative);
                float value = (float)(-b.Sum(_scratch) * derivative[0]);
                b.Upload([value], grad);
            }
        }

        // Only once every hypergradient is computed at the same λ do the hyperparameters move.
        foreach (var hp in h.All)
        {
            if (_tuned.Contains(hp.Kind))
            {
                var (grad, m, v) = _adam[hp.Kind];
                b.AdamStep(hp.Phi, grad, m, v, _adamLr, 0.9f, 0.999f, 1e-8f, _adamStep);
                hp.Refresh();
            }
        }
    }

    private (DeviceBuffer Grad, DeviceBuffer M, DeviceBuffer V) AdamState(IBackend b, Hyperparameter hp)
    {
        if (!_adam.TryGetValue(hp.Kind, out var s))
        {
            s = (b.Allocate(hp.Phi.Length), b.Allocate(hp.Phi.Length), b.Allocate(hp.Phi.Length));
            _adam[hp.Kind] = s;
        }

        return s;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _point?.Dispose();
        foreach (var buffer in new[] { _v, _p, _scaled, _hv, _scratch })
        {
            buffer?.Dispose();
        }

        foreach (var (g, m, v) in _adam.Values)
        {
            g.Dispose();
            m.Dispose();
            v.Dispose();
        }
    }
}
