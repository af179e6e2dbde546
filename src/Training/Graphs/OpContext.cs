using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs;

/// <summary>
/// What one op sees when one of its four rules runs. Tangents and adjoints that are identically zero (values
/// that do not depend on the weights, or adjoints nobody needs) are null. Adjoints and adjoint tangents are
/// accumulated into (a value used twice gets both contributions); outputs and output tangents are overwritten.
/// </summary>
public sealed class OpContext
{
    /// <summary>Creates a context with room for <paramref name="inputCount"/> inputs (executors and op tests fill it).</summary>
    public OpContext(IBackend backend, int inputCount)
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
    public Tensor Output { get; set; }

    /// <summary>Tangents (directional derivatives along the weight direction) of the inputs; null = zero.</summary>
    public Tensor?[] InputTangents { get; }

    /// <summary>Tangent of the output; set when the output depends on the weights.</summary>
    public Tensor? OutputTangent { get; set; }

    /// <summary>Adjoint (∂loss/∂output) of the output.</summary>
    public Tensor? OutputGradient { get; set; }

    /// <summary>Adjoints of the inputs to accumulate into; null where not needed.</summary>
    public Tensor?[] InputGradients { get; }

    /// <summary>Tangent of the output's adjoint (the R-operator of the backward pass); null = zero.</summary>
    public Tensor? OutputGradientTangent { get; set; }

    /// <summary>Adjoint tangents of the inputs to accumulate into; null where not needed.</summary>
    public Tensor?[] InputGradientTangents { get; }

    /// <summary>Scratch kept from Forward to the other rules (e.g. softmax probabilities), or null.</summary>
    public DeviceBuffer? Workspace { get; set; }

    /// <summary>
    /// Temporary memory of at least <see cref="Op.ScratchSize"/> elements, valid only during one rule call and
    /// shared by every node (e.g. an im2col matrix), or null when the op asked for none.
    /// </summary>
    public DeviceBuffer? Scratch { get; set; }

    /// <summary>Training or evaluation behaviour.</summary>
    public ExecutionMode Mode { get; set; }

    /// <summary>
    /// The op's non-parameter state (<see cref="Op.StateSize"/> elements, e.g. batch-norm running statistics),
    /// or null when it has none. Rules read it; only <see cref="Op.Forward"/> with <see cref="UpdateState"/>
    /// may write it.
    /// </summary>
    public DeviceBuffer? State { get; set; }

    /// <summary>
    /// True only for the forward pass of a real training step: ops then update their state (running
    /// statistics). Hypergradient re-forwards, Hessian-vector products and evaluation leave it false.
    /// </summary>
    public bool UpdateState { get; set; }

    /// <summary>
    /// True for a forward pass that moves carried recurrent state along a stream (a real training step in any mode,
    /// or inference asked to carry state from chunk to chunk): an op whose <see cref="Op.CarriesState"/> is true
    /// first commits the previous pass's final states as its start states, then records this pass's final states.
    /// Distinct from <see cref="UpdateState"/>, which moves running statistics in training mode only.
    /// </summary>
    public bool AdvanceCarriedState { get; set; }

    /// <summary>
    /// Seed of the current step's randomness: fixed by the executor for one forward pass and kept for the
    /// backward and tangent passes at the same point, so a random op (e.g. dropout) draws the same mask in all four rules.
    /// </summary>
    public ulong Seed { get; set; }
}
