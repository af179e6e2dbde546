using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs;

/// <summary>
/// Puts one batch's host data into an input or target value's buffer: floats as they are, or, for an int32 value
/// (token ids, class labels), ints, converting host floats with <see cref="Indices.FromFloats"/> (which rejects
/// anything but an integer in [0, 2²⁴]) through a reusable host array.
/// </summary>
internal sealed class DataUpload
{
    private int[] _ids = [];

    /// <summary>Uploads float data into the value's buffer (converting to ids for an int32 value).</summary>
    public void Upload(IBackend backend, Value value, ReadOnlySpan<float> data, DeviceBuffer? floats, IndexBuffer? ids)
    {
        if (!value.IsIndices)
        {
            backend.Upload(data, floats!);
            return;
        }

        if (_ids.Length < data.Length)
        {
            _ids = new int[data.Length];
        }

        Span<int> converted = _ids.AsSpan(0, data.Length);
        Indices.FromFloats(data, converted, $"{value.Name} of {ids!.Length} int32 ids");
        backend.Upload(converted, ids);
    }

    /// <summary>Uploads int data into an int32 value's buffer; a float value is an error.</summary>
    public static void Upload(IBackend backend, Value value, ReadOnlySpan<int> data, IndexBuffer? ids)
    {
        if (!value.IsIndices)
        {
            throw new ArgumentException($"{value} holds float32 values; got int32 data");
        }

        backend.Upload(data, ids!);
    }
}
