namespace OnePass.Training.Tensors;

/// <summary>The element type of a graph value's buffer.</summary>
public enum ElementType
{
    /// <summary>float32 values in a <see cref="DeviceBuffer"/>: features, activations, regression targets.</summary>
    Float32,

    /// <summary>int32 indices in an <see cref="IndexBuffer"/>: token ids and class labels.</summary>
    Int32,
}
