using OnePass.Training.Tensors;

namespace OnePass.Training.Optimisation;

/// <summary>
/// Copies of what one weight update was computed from: w_{t−1}, g(w_{t−1}) and the rule's state s_{t−1}.
/// Hypergradient methods capture one just before the update they differentiate.
/// </summary>
public sealed class UpdatePoint : IDisposable
{
    private readonly DeviceBuffer[] _state;

    /// <summary>Allocates the copies for <paramref name="weights"/> weights and <paramref name="stateBuffers"/> state buffers.</summary>
    public UpdatePoint(IBackend backend, int weights, int stateBuffers)
    {
        Weights = backend.Allocate(weights);
        Gradient = backend.Allocate(weights);
        _state = Enumerable.Range(0, stateBuffers).Select(_ => backend.Allocate(weights)).ToArray();
    }

    /// <summary>w_{t−1}.</summary>
    public DeviceBuffer Weights { get; }

    /// <summary>g(w_{t−1}) on the update's batch, without weight decay.</summary>
    public DeviceBuffer Gradient { get; }

    /// <summary>s_{t−1}.</summary>
    public IReadOnlyList<DeviceBuffer> State => _state;

    /// <summary>Copies the live buffers into this point.</summary>
    public void Capture(IBackend backend, DeviceBuffer weights, DeviceBuffer gradient, IReadOnlyList<DeviceBuffer> state)
    {
        if (state.Count != _state.Length)
        {
            throw new ArgumentException($"the update rule has {_state.Length} state buffers, not {state.Count}", nameof(state));
        }

        backend.Copy(weights, Weights);
        backend.Copy(gradient, Gradient);
        for (int i = 0; i < _state.Length; i++)
        {
            backend.Copy(state[i], _state[i]);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Weights.Dispose();
        Gradient.Dispose();
        foreach (var s in _state)
        {
            s.Dispose();
        }
    }
}
