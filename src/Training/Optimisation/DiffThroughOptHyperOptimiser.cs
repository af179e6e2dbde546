using OnePass.Training.Data;
using OnePass.Training.Tensors;

namespace OnePass.Training.Optimisation;

/// <summary>
/// The exact hypergradient of the validation loss through the last K weight updates (K = the rollback distance),
/// by reverse mode through the update rule's <see cref="IUpdateRule.Backward"/> (for SGD the momentum recursion
/// w_s = w_{s−1} − η b_s, b_s = μ b_{s−1} + g(w_{s−1}; B_s) + ξ w_{s−1}, with g clipped when the rule clips and the
/// clip's Jacobian in the rule's adjoint of g): one exact HVP per unrolled step.
/// Scalar learning rate, weight decay and momentum are tuned with Adam on φ.
/// </summary>
public sealed class DiffThroughOptHyperOptimiser : IHyperOptimiser
{
    private static readonly HyperparameterKind[] Kinds = [HyperparameterKind.LearningRate, HyperparameterKind.WeightDecay, HyperparameterKind.Momentum];
    private readonly int _unroll;
    private readonly float _adamLr;
    private readonly List<(UpdatePoint Point, float[] X, float[] Y, int Rows)> _records = [];
    private readonly Dictionary<HyperparameterKind, (DeviceBuffer Grad, DeviceBuffer M, DeviceBuffer V)> _adam = [];
    private readonly Dictionary<HyperparameterKind, DeviceBuffer> _hyperAdjoint = [];
    private DeviceBuffer? _wHat, _gHat, _hv;
    private BufferGroup? _stateHat;
    private int _adamStep;

    /// <summary>Creates the optimiser unrolling <paramref name="unroll"/> updates, stepping every <paramref name="stepInterval"/>.</summary>
    public DiffThroughOptHyperOptimiser(int stepInterval, int unroll, double adamLearningRate)
    {
        StepInterval = stepInterval;
        _unroll = Math.Min(unroll, stepInterval);
        _adamLr = (float)adamLearningRate;
    }

    /// <inheritdoc />
    public string Name => "diff-through-opt";

    /// <inheritdoc />
    public int StepInterval { get; }

    /// <inheritdoc />
    public bool UsesValidation => true;

    /// <summary>The last hypergradients with respect to φ (lr, weight decay, momentum).</summary>
    public Dictionary<HyperparameterKind, double> LastHypergradient { get; } = [];

    /// <inheritdoc />
    public void BeforeUpdate(TrainingState state)
    {
        long positionInInterval = state.WeightStep % StepInterval;
        if (positionInInterval < StepInterval - _unroll)
        {
            return;
        }

        var b = state.Backend;
        int slot = (int)(positionInInterval - (StepInterval - _unroll));
        if (_records.Count <= slot)
        {
            _records.Add((new UpdatePoint(b, state.Weights.Length, state.UpdateRule.StateBufferCount), [], [], 0));
        }

        var batch = state.LastBatch ?? throw new InvalidOperationException("no training batch");
        var r = _records[slot];
        r.Point.Capture(b, state.Weights, state.Gradient, state.RuleState);
        _records[slot] = (r.Point, (float[])batch.Inputs.Clone(), (float[])batch.Targets.Clone(), batch.Count);
    }

    /// <inheritdoc />
    public void Step(TrainingState state)
    {
        var b = state.Backend;
        var h = state.Hyperparameters;
        var rule = state.UpdateRule;
        int n = state.Weights.Length;
        if (h.All.Any(hp => hp.PerWeight))
        {
            throw new InvalidOperationException("diff-through-opt tunes scalar hyperparameters only");
        }

        _wHat ??= b.Allocate(n);
        _gHat ??= b.Allocate(n);
        _hv ??= b.Allocate(n);
        _stateHat ??= new BufferGroup(b, rule.StateBufferCount, n);
        foreach (var kind in Kinds)
        {
            if (!_hyperAdjoint.ContainsKey(kind))
            {
                _hyperAdjoint[kind] = b.Allocate(n);
            }
        }

        Batch vb = (state.ValidationSampler ?? throw new InvalidOperationException("no validation split")).Next();
        state.ValidationExecutor.SetBatch(vb.Inputs, vb.Targets, vb.Count);
        state.ValidationExecutor.Forward(state.Weights);
        state.ValidationExecutor.Backward(_wHat);
        foreach (var s in _stateHat.Buffers)
        {
            b.Fill(s, 0f);
        }

        var natural = Kinds.ToDictionary(k => k, _ => 0.0);
        for (int s = _records.Count - 1; s >= 0; s--)
        {
            var (point, x, y, rows) = _records[s];
            rule.Backward(b, point, h, _wHat, _stateHat.Buffers, _gHat, _stateHat.Buffers, _hyperAdjoint);
            foreach (var kind in Kinds)
            {
                natural[kind] += b.Sum(_hyperAdjoint[kind]);
            }

            // The path through g(w_{s−1}): ŵ_{s−1} += H_s ĝ.
            state.TrainingExecutor.SetBatch(x, y, rows);
            b.Replayable("diff-through-opt replay", () =>
            {
                state.TrainingExecutor.Forward(point.Weights);
                state.TrainingExecutor.HessianVectorProduct(_gHat, _hv);
                b.Axpy(1f, _hv, _wHat);
            });
        }

        float eta = h.LearningRate.Scalar, xi = h.WeightDecay.Scalar, mu = h.Momentum.Scalar;
        LastHypergradient[HyperparameterKind.LearningRate] = natural[HyperparameterKind.LearningRate] * Math.Log(10) * eta;
        LastHypergradient[HyperparameterKind.WeightDecay] = natural[HyperparameterKind.WeightDecay] * Math.Log(10) * xi;
        LastHypergradient[HyperparameterKind.Momentum] = natural[HyperparameterKind.Momentum] * mu * (1 - mu);
        _adamStep++;
        foreach (var hp in h.All)
        {
            if (!_adam.TryGetValue(hp.Kind, out var adam))
            {
                adam = (b.Allocate(1), b.Allocate(1), b.Allocate(1));
                _adam[hp.Kind] = adam;
            }

            b.Upload([(float)LastHypergradient[hp.Kind]], adam.Grad);
            b.AdamStep(hp.Phi, adam.Grad, adam.M, adam.V, _adamLr, 0.9f, 0.999f, 1e-8f, _adamStep);
            hp.Refresh();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var r in _records)
        {
            r.Point.Dispose();
        }

        foreach (var buffer in new[] { _wHat, _gHat, _hv }.Concat(_hyperAdjoint.Values))
        {
            buffer?.Dispose();
        }

        _stateHat?.Dispose();
        foreach (var (g, m, v) in _adam.Values)
        {
            g.Dispose();
            m.Dispose();
            v.Dispose();
        }
    }
}
