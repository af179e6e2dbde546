namespace OnePass.Training.Models;

/// <summary>How a weight tensor is initialised (PyTorch's defaults per layer kind).</summary>
public abstract record ParameterInit
{
    /// <summary>Draws one value.</summary>
    public abstract float Draw(Random random);

    /// <summary>Uniform in [−Bound, Bound] (PyTorch's Linear default: 1/√fan_in for weight and bias).</summary>
    public sealed record Uniform(float Bound) : ParameterInit
    {
        /// <inheritdoc />
        public override float Draw(Random random) => (float)(((random.NextDouble() * 2) - 1) * Bound);
    }

    /// <summary>Normal with mean 0 and standard deviation Std (Kaiming-normal, fan-out mode, for convolutions: √(2/fan_out)).</summary>
    public sealed record Normal(float Std) : ParameterInit
    {
        /// <inheritdoc />
        public override float Draw(Random random) =>
            (float)(Std * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
    }

    /// <summary>Every element the same (batch-norm scale 1, shift 0).</summary>
    public sealed record Constant(float Value) : ParameterInit
    {
        /// <inheritdoc />
        public override float Draw(Random random) => Value;
    }
}
