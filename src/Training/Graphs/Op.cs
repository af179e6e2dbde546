namespace OnePass.Training.Graphs;

/// <summary>
/// An operation with its four differentiation rules: Forward (values), Backward (vector-Jacobian product),
/// ForwardTangent (Jacobian-vector product: the R-operator on the forward pass) and BackwardTangent (the
/// R-operator on the backward pass). Together they give exact Hessian-vector products by forward-over-reverse
/// without a dense Hessian. An op also says how it is written as ONNX nodes.
/// </summary>
public abstract class Op
{
    /// <summary>Operation name, e.g. "Linear".</summary>
    public abstract string Type { get; }

    /// <summary>Output shape from input shapes (either may hold <see cref="Value.Batch"/>); throws on a mismatch.</summary>
    public abstract int[] InferShape(IReadOnlyList<int[]> inputShapes);

    /// <summary>
    /// True when input <paramref name="input"/> is int32 ids (an <see cref="OnePass.Training.Tensors.IndexBuffer"/>,
    /// read through <see cref="Tensor.Indices"/>) rather than float32 values: an embedding's token ids, a
    /// cross-entropy's labels. Such an input never carries a tangent or an adjoint.
    /// </summary>
    public virtual bool IsIndexInput(int input) => false;

    /// <summary>Elements of scratch memory Forward needs for the given resolved input shapes (0 for none).</summary>
    public virtual int WorkspaceSize(IReadOnlyList<int[]> inputShapes) => 0;

    /// <summary>
    /// Elements of temporary memory a rule needs during one call only (shared between nodes), for the given
    /// resolved input shapes (0 for none).
    /// </summary>
    public virtual int ScratchSize(IReadOnlyList<int[]> inputShapes) => 0;

    /// <summary>
    /// Elements of non-parameter state this op keeps across steps (e.g. running mean and variance), for the
    /// given input shapes (the batch dimension may be <see cref="Value.Batch"/>; state never depends on it).
    /// </summary>
    public virtual int StateSize(IReadOnlyList<int[]> inputShapes) => 0;

    /// <summary>
    /// True when the op's state is carried recurrent state (an LSTM's hidden and cell states from one batch to the
    /// next), which <see cref="OpContext.AdvanceCarriedState"/> moves and <c>Model.ResetCarriedState</c> restarts;
    /// false for statistics such as batch norm's.
    /// </summary>
    public virtual bool CarriesState => false;

    /// <summary>Writes the state's initial values (called once per model instance when it has state).</summary>
    public virtual void InitialiseState(Span<float> state)
    {
    }

    /// <summary>Computes the output from the inputs.</summary>
    public abstract void Forward(OpContext context);

    /// <summary>Computes the output tangent from the input tangents (after Forward).</summary>
    public abstract void ForwardTangent(OpContext context);

    /// <summary>Accumulates the inputs' adjoints from the output's adjoint (after Forward).</summary>
    public abstract void Backward(OpContext context);

    /// <summary>
    /// Accumulates the inputs' adjoint tangents: the derivative of <see cref="Backward"/> along the tangent
    /// direction, using the output's adjoint and adjoint tangent and the inputs' tangents.
    /// </summary>
    public abstract void BackwardTangent(OpContext context);

    /// <summary>
    /// The forward computation in double precision with plain loops, written independently of the four rules:
    /// the oracle that <see cref="OnePass.Training.Checking.DerivativeCheck"/> differentiates by central
    /// differences to check the rules (as PyTorch's gradcheck does). Shapes are resolved.
    /// </summary>
    public abstract double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes);

    /// <summary>
    /// <see cref="ReferenceForward(IReadOnlyList{double[]}, IReadOnlyList{int[]})"/> for ops whose value depends
    /// on the mode or on their state (given in double precision; null for stateless ops). Never updates the state.
    /// </summary>
    public virtual double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes, ExecutionMode mode, double[]? state) =>
        ReferenceForward(inputs, shapes);

    /// <summary>
    /// Writes this op as ONNX nodes for inference, returning the name of the value standing for its output.
    /// Ops with no inference meaning (losses) or no mapping throw <see cref="NotSupportedException"/>.
    /// </summary>
    public virtual string ToOnnx(IOnnxEmitter emitter, IReadOnlyList<string> inputs) =>
        throw new NotSupportedException($"op '{Type}' has no ONNX mapping");

    /// <summary>Throws a shape error naming this op.</summary>
    protected Exception ShapeError(string message) => new ArgumentException($"{Type}: {message}");
}
