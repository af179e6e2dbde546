using System.Buffers.Binary;
using System.IO.Compression;

namespace OnePass.Export.Tests;

/// <summary>Image models ([N, C, H, W] input) served from IDX and CIFAR-10 batch files, against the engine.</summary>
public sealed class ImageInferenceTests : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    internal static byte[] IdxImages(byte[] pixels, int count, int height, int width)
    {
        var bytes = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, InferenceInput.IdxImageMagic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), height);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), width);
        pixels.CopyTo(bytes, 16);
        return bytes;
    }

    internal static byte[] CifarBatch(byte[] labels, byte[] pixels)
    {
        var bytes = new byte[labels.Length * InferenceInput.CifarRecordLength];
        for (int r = 0; r < labels.Length; r++)
        {
            bytes[r * InferenceInput.CifarRecordLength] = labels[r];
            pixels.AsSpan(r * InferenceInput.CifarImageBytes, InferenceInput.CifarImageBytes).CopyTo(bytes.AsSpan((r * InferenceInput.CifarRecordLength) + 1));
        }

        return bytes;
    }

    private static void AssertMatches(float[] engine, float[] logits)
    {
        Assert.Equal(engine.Length, logits.Length);
        for (int i = 0; i < engine.Length; i++)
        {
            Assert.True(Math.Abs(logits[i] - engine[i]) <= TrainedConvModel.Tolerance * Math.Max(1, Math.Abs(engine[i])), $"logit {i}: ONNX {logits[i]} engine {engine[i]}");
        }
    }

    [Fact]
    public void IdxImagesFeedAOneChannelConvModel()
    {
        var random = new Random(21);
        var exported = TrainedConvModel.Export("cnn", [1, 28, 28], baseWidth: 2, random);
        string model = dir.File("cnn-28.onnx");
        OnnxModelWriter.Save(exported.Onnx, model);
        int count = 6;
        byte[] pixels = Enumerable.Range(0, count * 784).Select(_ => (byte)random.Next(256)).ToArray();
        string images = dir.File("images-idx3-ubyte.gz");
        using (var file = File.Create(images))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        {
            gzip.Write(IdxImages(pixels, count, 28, 28));
        }

        var batch = InferenceInput.Read(images);
        Assert.Equal(count, batch.Rows);
        Assert.Equal(784, batch.Width);
        Assert.Equal([28, 28], batch.Shape!);

        using var session = OnnxInferenceSession.Create(model, ExecutionProviderChoice.Cpu);
        Assert.Equal([1, 28, 28], session.InputShape);
        Assert.Equal(784, session.InputWidth);
        AssertMatches(exported.EngineLogits(batch.Data, count), session.Run(batch.Data, count)[OnnxExporter.LogitsName]);
    }

    [Fact]
    public void CifarBatchesFeedAThreeChannelConvModelAndCarryLabels()
    {
        var random = new Random(22);
        var exported = TrainedConvModel.Export("cnn", [3, 32, 32], baseWidth: 2, random);
        string model = dir.File("cnn-32.onnx");
        OnnxModelWriter.Save(exported.Onnx, model);
        int count = 5;
        byte[] labels = [3, 0, 9, 1, 7];
        byte[] pixels = Enumerable.Range(0, count * 3072).Select(_ => (byte)random.Next(256)).ToArray();
        string path = dir.File("test_batch.bin");
        File.WriteAllBytes(path, CifarBatch(labels, pixels));

        var batch = InferenceInput.Read(path);
        Assert.Equal(count, batch.Rows);
        Assert.Equal(3072, batch.Width);
        Assert.Equal([3, 32, 32], batch.Shape!);
        Assert.Equal(pixels.Select(b => (float)b), batch.Data);
        var truth = InferenceLabels.Read(path);
        Assert.Equal(labels.Select(b => (float)b), truth.Data);
        Assert.Equal(1, truth.Width);

        using var session = OnnxInferenceSession.Create(model, ExecutionProviderChoice.Cpu);
        Assert.Equal([3, 32, 32], session.InputShape);
        AssertMatches(exported.EngineLogits(batch.Data, count), session.Run(batch.Data, count)[OnnxExporter.LogitsName]);

        // A 28×28 IDX image is the wrong width for this model: the error names both shapes.
        string idx = dir.File("fashion-idx3-ubyte");
        File.WriteAllBytes(idx, IdxImages(new byte[2 * 784], 2, 28, 28));
        var small = InferenceInput.Read(idx);
        var e = Assert.Throws<InputWidthException>(() => session.Run(small.Data, small.Rows));
        Assert.Equal("model expects 3072 features per row (3×32×32), the input has 784 features per row", e.Message);
        Assert.Equal(
            "model expects 3072 features per row (3×32×32), the input has 784 features per row (28×28)",
            InputWidthException.Describe(session.InputWidth, small.Width, session.InputShape, small.Shape));
    }

    [Fact]
    public void MalformedCifarBatchesAreOneLineErrorsNamingTheFile()
    {
        string shortFile = dir.File("short.bin");
        File.WriteAllBytes(shortFile, new byte[InferenceInput.CifarRecordLength + 5]);
        var e = Assert.Throws<InputFormatException>(() => InferenceInput.Read(shortFile));
        Assert.StartsWith("short.bin: not a CIFAR-10 binary batch", e.Message);
        Assert.Contains("3078 bytes", e.Message);

        string empty = dir.File("empty.bin");
        File.WriteAllBytes(empty, []);
        Assert.StartsWith("empty.bin: not a CIFAR-10 binary batch", Assert.Throws<InputFormatException>(() => InferenceLabels.Read(empty)).Message);

        string badLabel = dir.File("label.bin");
        File.WriteAllBytes(badLabel, CifarBatch([1, 12], new byte[2 * 3072]));
        Assert.Equal("label.bin: record 2 has label 12; CIFAR-10 labels are 0-9", Assert.Throws<InputFormatException>(() => InferenceInput.Read(badLabel)).Message);
        Assert.Throws<InputFormatException>(() => InferenceInput.Read(dir.File("missing.bin")));
    }
}
