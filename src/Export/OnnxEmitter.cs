using OnePass.Export.Onnx;
using OnePass.Training.Graphs;

namespace OnePass.Export;

/// <summary>Adapts <see cref="OnnxGraphBuilder"/> to the <see cref="IOnnxEmitter"/> that ops write their mapping into.</summary>
internal sealed class OnnxEmitter(OnnxGraphBuilder builder) : IOnnxEmitter
{
    public ReadOnlyMemory<float> State { get; set; } = ReadOnlyMemory<float>.Empty;

    public string AddNode(string opType, IReadOnlyList<string> inputs, params (string Name, object Value)[] attributes) =>
        builder.AddNode(opType, inputs, null, attributes.Select(Convert).ToArray());

    public IReadOnlyList<string> AddNodeWithOutputs(string opType, IReadOnlyList<string> inputs, int outputs, params (string Name, object Value)[] attributes) =>
        builder.AddMultiOutputNode(opType, inputs, new string?[outputs], attributes.Select(Convert).ToArray());

    /// <summary>Initial carried state of the node being written (set by the exporter per node; empty: start from zeros).</summary>
    public IReadOnlyList<string> CarriedStateInputs { get; set; } = [];

    /// <summary>Final carried state reported by the node last written (empty until an op reports it).</summary>
    public IReadOnlyList<string> CarriedStateOutputs { get; set; } = [];

    public void SetCarriedStateOutputs(IReadOnlyList<string> names) => CarriedStateOutputs = names.ToArray();

    public string AddInitializer(string name, int[] shape, ReadOnlySpan<float> values) => builder.AddInitializer(name, shape, values);

    public string AddInt64Initializer(string name, long[] values) => builder.AddInt64Initializer(name, values);

    private static OnnxAttribute Convert((string Name, object Value) a) => a.Value switch
    {
        int i => OnnxAttribute.Int(a.Name, i),
        long l => OnnxAttribute.Int(a.Name, l),
        float f => OnnxAttribute.Float(a.Name, f),
        string s => OnnxAttribute.String(a.Name, s),
        float[] fs => OnnxAttribute.Floats(a.Name, fs),
        long[] ls => OnnxAttribute.Ints(a.Name, ls),
        int[] iss => OnnxAttribute.Ints(a.Name, iss.Select(x => (long)x).ToArray()),
        _ => throw new NotSupportedException($"ONNX attribute '{a.Name}' of type {a.Value.GetType().Name} is not supported"),
    };
}
