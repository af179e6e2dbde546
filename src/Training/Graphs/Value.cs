using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs;

/// <summary>
/// A tensor-valued slot in the graph. Shapes may use <see cref="Value.Batch"/> for the batch dimension,
/// resolved when a batch is bound.
/// </summary>
public sealed class Value
{
    /// <summary>Placeholder for the batch dimension in shapes.</summary>
    public const int Batch = -1;

    internal Value(int id, string name, ValueKind kind, int[] shape, ElementType elementType = ElementType.Float32)
    {
        Id = id;
        Name = name;
        Kind = kind;
        Shape = shape;
        ElementType = elementType;
    }

    /// <summary>Index of this value in its graph.</summary>
    public int Id { get; }

    /// <summary>Unique name (parameters keep their user-facing names, e.g. "layer1.weight").</summary>
    public string Name { get; }

    /// <summary>What this value is.</summary>
    public ValueKind Kind { get; }

    /// <summary>
    /// float32 for everything but integer data: an input of token ids or a target of class labels is int32 (held in an
    /// <see cref="IndexBuffer"/>).
    /// </summary>
    public ElementType ElementType { get; }

    /// <summary>True for int32 data (token ids, class labels).</summary>
    public bool IsIndices => ElementType == ElementType.Int32;

    /// <summary>Shape, possibly with <see cref="Batch"/> as the leading dimension.</summary>
    public int[] Shape { get; }

    /// <summary>True when the value changes with the weights (so it carries tangents and adjoints).</summary>
    public bool DependsOnParameters { get; internal set; }

    /// <summary>The node producing this value, or null for inputs, targets and parameters.</summary>
    public Node? Producer { get; internal set; }

    /// <summary>The shape with the batch dimension set to <paramref name="batch"/>.</summary>
    public int[] Resolve(int batch) => Array.ConvertAll(Shape, d => d == Batch ? batch : d);

    /// <summary>Element count for a given batch size.</summary>
    public int ElementCount(int batch)
    {
        int n = 1;
        foreach (int d in Shape)
        {
            n *= d == Batch ? batch : d;
        }

        return n;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name}[{string.Join(",", Array.ConvertAll(Shape, d => d == Batch ? "N" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]";
}
