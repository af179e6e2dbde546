using Google.Protobuf;
using OnePass.Export.Onnx;

namespace OnePass.Export;

/// <summary>Reads ONNX model files written by <see cref="OnnxModelWriter"/> (or any ONNX producer).</summary>
public static class OnnxModelReader
{
    /// <summary>
    /// Parses and sanity-checks the model at <paramref name="path"/>.
    /// Throws <see cref="ModelFileException"/> if the file is missing, corrupt or truncated.
    /// </summary>
    public static ModelProto Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException e)
        {
            throw new ModelFileException(path, "model file not found", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new ModelFileException(path, "model file not found", e);
        }

        return Parse(bytes, path);
    }

    /// <summary>Reads the doc string, metadata_props and producer fields of the model at <paramref name="path"/>.</summary>
    public static OnnxModelMetadata LoadMetadata(string path)
    {
        var model = Load(path);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in model.MetadataProps)
        {
            metadata[entry.Key] = entry.Value;
        }

        var opset = model.OpsetImport.FirstOrDefault(o => string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx")?.Version ?? 0;
        return new OnnxModelMetadata(model.DocString, metadata, model.ProducerName, model.ProducerVersion, model.IrVersion, opset);
    }

    internal static ModelProto Parse(byte[] bytes, string path)
    {
        if (bytes.Length == 0)
        {
            throw new ModelFileException(path, "not an ONNX model (the file is empty)");
        }

        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelFileException(path, $"not a valid ONNX model (corrupt or truncated: {ModelFileException.OneLine(e.Message)})", e);
        }

        if (!model.HasIrVersion || model.IrVersion <= 0)
        {
            throw new ModelFileException(path, "not a valid ONNX model (ir_version is missing)");
        }

        if (model.Graph is null || model.OpsetImport.Count == 0)
        {
            throw new ModelFileException(path, "not a valid ONNX model (graph or opset_import is missing; the file may be truncated)");
        }

        if (model.Graph.Output.Count == 0)
        {
            throw new ModelFileException(path, "not a valid ONNX model (the graph has no outputs; the file may be truncated)");
        }

        return model;
    }
}
