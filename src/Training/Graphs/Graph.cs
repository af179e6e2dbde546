using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs;

/// <summary>
/// A static graph of ops over named values, built in topological order (each node's inputs exist before it).
/// Values may be used by any number of nodes; adjoints of a value used twice accumulate.
/// </summary>
public sealed class Graph
{
    private readonly List<Value> _values = [];
    private readonly List<Node> _nodes = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>All values, in creation order.</summary>
    public IReadOnlyList<Value> Values => _values;

    /// <summary>All nodes, in topological order.</summary>
    public IReadOnlyList<Node> Nodes => _nodes;

    /// <summary>Adds a per-batch input (features).</summary>
    public Value AddInput(string name, params int[] shape) => AddValue(name, ValueKind.Input, shape);

    /// <summary>Adds a per-batch input of int32 ids (token ids for an embedding).</summary>
    public Value AddIndexInput(string name, params int[] shape) => AddValue(name, ValueKind.Input, shape, ElementType.Int32);

    /// <summary>Adds a per-batch target of regression values.</summary>
    public Value AddTarget(string name, params int[] shape) => AddValue(name, ValueKind.Target, shape);

    /// <summary>Adds a per-batch target of int32 class indices (labels for a cross-entropy).</summary>
    public Value AddIndexTarget(string name, params int[] shape) => AddValue(name, ValueKind.Target, shape, ElementType.Int32);

    /// <summary>Adds a trainable weight tensor.</summary>
    public Value AddParameter(string name, params int[] shape)
    {
        if (Array.Exists(shape, d => d <= 0))
        {
            throw new ArgumentException($"parameter '{name}' needs a positive fixed shape, got [{string.Join(",", shape)}]");
        }

        var value = AddValue(name, ValueKind.Parameter, shape);
        value.DependsOnParameters = true;
        return value;
    }

    /// <summary>Applies <paramref name="op"/> to <paramref name="inputs"/>, returning its output value.</summary>
    public Value Apply(Op op, params Value[] inputs) => Apply(op, null, inputs);

    /// <summary>Applies <paramref name="op"/> to <paramref name="inputs"/>, naming its output.</summary>
    public Value Apply(Op op, string? name, params Value[] inputs)
    {
        foreach (var input in inputs)
        {
            if (input.Id >= _values.Count || !ReferenceEquals(_values[input.Id], input))
            {
                throw new ArgumentException($"{op.Type}: input {input} belongs to another graph");
            }
        }

        for (int i = 0; i < inputs.Length; i++)
        {
            if (op.IsIndexInput(i) != inputs[i].IsIndices)
            {
                throw new ArgumentException(op.IsIndexInput(i)
                    ? $"{op.Type}: input {i} takes int32 ids, but {inputs[i]} holds floats (declare it with AddIndexInput or AddIndexTarget)"
                    : $"{op.Type}: input {i} takes float32 values, but {inputs[i]} holds int32 ids");
            }
        }

        int[] shape = op.InferShape(Array.ConvertAll(inputs, v => v.Shape));
        var output = AddValue(name ?? $"{op.Type.ToLowerInvariant()}{_nodes.Count}", ValueKind.Intermediate, shape);
        output.DependsOnParameters = Array.Exists(inputs, v => v.DependsOnParameters);
        var node = new Node(_nodes.Count, op, inputs, output);
        output.Producer = node;
        _nodes.Add(node);
        return output;
    }

    private Value AddValue(string name, ValueKind kind, int[] shape, ElementType elementType = ElementType.Float32)
    {
        if (!_names.Add(name))
        {
            throw new ArgumentException($"the graph already has a value named '{name}'");
        }

        var value = new Value(_values.Count, name, kind, (int[])shape.Clone(), elementType);
        _values.Add(value);
        return value;
    }
}
