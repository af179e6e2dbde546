namespace OnePass.Training.Tensors;

/// <summary>
/// A hyperparameter value as the update kernels see it: either one scalar for every weight, or one value per
/// weight element held in a buffer of the weights' length.
/// </summary>
public readonly struct HyperValue
{
    private HyperValue(float scalar, DeviceBuffer? perElement)
    {
        Scalar = scalar;
        PerElement = perElement;
    }

    /// <summary>The scalar value (meaningful when <see cref="PerElement"/> is null).</summary>
    public float Scalar { get; }

    /// <summary>One value per weight element, or null for a scalar.</summary>
    public DeviceBuffer? PerElement { get; }

    /// <summary>True when this value is one scalar.</summary>
    public bool IsScalar => PerElement is null;

    /// <summary>A scalar hyperparameter.</summary>
    public static HyperValue Of(float scalar) => new(scalar, null);

    /// <summary>A per-element hyperparameter.</summary>
    public static HyperValue Of(DeviceBuffer perElement) => new(0f, perElement ?? throw new ArgumentNullException(nameof(perElement)));

    /// <inheritdoc />
    public override string ToString() => IsScalar ? Scalar.ToString("G6", System.Globalization.CultureInfo.InvariantCulture) : $"per-element[{PerElement!.Length}]";
}
