namespace OnePass.Training.Graphs;

/// <summary>
/// The sink ops write their ONNX mapping into (implemented by the exporter), so that each op's ONNX form
/// lives next to its differentiation rules.
/// </summary>
public interface IOnnxEmitter
{
    /// <summary>
    /// The state of the node being written (e.g. batch-norm running mean then variance), empty for a stateless op.
    /// </summary>
    ReadOnlyMemory<float> State { get; }

    /// <summary>
    /// Adds a node of the default ONNX domain; returns its (single) output's name. Attribute values may be
    /// int, long, float, string, int[], long[] or float[].
    /// </summary>
    string AddNode(string opType, IReadOnlyList<string> inputs, params (string Name, object Value)[] attributes);

    /// <summary>
    /// Adds a node of the default ONNX domain with <paramref name="outputs"/> outputs; returns their names in order.
    /// An emitter that cannot write such nodes throws <see cref="NotSupportedException"/>.
    /// </summary>
    IReadOnlyList<string> AddNodeWithOutputs(string opType, IReadOnlyList<string> inputs, int outputs, params (string Name, object Value)[] attributes) =>
        throw new NotSupportedException($"this ONNX emitter writes single-output nodes only ({opType} with {outputs} outputs)");

    /// <summary>
    /// The graph values that hold the initial carried state of the node being written (for an LSTM that carries its
    /// state: its initial hidden and cell states, each [1, N, H]); empty when the export starts every carried state
    /// from zeros.
    /// </summary>
    IReadOnlyList<string> CarriedStateInputs => [];

    /// <summary>
    /// Records the values that hold the final carried state of the node being written (for the LSTM: the last hidden
    /// and cell states, each [1, N, H]), in the order of <see cref="CarriedStateInputs"/>, so that the exporter can
    /// return them as graph outputs. Ignored by an emitter that does not expose carried state.
    /// </summary>
    void SetCarriedStateOutputs(IReadOnlyList<string> names)
    {
    }

    /// <summary>Adds a constant float tensor (row-major) named after <paramref name="name"/>; returns its unique name.</summary>
    string AddInitializer(string name, int[] shape, ReadOnlySpan<float> values);

    /// <summary>Adds a constant int64 tensor (e.g. a shape for Reshape); returns its unique name.</summary>
    string AddInt64Initializer(string name, long[] values);
}
