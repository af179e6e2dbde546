namespace OnePass.Training.Graphs;

/// <summary>
/// The sink ops write their ONNX mapping into (implemented by the exporter), so that each op's ONNX form
/// lives next to its differentiation rules.
/// </summary>
public interface IOnnxEmitter
{
    /// <summary>
    /// Adds a node of the default ONNX domain; returns its (single) output's name. Attribute values may be
    /// int, long, float, string, int[], long[] or float[].
    /// </summary>
    string AddNode(string opType, IReadOnlyList<string> inputs, params (string Name, object Value)[] attributes);
}
