using OnePass.Export.Onnx;
using OnePass.Training.Checkpoints;

namespace OnePass.Export.Tests;

/// <summary>What an exported model says about itself, and what the exporter refuses.</summary>
public sealed class ExportMetadataTests
{
    private static ModelProto Export(CheckpointHeader header, out float[] weights)
    {
        var model = CheckpointModel.Build(header, "test");
        weights = model.InitialWeights(5);
        return OnnxExporter.Export(model, weights, header);
    }

    [Fact]
    public void EveryMetadataKeyRoundTripsThroughTheFile()
    {
        var header = TestHeaders.Create([5, 4, 3], "cross-entropy", "tanh", new Random(4)) with
        {
            Hyperparameters = new() { ["lr.mean"] = 0.01, ["lr.median"] = 0.009, ["lr.min"] = 1e-4, ["lr.max"] = 0.2, ["momentum"] = 0.9, ["weight_decay"] = (double)1e-5f },
            Metrics = new() { ["test_loss"] = 0.4, ["test_accuracy"] = 0.875 },
        };
        using var dir = new TempDirectory();
        string path = dir.File("m.onnx");
        OnnxModelWriter.Save(Export(header, out _), path);
        var read = OnnxModelReader.LoadMetadata(path);
        var m = read.Metadata;
        Assert.Equal("0.1.0", m["onepass_version"]);
        Assert.Equal("synthetic", m["dataset"]);
        Assert.Equal("ours-wd-lr-m", m["algorithm"]);
        Assert.Equal("classification", m["task"]);
        Assert.Equal("MLP 5-4-3, tanh, cross-entropy", m["model"]);
        Assert.Equal("abc123", m["config_sha256"]);
        Assert.Equal(Checkpoint.FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), m["checkpoint_format"]);
        Assert.Equal("0.01", m["hyperparameter.lr.mean"]);
        Assert.Equal("0.009", m["hyperparameter.lr.median"]);
        Assert.Equal("0.0001", m["hyperparameter.lr.min"]);
        Assert.Equal("0.2", m["hyperparameter.lr.max"]);
        Assert.Equal("0.9", m["hyperparameter.momentum"]);
        Assert.Equal("1E-05", m["hyperparameter.weight_decay"]);
        Assert.Equal("0.875", m["metric.test_accuracy"]);
        Assert.Equal("0.4", m["metric.test_loss"]);
        Assert.Equal("5", m["input_width"]);
        Assert.Equal("3", m["output_width"]);
        Assert.False(m.ContainsKey("target_std"));
        Assert.Equal(OnnxModelFactory.ProducerName, read.ProducerName);
        Assert.Equal(OnnxModelFactory.IrVersion, read.IrVersion);
    }

    [Fact]
    public void TheDocStringIsOneSentenceNamingDataAlgorithmAndInputUnits()
    {
        var header = TestHeaders.Create([784, 50, 10], "cross-entropy", "relu", new Random(1)) with { DataSet = "fashion-mnist" };
        var proto = Export(header, out _);
        Assert.Equal(
            "OnePass MLP 784-50-10, relu, cross-entropy trained on fashion-mnist with ours-wd-lr-m: input raw pixel values 0-255 (784 per image, row-major 28×28), outputs class logits and probabilities.",
            proto.DocString);
        Assert.Equal(["input"], proto.Graph.Input.Select(i => i.Name));
        Assert.Equal(["logits", "probabilities"], proto.Graph.Output.Select(o => o.Name));

        var regression = Export(TestHeaders.Create([3, 2], "mse", "relu", new Random(1)), out _);
        Assert.Contains("3 raw (unnormalised) features", regression.DocString);
        Assert.EndsWith("outputs predictions in the original target units.", regression.DocString);
        Assert.Equal(["prediction"], regression.Graph.Output.Select(o => o.Name));
    }

    [Fact]
    public void RegressionModelsRecordTheirTargetScaling()
    {
        var proto = Export(TestHeaders.Create([3, 4, 2], "mse", "sigmoid", new Random(2)), out _);
        var m = proto.MetadataProps.ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal("17.5", m["target_mean"]);
        Assert.Equal("4.25", m["target_std"]);
        Assert.Equal("regression", m["task"]);
    }

    [Fact]
    public void InitializersAreTheParametersByNameWithTheirShapesAndValues()
    {
        var header = TestHeaders.Create([3, 4, 2], "mse", "relu", new Random(3));
        var proto = Export(header, out float[] weights);
        var model = CheckpointModel.Build(header, "test");
        var initializers = proto.Graph.Initializer.ToDictionary(t => t.Name);
        foreach (var p in model.Parameters)
        {
            var t = initializers[p.Name];
            Assert.Equal(p.Shape.Select(d => (long)d), t.Dims);
            var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
            Assert.Equal(weights.AsSpan(p.Offset, p.Length).ToArray(), values);
        }

        Assert.Equal(header.InputMean, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(initializers["input_mean"].RawData.Span).ToArray());
        Assert.Equal(["Sub", "Div", "Gemm", "Relu", "Gemm", "Mul", "Add"], proto.Graph.Node.Select(n => n.OpType));
    }

    [Fact]
    public void WeightsOrNormalisationThatDoNotFitAreClearErrors()
    {
        var header = TestHeaders.Create([3, 2], "mse", "relu", new Random(1));
        var model = CheckpointModel.Build(header, "test");
        var e1 = Assert.Throws<ArgumentException>(() => OnnxExporter.Export(model, new float[model.ParameterCount + 1], header));
        Assert.Contains($"{model.ParameterCount} weights, {model.ParameterCount + 1} were given", e1.Message);

        var zeroStd = header with { InputStd = [1f, 0f, 1f] };
        var e2 = Assert.Throws<ArgumentException>(() => OnnxExporter.Export(model, new float[model.ParameterCount], zeroStd));
        Assert.Contains("feature 1", e2.Message);

        var narrow = header with { InputMean = [0f, 0f] };
        Assert.Contains("takes 3 features", Assert.Throws<ArgumentException>(() => OnnxExporter.Export(model, new float[model.ParameterCount], narrow)).Message);

        var badTarget = header with { TargetStd = [0f] };
        Assert.Contains("target scaling", Assert.Throws<ArgumentException>(() => OnnxExporter.Export(model, new float[model.ParameterCount], badTarget)).Message);
    }

    [Fact]
    public void ACheckpointWithTheWrongNumberOfWeightsOrAnUnknownActivationIsACheckpointError()
    {
        var header = TestHeaders.Create([3, 2], "mse", "relu", new Random(1));
        var e1 = Assert.Throws<CheckpointException>(() => OnnxExporter.Export(new Checkpoint(header, new float[3]), "run/model.ckpt"));
        Assert.Contains("run/model.ckpt", e1.Message);
        Assert.Contains("holds 3 weights", e1.Message);

        var e2 = Assert.Throws<CheckpointException>(() => CheckpointModel.Build(header with { Activation = "swish" }, "x.ckpt"));
        Assert.Contains("unknown activation 'swish'", e2.Message);
        var e3 = Assert.Throws<CheckpointException>(() => CheckpointModel.Build(header with { Loss = "hinge" }, "x.ckpt"));
        Assert.Contains("unknown loss 'hinge'", e3.Message);
    }

    [Fact]
    public void SavingIsAtomicAndLeavesNoTemporaryFiles()
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.onnx");
        var proto = Export(TestHeaders.Create([3, 2], "mse", "relu", new Random(1)), out _);
        OnnxModelWriter.Save(proto, path);
        OnnxModelWriter.Save(proto, path);
        Assert.Equal(["model.onnx"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));

        string ckpt = dir.File(Checkpoint.FileName);
        new Checkpoint(TestHeaders.Create([3, 2], "mse", "relu", new Random(1)), new float[8]).Save(ckpt);
        new Checkpoint(TestHeaders.Create([3, 2], "mse", "relu", new Random(1)), new float[8]).Save(ckpt);
        Assert.Equal(["model.ckpt", "model.onnx"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order());
    }
}
