using OnePass.Training.Data;
using OnePass.Training.Tensors;

namespace OnePass.Training.Optimisation;

/// <summary>
/// The exact hypergradient of the validation loss through the last K weight updates (K = the rollback distance),
/// by reverse mode through w_s = w_{s−1} − η b_s, b_s = μ b_{s−1} + g(w_{s−1}; B_s) + ξ w_{s−1}: one exact HVP per
/// unrolled step. Learning rate, weight decay and momentum are tuned with Adam on φ.
/// </summary>
public sealed class DiffThroughOptHyperOptimiser : IHyperOptimiser
{
    private readonly int _unroll;
    private readonly float _adamLr;
    private readonly List<(DeviceBuffer W, DeviceBuffer B, float[] X, float[] Y, int Rows)> _records = [];
    private readonly Dictionary<HyperparameterKind, (DeviceBuffer Grad, DeviceBuffer M, DeviceBuffer V)> _adam = [];
    private DeviceBuffer? _wHat, _bHat, _bTilde, _hv;
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
            _records.Add((b.Allocate(state.Weights.Length), b.Allocate(state.Weights.Length), [], [], 0));
        }

        var batch = state.LastBatch ?? throw new InvalidOperationException("no training batch");
        var r = _records[slot];
        b.Copy(state.Weights, r.W);
        b.Copy(state.Velocity, r.B);
        _records[slot] = (r.W, r.B, (float[])batch.Inputs.Clone(), (float[])batch.Targets.Clone(), batch.Count);
    }

    /// <inheritdoc />
    public void Step(TrainingState state)
    {
        var b = state.Backend;
        var h = state.Hyperparameters;
        int n = state.Weights.Length;
        _wHat ??= b.Allocate(n);
        _bHat ??= b.Allocate(n);
        _bTilde ??= b.Allocate(n);
        _hv ??= b.Allocate(n);
        float eta = h.LearningRate.Scalar, xi = h.WeightDecay.Scalar, mu = h.Momentum.Scalar;
        if (h.LearningRate.PerWeight)
        {
            throw new InvalidOperationException("diff-through-opt tunes one scalar learning rate");
        }

        Batch vb = (state.ValidationSampler ?? throw new InvalidOperationException("no validation split")).Next();
        state.ValidationExecutor.SetBatch(vb.Inputs, vb.Targets, vb.Count);
        state.ValidationExecutor.Forward(state.Weights);
        state.ValidationExecutor.Backward(_wHat);
        b.Fill(_bHat, 0f);
        double dEta = 0, dXi = 0, dMu = 0;
        for (int s = _records.Count - 1; s >= 0; s--)
        {
            var (w, bPrev, x, y, rows) = _records[s];
            DeviceBuffer bNext = s + 1 < _records.Count ? _records[s + 1].B : state.Velocity;
            // b̃ = b̂_s − η ŵ_s: the whole adjoint of b_s.
            b.Copy(_bHat, _bTilde);
            b.Axpy(-eta, _wHat, _bTilde);
            dEta -= b.Dot(_wHat, bNext);
            dMu += b.Dot(_bTilde, bPrev);
            dXi += b.Dot(_bTilde, w);
            // ŵ_{s−1} = ŵ_s + (H_s + ξI) b̃;  b̂_{s−1} = μ b̃.
            state.TrainingExecutor.SetBatch(x, y, rows);
            state.TrainingExecutor.Forward(w);
            state.TrainingExecutor.HessianVectorProduct(_bTilde, _hv);
            b.Axpy(1f, _hv, _wHat);
            b.Axpy(xi, _bTilde, _wHat);
            b.Copy(_bTilde, _bHat);
            b.Scale(mu, _bHat);
        }

        LastHypergradient[HyperparameterKind.LearningRate] = dEta * Math.Log(10) * eta;
        LastHypergradient[HyperparameterKind.WeightDecay] = dXi * Math.Log(10) * xi;
        LastHypergradient[HyperparameterKind.Momentum] = dMu * mu * (1 - mu);
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
            r.W.Dispose();
            r.B.Dispose();
        }

        foreach (var buffer in new[] { _wHat, _bHat, _bTilde, _hv })
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
