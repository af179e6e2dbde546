namespace OnePass.Export;

/// <summary>Descriptive fields of an ONNX model as read back from a file.</summary>
/// <param name="DocString">The model's doc_string (empty when absent).</param>
/// <param name="Metadata">The model's metadata_props as a dictionary.</param>
/// <param name="ProducerName">The producer_name field.</param>
/// <param name="ProducerVersion">The producer_version field.</param>
/// <param name="IrVersion">The ir_version field.</param>
/// <param name="OpsetVersion">Version of the default ("") operator set, or 0 if not imported.</param>
public sealed record OnnxModelMetadata(
    string DocString,
    IReadOnlyDictionary<string, string> Metadata,
    string ProducerName,
    string ProducerVersion,
    long IrVersion,
    long OpsetVersion);
