namespace OnePass.Training.Tensors;

/// <summary>Elementwise activation functions known to every backend.</summary>
public enum Activation
{
    /// <summary>max(x, 0).</summary>
    Relu,

    /// <summary>Hyperbolic tangent.</summary>
    Tanh,

    /// <summary>Logistic function 1 / (1 + e^-x).</summary>
    Sigmoid,
}
