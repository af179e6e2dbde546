using Xunit.Abstractions;
using OnePass.Export.Onnx;

namespace OnePass.Export.Tests;

public sealed class OnnxModelTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void ModelHasExpectedHeader()
    {
        var model = OnnxModelFactory.CreateModel(TinyModel.Build());
        Assert.Equal(8, model.IrVersion);
        Assert.Equal("OnePass", model.ProducerName);
        Assert.False(string.IsNullOrEmpty(model.ProducerVersion));
        var opset = Assert.Single(model.OpsetImport);
        Assert.Equal(string.Empty, opset.Domain);
        Assert.Equal(17, opset.Version);
        Assert.Equal(3, model.Graph.Node.Count);
        Assert.Equal("N", model.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(3, model.Graph.Input[0].Type.TensorType.Shape.Dim[1].DimValue);
    }

    [Fact]
    public void BuilderGeneratesUniqueNames()
    {
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("x", [null, 2]);
        var a = g.AddNode("Relu", [x]);
        var b = g.AddNode("Relu", [a]);
        var c = g.AddNode("Relu", [b], "relu_0");
        Assert.Equal(3, new[] { a, b, c }.Distinct().Count());
        var outs = g.AddMultiOutputNode("Split", [c], [null, null], OnnxAttribute.Int("axis", 1), OnnxAttribute.Ints("split", 1, 1));
        Assert.Equal(2, outs.Count);
        Assert.NotEqual(outs[0], outs[1]);
        Assert.Throws<ArgumentException>(() => g.AddNode("Relu", ["undefined"]));
        Assert.Throws<ArgumentException>(() => g.AddInitializer("w", [2, 2], new float[3]));
    }

    [Fact]
    public void MetadataRoundTrips()
    {
        var path = dir.File("meta.onnx");
        var meta = new Dictionary<string, string> { ["onepass.hyperparameters"] = "{\"lr\":0.01}", ["onepass.input_width"] = "3", ["ünïcode"] = "värde" };
        TinyModel.Save(path, meta, "A tiny test model");
        var read = OnnxModelReader.LoadMetadata(path);
        Assert.Equal("A tiny test model", read.DocString);
        Assert.Equal(meta.OrderBy(k => k.Key), read.Metadata.OrderBy(k => k.Key));
        Assert.Equal("OnePass", read.ProducerName);
        Assert.Equal(17, read.OpsetVersion);
        Assert.Equal(8, read.IrVersion);
    }

    [Fact]
    public void SaveOverwritesAtomicallyAndLeavesNoTempFiles()
    {
        var path = dir.File("model.onnx");
        TinyModel.Save(path, doc: "first");
        TinyModel.Save(path, doc: "second");
        Assert.Equal("second", OnnxModelReader.LoadMetadata(path).DocString);
        Assert.Equal(["model.onnx"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void RandomBytesGiveModelFileException()
    {
        var path = dir.File("random.onnx");
        var bytes = new byte[4096];
        new Random(1234).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFileException>(() => OnnxModelReader.LoadMetadata(path));
        Assert.Contains("random.onnx", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        var e2 = Assert.Throws<ModelFileException>(() => OnnxInferenceSession.Create(path, ExecutionProviderChoice.Cpu));
        Assert.Contains("random.onnx", e2.Message);
        output.WriteLine(e.Message);
        output.WriteLine(e2.Message);
    }

    [Fact]
    public void TruncatedModelGivesModelFileException()
    {
        var full = OnnxModelWriter.ToBytes(OnnxModelFactory.CreateModel(TinyModel.Build(), "doc", new Dictionary<string, string> { ["k"] = "v" }));
        var path = dir.File("truncated.onnx");
        File.WriteAllBytes(path, full[..(full.Length / 2)]);
        var e = Assert.Throws<ModelFileException>(() => OnnxModelReader.LoadMetadata(path));
        Assert.Contains("truncated.onnx", e.Message);
        var e2 = Assert.Throws<ModelFileException>(() => OnnxInferenceSession.Create(path, ExecutionProviderChoice.Cpu));
        Assert.Contains("truncated.onnx", e2.Message);
        Assert.DoesNotContain('\n', e2.Message);
        output.WriteLine(e.Message);
        output.WriteLine(e2.Message);
    }

    [Fact]
    public void MissingModelGivesModelFileException()
    {
        var e = Assert.Throws<ModelFileException>(() => OnnxInferenceSession.Create(dir.File("absent.onnx"), ExecutionProviderChoice.Cpu));
        Assert.Contains("absent.onnx", e.Message);
    }

    [Fact]
    public void AttributesHaveCorrectTypes()
    {
        Assert.Equal(AttributeProto.Types.AttributeType.Int, OnnxAttribute.Int("a", 0).ToProto().Type);
        Assert.True(OnnxAttribute.Int("a", 0).ToProto().HasI);
        Assert.Equal(AttributeProto.Types.AttributeType.Floats, OnnxAttribute.Floats("a", 1f).ToProto().Type);
        Assert.Equal("mode", OnnxAttribute.String("mode", "constant").Name);
    }
}
