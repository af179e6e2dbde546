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

    /// <summary>Adds a constant float tensor (row-major) named after <paramref name="name"/>; returns its unique name.</summary>
    string AddInitializer(string name, int[] shape, ReadOnlySpan<float> values);

    /// <summary>Adds a constant int64 tensor (e.g. a shape for Reshape); returns its unique name.</summary>
    string AddInt64Initializer(string name, long[] values);
}
