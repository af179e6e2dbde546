namespace OnePass.Training.Tensors;

/// <summary>
/// The recurrent family's fused kernels (embedding lookups and the LSTM cell's elementwise step with its
/// derivatives and R-operator), behind one small interface per backend. Ops in <c>Graphs/Ops/Recurrent</c> call
/// only these and the general primitives of <see cref="IBackend"/> (the matrix products stay GEMMs).
/// </summary>
/// <remarks>
/// <para>
/// Token ids are int32 in an <see cref="IndexBuffer"/>. An id outside [0, vocabulary) is an error: the CPU family
/// throws at once; the CUDA family records it on the device (the gather writes NaN, the scatter-add skips it) and
/// the backend throws at its next synchronising call.
/// </para>
/// <para>
/// LSTM layout (PyTorch's): one time step of <c>batch</c> rows; a gate buffer is [batch, 4·hidden] holding the
/// blocks i, f, g, o in that order; every state buffer is [batch, hidden]. The cell step is
/// c = f⊙c₋ + i⊙g, h = o⊙tanh(c) with i, f, o = σ(aᵢ, a_f, a_o) and g = tanh(a_g), a the gates' pre-activations.
/// Null tangents and null adjoint carries are zero. The derivation of the backward and R-operator kernels is
/// written out in <c>LstmOp</c>'s remarks.
/// </para>
/// </remarks>
public interface IRecurrentKernels
{
    /// <summary>
    /// output[k, :] = weight[ids[k], :] for every id k (output [ids.Length, dimension], weight [vocabulary, dimension]);
    /// an id outside [0, vocabulary) is an error.
    /// </summary>
    void EmbeddingGather(IndexBuffer ids, DeviceBuffer weight, int vocabulary, int dimension, DeviceBuffer output);

    /// <summary>
    /// Accumulates weightGradient[ids[k], :] += gradient[k, :] (repeated ids accumulate); an id outside [0, vocabulary)
    /// is an error.
    /// </summary>
    void EmbeddingScatterAdd(IndexBuffer ids, DeviceBuffer gradient, int vocabulary, int dimension, DeviceBuffer weightGradient);

    /// <summary>
    /// One LSTM cell step. <paramref name="gates"/> holds the pre-activations on entry and the activations
    /// (i, f, g, o) on return; writes c = f⊙<paramref name="previousCell"/> + i⊙g, tanh(c) and h = o⊙tanh(c).
    /// <paramref name="previousCell"/> null means zero.
    /// </summary>
    void LstmCellForward(DeviceBuffer gates, DeviceBuffer? previousCell, int batch, int hidden, DeviceBuffer cell, DeviceBuffer tanhCell, DeviceBuffer output);

    /// <summary>
    /// Tangent of one cell step. <paramref name="gateTangents"/> holds the pre-activation tangents ȧ on entry and the
    /// activation tangents (i̇, ḟ, ġ, ȯ) on return; writes ċ = ḟ⊙c₋ + f⊙ċ₋ + i̇⊙g + i⊙ġ and
    /// ḣ = ȯ⊙tanh(c) + o⊙(1 − tanh²c)⊙ċ.
    /// </summary>
    void LstmCellForwardTangent(DeviceBuffer gates, DeviceBuffer? previousCell, DeviceBuffer tanhCell, DeviceBuffer? previousCellTangent,
        int batch, int hidden, DeviceBuffer gateTangents, DeviceBuffer cellTangent, DeviceBuffer outputTangent);

    /// <summary>
    /// Adjoint of one cell step: h̄ = <paramref name="outputGradient"/> + <paramref name="recurrentGradient"/> (written to
    /// <paramref name="hiddenGradient"/>), c̄ = h̄⊙o⊙(1 − tanh²c) + <paramref name="cellCarry"/> (written to
    /// <paramref name="cellGradient"/>), the pre-activation adjoints into <paramref name="gateGradients"/> (overwritten),
    /// and <paramref name="cellCarry"/> = c̄⊙f for the previous step (overwritten; read first as the carry from the next step).
    /// </summary>
    void LstmCellBackward(DeviceBuffer gates, DeviceBuffer? previousCell, DeviceBuffer tanhCell, DeviceBuffer outputGradient,
        DeviceBuffer? recurrentGradient, int batch, int hidden, DeviceBuffer cellCarry, DeviceBuffer hiddenGradient, DeviceBuffer cellGradient,
        DeviceBuffer gateGradients);

    /// <summary>
    /// R-operator of <see cref="LstmCellBackward"/>: from the forward values, the forward tangents (activation tangents,
    /// ċ₋, ċ), the step's adjoints (h̄, c̄) and the tangents of its incoming adjoints (R{ȳ}, R{h̄ carry},
    /// R{c̄ carry} in <paramref name="cellCarryTangent"/>), writes R{ā} into <paramref name="gateGradientTangents"/> and
    /// R{c̄}⊙f + c̄⊙ḟ into <paramref name="cellCarryTangent"/> for the previous step.
    /// </summary>
    void LstmCellBackwardTangent(DeviceBuffer gates, DeviceBuffer? previousCell, DeviceBuffer tanhCell, DeviceBuffer gateTangents,
        DeviceBuffer? previousCellTangent, DeviceBuffer cellTangent, DeviceBuffer hiddenGradient, DeviceBuffer cellGradient,
        DeviceBuffer? outputGradientTangent, DeviceBuffer? recurrentGradientTangent, int batch, int hidden, DeviceBuffer cellCarryTangent,
        DeviceBuffer gateGradientTangents);
}
