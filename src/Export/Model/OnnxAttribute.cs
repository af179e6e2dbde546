using Google.Protobuf;
using OnePass.Export.Onnx;

namespace OnePass.Export;

/// <summary>
/// A named operator attribute (float, int, string, or lists of floats/ints) attached to a node
/// built with <see cref="OnnxGraphBuilder"/>.
/// </summary>
public sealed class OnnxAttribute
{
    private readonly AttributeProto proto;

    private OnnxAttribute(AttributeProto proto) => this.proto = proto;

    /// <summary>The attribute name, e.g. <c>transB</c>.</summary>
    public string Name => proto.Name;

    /// <summary>Creates a FLOAT attribute.</summary>
    public static OnnxAttribute Float(string name, float value) =>
        new(new AttributeProto { Name = CheckName(name), Type = AttributeProto.Types.AttributeType.Float, F = value });

    /// <summary>Creates an INT attribute.</summary>
    public static OnnxAttribute Int(string name, long value) =>
        new(new AttributeProto { Name = CheckName(name), Type = AttributeProto.Types.AttributeType.Int, I = value });

    /// <summary>Creates a STRING attribute (UTF-8 encoded).</summary>
    public static OnnxAttribute String(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(new AttributeProto
        {
            Name = CheckName(name),
            Type = AttributeProto.Types.AttributeType.String,
            S = ByteString.CopyFromUtf8(value),
        });
    }

    /// <summary>Creates a FLOATS (list of floats) attribute.</summary>
    public static OnnxAttribute Floats(string name, params float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var p = new AttributeProto { Name = CheckName(name), Type = AttributeProto.Types.AttributeType.Floats };
        p.Floats.Add(values);
        return new(p);
    }

    /// <summary>Creates an INTS (list of 64-bit integers) attribute.</summary>
    public static OnnxAttribute Ints(string name, params long[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var p = new AttributeProto { Name = CheckName(name), Type = AttributeProto.Types.AttributeType.Ints };
        p.Ints.Add(values);
        return new(p);
    }

    /// <summary>Creates a STRINGS (list of UTF-8 strings) attribute.</summary>
    public static OnnxAttribute Strings(string name, params string[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var p = new AttributeProto { Name = CheckName(name), Type = AttributeProto.Types.AttributeType.Strings };
        foreach (var v in values)
        {
            p.Strings.Add(ByteString.CopyFromUtf8(v));
        }

        return new(p);
    }

    internal AttributeProto ToProto() => proto.Clone();

    private static string CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return name;
    }
}
