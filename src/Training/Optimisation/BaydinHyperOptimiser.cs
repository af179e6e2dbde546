using OnePass.Training.Tensors;

namespace OnePass.Training.Optimisation;

/// <summary>
/// Hypergradient descent on the learning rate (Baydin et al.): after each weight step, ∂L/∂η ≈ −g(w_t)·g(w_{t−1})
/// from two consecutive training gradients (ALGORITHM.md), chained to φ = log10 η and applied by plain SGD on φ
/// (learning rate 0.001). Trains on training + validation data; never looks at a validation split. g(w_{t−1}) is
/// taken as the update rule applied it (<see cref="IUpdateRule.EffectiveGradient"/>: clipped when the rule clips), so
/// that the hypergradient stays d L(w_{t−1} − η ḡ_{t−1})/dη; g(w_t) is the loss gradient itself.
/// </summary>
public sealed class BaydinHyperOptimiser(double learningRate = 0.001) : IHyperOptimiser
{
    private DeviceBuffer? _previousGradient;

    /// <inheritdoc />
    public string Name => "baydin";

    /// <inheritdoc />
    public int StepInterval => 1;

    /// <inheritdoc />
    public bool UsesValidation => false;

    /// <summary>The last hypergradient with respect to φ_η (NaN before the second weight step).</summary>
    public double LastHypergradient { get; private set; } = double.NaN;

    /// <inheritdoc />
    public void BeforeUpdate(TrainingState state)
    {
        var b = state.Backend;
        var lr = state.Hyperparameters.LearningRate;
        if (lr.PerWeight)
        {
            throw new InvalidOperationException("baydin tunes one scalar learning rate");
        }

        if (_previousGradient is null)
        {
            _previousGradient = b.Allocate(state.Gradient.Length);
        }
        else
        {
            // state.Gradient is g(w_t) for the w_t the previous update produced; _previousGradient is ḡ(w_{t−1}).
            double dLossDLr = -b.Dot(state.Gradient, _previousGradient);
            LastHypergradient = dLossDLr * Math.Log(10) * lr.Scalar;
            var phi = new float[1];
            b.Download(lr.Phi, phi);
            phi[0] -= (float)(learningRate * LastHypergradient);
            b.Upload(phi, lr.Phi);
            lr.Refresh();
        }

        state.UpdateRule.EffectiveGradient(b, state.Gradient, _previousGradient);
    }

    /// <inheritdoc />
    public void Step(TrainingState state)
    {
    }

    /// <inheritdoc />
    public void Dispose() => _previousGradient?.Dispose();
}
