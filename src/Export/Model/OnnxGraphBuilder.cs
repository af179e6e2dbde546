using System.Runtime.InteropServices;
using Google.Protobuf;
using OnePass.Export.Onnx;

namespace OnePass.Export;

/// <summary>
/// Incrementally builds an ONNX graph of float tensors: inputs, outputs, initializers and nodes.
/// Value names are kept unique; when a requested name is already taken a numeric suffix is added
/// and the actual name is returned. Nodes must be added in topological order.
/// </summary>
public sealed class OnnxGraphBuilder
{
    /// <summary>Symbolic name used for a dimension passed as <c>null</c> (the batch size).</summary>
    public const string BatchDimension = "N";

    private readonly GraphProto graph;
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> opCounters = new(StringComparer.Ordinal);

    /// <summary>Creates an empty graph with the given name.</summary>
    public OnnxGraphBuilder(string graphName = "onepass")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(graphName);
        graph = new GraphProto { Name = graphName };
    }

    /// <summary>Names of the graph inputs, in order.</summary>
    public IReadOnlyList<string> InputNames => graph.Input.Select(i => i.Name).ToArray();

    /// <summary>Names of the graph outputs, in order.</summary>
    public IReadOnlyList<string> OutputNames => graph.Output.Select(o => o.Name).ToArray();

    /// <summary>Number of nodes added so far.</summary>
    public int NodeCount => graph.Node.Count;

    /// <summary>
    /// Declares a float graph input. A <c>null</c> entry in <paramref name="shape"/> is the symbolic
    /// batch dimension <see cref="BatchDimension"/>. Returns the (unique) value name.
    /// </summary>
    public string AddInput(string name, int?[] shape, string? docString = null)
    {
        var unique = Reserve(name);
        graph.Input.Add(MakeValueInfo(unique, shape, docString));
        return unique;
    }

    /// <summary>
    /// Declares a graph input of element type <paramref name="type"/> whose dimensions are each an <see cref="int"/>
    /// (fixed) or a <see cref="string"/> (a symbolic dimension of that name, e.g. "T"). Returns the (unique) value name.
    /// </summary>
    public string AddInput(string name, TensorProto.Types.DataType type, IReadOnlyList<object> dims, string? docString = null)
    {
        var unique = Reserve(name);
        graph.Input.Add(MakeValueInfo(unique, type, dims, docString));
        return unique;
    }

    /// <summary>
    /// Gives the float graph input <paramref name="inputName"/> a default value: an initializer of the same name,
    /// which ONNX Runtime uses when the caller does not feed the input (an overridable initializer, IR version 4+).
    /// </summary>
    public void AddInputDefault(string inputName, int[] shape, ReadOnlySpan<float> data)
    {
        if (!graph.Input.Any(i => i.Name == inputName))
        {
            throw new ArgumentException($"Cannot give a default to '{inputName}': it is not a graph input.", nameof(inputName));
        }

        if (graph.Initializer.Any(i => i.Name == inputName))
        {
            throw new ArgumentException($"Input '{inputName}' already has a default.", nameof(inputName));
        }

        graph.Initializer.Add(FloatTensor(inputName, shape, data));
    }

    /// <summary>
    /// Declares an existing value as a float graph output whose dimensions are each an <see cref="int"/> (fixed) or a
    /// <see cref="string"/> (symbolic).
    /// </summary>
    public void AddOutput(string name, IReadOnlyList<object> dims, string? docString = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!names.Contains(name))
        {
            throw new ArgumentException($"Cannot declare output '{name}': no value with that name exists in the graph.", nameof(name));
        }

        if (graph.Output.Any(o => o.Name == name))
        {
            throw new ArgumentException($"Value '{name}' is already a graph output.", nameof(name));
        }

        graph.Output.Add(MakeValueInfo(name, TensorProto.Types.DataType.Float, dims, docString));
    }

    /// <summary>
    /// Declares an existing value (produced by a node or an input) as a float graph output with
    /// the given shape (<c>null</c> = symbolic batch dimension).
    /// </summary>
    public void AddOutput(string name, int?[] shape, string? docString = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!names.Contains(name))
        {
            throw new ArgumentException($"Cannot declare output '{name}': no value with that name exists in the graph.", nameof(name));
        }

        if (graph.Output.Any(o => o.Name == name))
        {
            throw new ArgumentException($"Value '{name}' is already a graph output.", nameof(name));
        }

        graph.Output.Add(MakeValueInfo(name, shape, docString));
    }

    /// <summary>
    /// Adds a constant float tensor (weights) with the given shape; <paramref name="data"/> is
    /// row-major and must hold exactly the product of the dimensions. Returns the unique value name.
    /// </summary>
    public string AddInitializer(string name, int[] shape, ReadOnlySpan<float> data)
    {
        var tensor = FloatTensor(name, shape, data);
        tensor.Name = Reserve(name);
        graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    private static TensorProto FloatTensor(string name, int[] shape, ReadOnlySpan<float> data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Initializer '{name}' has a negative dimension.", nameof(shape));
            }

            count *= d;
        }

        if (count != data.Length)
        {
            throw new ArgumentException(
                $"Initializer '{name}' has shape [{string.Join(",", shape)}] ({count} values) but {data.Length} values were given.",
                nameof(data));
        }

        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        foreach (var d in shape)
        {
            tensor.Dims.Add(d);
        }

        // raw_data: fixed-width little-endian IEEE 754, as the format requires.
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Writing ONNX initializers requires a little-endian platform.");
        }

        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data));
        return tensor;
    }

    /// <summary>Adds a constant 1-D int64 tensor (e.g. a target shape for Reshape); returns the unique value name.</summary>
    public string AddInt64Initializer(string name, long[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var unique = Reserve(name);
        var tensor = new TensorProto { Name = unique, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        graph.Initializer.Add(tensor);
        return unique;
    }

    /// <summary>
    /// Adds a node with a single output. When <paramref name="outputName"/> is null a name is
    /// generated from the operator type. Returns the output value name.
    /// </summary>
    public string AddNode(string opType, IReadOnlyList<string> inputs, string? outputName = null, params OnnxAttribute[] attributes)
        => AddMultiOutputNode(opType, inputs, [outputName], attributes)[0];

    /// <summary>
    /// Adds a node with several outputs; a null entry in <paramref name="outputNames"/> gets a
    /// generated name. Returns the output value names in order.
    /// </summary>
    public IReadOnlyList<string> AddMultiOutputNode(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string?> outputNames, params OnnxAttribute[] attributes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputNames);
        ArgumentNullException.ThrowIfNull(attributes);
        if (outputNames.Count == 0)
        {
            throw new ArgumentException("A node needs at least one output.", nameof(outputNames));
        }

        foreach (var input in inputs)
        {
            // "" denotes an omitted optional input in ONNX.
            if (input.Length > 0 && !names.Contains(input))
            {
                throw new ArgumentException($"Node {opType}: input '{input}' is not defined yet (nodes must be added in topological order).", nameof(inputs));
            }
        }

        var seenAttributes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in attributes)
        {
            if (!seenAttributes.Add(a.Name))
            {
                throw new ArgumentException($"Node {opType}: attribute '{a.Name}' given twice.", nameof(attributes));
            }
        }

        var index = opCounters.TryGetValue(opType, out var n) ? n : 0;
        opCounters[opType] = index + 1;
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{index}" };
        node.Input.Add(inputs);
        var outputs = new string[outputNames.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            var requested = outputNames[i] ?? (outputs.Length == 1 ? $"{opType.ToLowerInvariant()}_{index}" : $"{opType.ToLowerInvariant()}_{index}_{i}");
            outputs[i] = Reserve(requested);
        }

        node.Output.Add(outputs);
        foreach (var a in attributes)
        {
            node.Attribute.Add(a.ToProto());
        }

        graph.Node.Add(node);
        return outputs;
    }

    /// <summary>Returns a deep copy of the graph built so far.</summary>
    public GraphProto ToGraphProto()
    {
        if (graph.Output.Count == 0)
        {
            throw new InvalidOperationException("The graph has no outputs; call AddOutput before building the model.");
        }

        return graph.Clone();
    }

    private string Reserve(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var candidate = name;
        for (var k = 1; !names.Add(candidate); k++)
        {
            candidate = $"{name}_{k}";
        }

        return candidate;
    }

    private static ValueInfoProto MakeValueInfo(string name, int?[] shape, string? docString)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return MakeValueInfo(name, TensorProto.Types.DataType.Float, shape.Select(d => d is { } size ? (object)size : BatchDimension).ToArray(), docString);
    }

    private static ValueInfoProto MakeValueInfo(string name, TensorProto.Types.DataType type, IReadOnlyList<object> dims, string? docString)
    {
        ArgumentNullException.ThrowIfNull(dims);
        var tensorShape = new TensorShapeProto();
        foreach (var d in dims)
        {
            switch (d)
            {
                case int size when size >= 0:
                    tensorShape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = size });
                    break;
                case string symbol when symbol.Length > 0:
                    tensorShape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = symbol });
                    break;
                default:
                    throw new ArgumentException($"Value '{name}' has a dimension '{d}' that is neither a non-negative size nor a symbolic name.", nameof(dims));
            }
        }

        var info = new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = tensorShape },
            },
        };
        if (docString is not null)
        {
            info.DocString = docString;
        }

        return info;
    }
}
