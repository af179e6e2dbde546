using System.Reflection;
using OnePass.Export.Onnx;

namespace OnePass.Export;

/// <summary>Wraps a built graph into a complete ONNX <see cref="ModelProto"/>.</summary>
public static class OnnxModelFactory
{
    /// <summary>ONNX IR version written into models (IR 8 pairs with opset 17).</summary>
    public const long IrVersion = 8;

    /// <summary>Version of the default ONNX operator set the models import.</summary>
    public const long OpsetVersion = 17;

    /// <summary>The producer_name written into models.</summary>
    public const string ProducerName = "OnePass";

    /// <summary>The producer_version written into models: this assembly's informational version.</summary>
    public static string ProducerVersion { get; } = ReadProducerVersion();

    /// <summary>
    /// Creates a model at IR version <see cref="IrVersion"/> importing the default domain at
    /// <see cref="OpsetVersion"/>, with the given doc string and metadata_props.
    /// </summary>
    public static ModelProto CreateModel(OnnxGraphBuilder graph, string? docString = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = ProducerVersion,
            Graph = graph.ToGraphProto(),
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = OpsetVersion });
        if (!string.IsNullOrEmpty(docString))
        {
            model.DocString = docString;
        }

        if (metadata is not null)
        {
            foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                ArgumentException.ThrowIfNullOrEmpty(key, nameof(metadata));
                model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value ?? string.Empty });
            }
        }

        return model;
    }

    private static string ReadProducerVersion()
    {
        var assembly = typeof(OnnxModelFactory).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (!string.IsNullOrEmpty(informational))
        {
            // Drop a "+commit" source-revision suffix.
            var plus = informational.IndexOf('+');
            return plus < 0 ? informational : informational[..plus];
        }

        return assembly.GetName().Version?.ToString() ?? "0.0.0";
    }
}
