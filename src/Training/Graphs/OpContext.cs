using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs;

/// <summary>
/// What one op sees when one of its four rules runs. Tangents and adjoints that are identically zero (values
/// that do not depend on the weights, or adjoints nobody needs) are null. Adjoints and adjoint tangents are
/// accumulated into (a value used twice gets both contributions); outputs and output tangents are overwritten.
/// </summary>
public sealed class OpContext
{
    internal OpContext(IBackend backend, int inputCount)
    {
        Backend = backend;
        Inputs = new Tensor[inputCount];
        InputTangents = new Tensor?[inputCount];
        InputGradients = new Tensor?[inputCount];
        InputGradientTangents = new Tensor?[inputCount];
    }

    /// <summary>The backend every rule calls.</summary>
    public IBackend Backend { get; }

    /// <summary>Forward values of the inputs.</summary>
    public Tensor[] Inputs { get; }

    /// <summary>Forward value of the output.</summary>
    public Tensor Output { get; internal set; }

    /// <summary>Tangents (directional derivatives along the weight direction) of the inputs; null = zero.</summary>
    public Tensor?[] InputTangents { get; }

    /// <summary>Tangent of the output; set when the output depends on the weights.</summary>
    public Tensor? OutputTangent { get; internal set; }

    /// <summary>Adjoint (∂loss/∂output) of the output.</summary>
    public Tensor? OutputGradient { get; internal set; }

    /// <summary>Adjoints of the inputs to accumulate into; null where not needed.</summary>
    public Tensor?[] InputGradients { get; }

    /// <summary>Tangent of the output's adjoint (the R-operator of the backward pass); null = zero.</summary>
    public Tensor? OutputGradientTangent { get; internal set; }

    /// <summary>Adjoint tangents of the inputs to accumulate into; null where not needed.</summary>
    public Tensor?[] InputGradientTangents { get; }

    /// <summary>Scratch kept from Forward to the other rules (e.g. softmax probabilities), or null.</summary>
    public DeviceBuffer? Workspace { get; internal set; }
}
