namespace OnePass.Export;

/// <summary>One message emitted by the ONNX Runtime native logger.</summary>
/// <param name="Severity">Severity: VERBOSE, INFO, WARNING, ERROR or FATAL.</param>
/// <param name="Category">ORT's log category (e.g. "onnxruntime").</param>
/// <param name="LogId">The logger id; for session messages this is <see cref="OnnxInferenceSession.LogId"/>.</param>
/// <param name="CodeLocation">Native source location of the message.</param>
/// <param name="Message">The message text.</param>
public sealed record OrtLogEntry(string Severity, string Category, string LogId, string CodeLocation, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"onnxruntime [{Severity}] {LogId}: {Message}";
}
