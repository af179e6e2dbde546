using OnePass.Training.Tensors;

namespace OnePass.Training.Optimisation;

/// <summary>The three weight-update hyperparameters of SGD with momentum and weight decay.</summary>
public sealed class HyperparameterSet : IDisposable
{
    /// <summary>Creates the set from initial φ values; the learning rate may be one per weight.</summary>
    public HyperparameterSet(IBackend backend, int weights, float lrPhi, float weightDecayPhi, float momentumPhi, bool perWeightLearningRate, (float Min, float Max)? lrClip)
    {
        LearningRate = new Hyperparameter(backend, HyperparameterKind.LearningRate, lrPhi, perWeightLearningRate ? weights : 1, lrClip);
        WeightDecay = new Hyperparameter(backend, HyperparameterKind.WeightDecay, weightDecayPhi, 1, null);
        Momentum = new Hyperparameter(backend, HyperparameterKind.Momentum, momentumPhi, 1, null);
    }

    /// <summary>η.</summary>
    public Hyperparameter LearningRate { get; }

    /// <summary>ξ.</summary>
    public Hyperparameter WeightDecay { get; }

    /// <summary>μ.</summary>
    public Hyperparameter Momentum { get; }

    /// <summary>All three, in the order lr, weight_decay, momentum.</summary>
    public IEnumerable<Hyperparameter> All => [LearningRate, WeightDecay, Momentum];

    /// <summary>Natural-space values (per-weight ones summarised), keyed by name.</summary>
    public Dictionary<string, double> Summary()
    {
        var result = new Dictionary<string, double>();
        foreach (var h in All)
        {
            foreach (var (k, v) in h.Summary())
            {
                result[k] = v;
            }
        }

        return result;
    }

    /// <summary>One line for logs and error messages.</summary>
    public string Describe() => string.Join(", ", Summary().Select(kv => $"{kv.Key}={kv.Value:G4}"));

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var h in All)
        {
            h.Dispose();
        }
    }
}
