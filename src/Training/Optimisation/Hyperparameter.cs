using OnePass.Training.Tensors;

namespace OnePass.Training.Optimisation;

/// <summary>
/// One hyperparameter, held in its unconstrained space φ (a scalar, or one value per weight) together with its
/// natural value: η, ξ = 10^φ; μ = sigmoid(φ). φ may be clipped to a range. A learning rate may carry a
/// multiplier (a schedule) applied on top of 10^φ.
/// </summary>
public sealed class Hyperparameter : IDisposable
{
    private readonly IBackend _backend;
    private readonly float[] _scalarHost = new float[1];

    /// <summary>Creates a hyperparameter with every element of φ set to <paramref name="initialPhi"/>.</summary>
    public Hyperparameter(IBackend backend, HyperparameterKind kind, float initialPhi, int length, (float Min, float Max)? clip)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        _backend = backend;
        Kind = kind;
        Clip = clip;
        Phi = backend.Allocate(length);
        Value = backend.Allocate(length);
        backend.Fill(Phi, initialPhi);
        Refresh();
    }

    /// <summary>Which hyperparameter this is.</summary>
    public HyperparameterKind Kind { get; }

    /// <summary>Config-style name: lr, weight_decay or momentum.</summary>
    public string Name => Kind switch
    {
        HyperparameterKind.LearningRate => "lr",
        HyperparameterKind.WeightDecay => "weight_decay",
        _ => "momentum",
    };

    /// <summary>True when there is one value per weight.</summary>
    public bool PerWeight => Phi.Length > 1;

    /// <summary>Clip range on φ, or null.</summary>
    public (float Min, float Max)? Clip { get; }

    /// <summary>The unconstrained values φ (length 1 or the number of weights).</summary>
    public DeviceBuffer Phi { get; }

    /// <summary>Natural values (multiplier included), recomputed by <see cref="Refresh"/>.</summary>
    public DeviceBuffer Value { get; }

    /// <summary>Multiplier applied to the natural value (learning-rate schedules); 1 by default.</summary>
    public float Multiplier { get; private set; } = 1f;

    /// <summary>The natural value of a scalar hyperparameter (host copy).</summary>
    public float Scalar => _scalarHost[0];

    /// <summary>The value as the update kernels take it.</summary>
    public HyperValue AsHyperValue() => PerWeight ? HyperValue.Of(Value) : HyperValue.Of(Scalar);

    /// <summary>True when every natural value is finite.</summary>
    public bool IsFinite() => PerWeight ? _backend.AllFinite(Value) : float.IsFinite(Scalar);

    /// <summary>Sets the schedule multiplier and refreshes the natural value.</summary>
    public void SetMultiplier(float multiplier)
    {
        if (!float.IsFinite(multiplier) || multiplier < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(multiplier), multiplier, "a learning-rate multiplier must be finite and non-negative");
        }

        Multiplier = multiplier;
        Refresh();
    }

    /// <summary>Applies the clip to φ and recomputes the natural values (after φ changed).</summary>
    public void Refresh()
    {
        if (Clip is { } c)
        {
            _backend.Clamp(Phi, c.Min, c.Max);
        }

        if (Kind == HyperparameterKind.Momentum)
        {
            _backend.ActivationForward(Activation.Sigmoid, Phi, Value);
        }
        else
        {
            _backend.Exp10(Phi, Value);
        }

        if (Multiplier != 1f)
        {
            _backend.Scale(Multiplier, Value);
        }

        if (!PerWeight)
        {
            _backend.Download(Value, _scalarHost);
        }
    }

    /// <summary>
    /// d(natural value)/dφ written into <paramref name="destination"/> (elementwise): ln10·value for 10^φ,
    /// μ(1 − μ) for the sigmoid.
    /// </summary>
    public void TransformDerivative(DeviceBuffer destination)
    {
        if (Kind == HyperparameterKind.Momentum)
        {
            // μ(1−μ) is the sigmoid's derivative: backward of the sigmoid with an upstream gradient of ones.
            _backend.Fill(destination, 0f);
            using var ones = _backend.Allocate(Value.Length);
            _backend.Fill(ones, 1f);
            _backend.ActivationBackward(Activation.Sigmoid, Phi, Value, ones, destination);
        }
        else
        {
            _backend.Copy(Value, destination);
            _backend.Scale(MathF.Log(10f), destination);
        }
    }

    /// <summary>Natural values on the host (one per element).</summary>
    public float[] DownloadValues()
    {
        var values = new float[Value.Length];
        _backend.Download(Value, values);
        return values;
    }

    /// <summary>Summary in natural space: the value for a scalar; for per-weight values the mean and the quantiles
    /// 0 (min), 0.25, 0.5 (median), 0.75 and 1 (max), each the nearest-rank value of the sorted weights.</summary>
    public IReadOnlyDictionary<string, double> Summary()
    {
        if (!PerWeight)
        {
            return new Dictionary<string, double> { [Name] = Scalar };
        }

        float[] values = DownloadValues();
        Array.Sort(values);
        return new Dictionary<string, double>
        {
            [$"{Name}.mean"] = values.Average(v => (double)v),
            [$"{Name}.min"] = values[0],
            [$"{Name}.q25"] = NearestRank(values, 0.25),
            [$"{Name}.median"] = NearestRank(values, 0.5),
            [$"{Name}.q75"] = NearestRank(values, 0.75),
            [$"{Name}.max"] = values[^1],
        };
    }

    private static float NearestRank(float[] sorted, double q) =>
        sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <inheritdoc />
    public void Dispose()
    {
        Phi.Dispose();
        Value.Dispose();
    }
}
