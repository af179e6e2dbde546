using System.IO.Compression;

namespace OnePass.Export.Tests;

/// <summary>Label readers and the scores infer prints.</summary>
public sealed class ScoringTests
{
    private static byte[] IdxLabels(params byte[] labels)
    {
        var bytes = new byte[8 + labels.Length];
        bytes[3] = 0x01;
        bytes[2] = 0x08;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), labels.Length);
        labels.CopyTo(bytes, 8);
        return bytes;
    }

    [Fact]
    public void IdxLabelsReadRawAndGzipped()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("labels"), IdxLabels(3, 0, 9));
        using (var gz = new GZipStream(File.Create(dir.File("labels.gz")), CompressionLevel.Fastest))
        {
            gz.Write(IdxLabels(3, 0, 9));
        }

        foreach (string name in new[] { "labels", "labels.gz" })
        {
            var batch = InferenceLabels.Read(dir.File(name));
            Assert.Equal(3, batch.Rows);
            Assert.Equal(1, batch.Width);
            Assert.Equal([3f, 0f, 9f], batch.Data);
        }
    }

    [Fact]
    public void CsvLabelsMayHaveAHeaderAndSeveralColumns()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("y.csv"), "label\n1\n2\n");
        Assert.Equal([1f, 2f], InferenceLabels.Read(dir.File("y.csv")).Data);
        File.WriteAllText(dir.File("t.csv"), "1.5,2\n3,4.25\n");
        var t = InferenceLabels.Read(dir.File("t.csv"));
        Assert.Equal(2, t.Width);
        Assert.Equal([1.5f, 2f, 3f, 4.25f], t.Data);
    }

    [Fact]
    public void TruncatedIdxLabelsOrAnImageFileAreErrorsNamingTheFile()
    {
        using var dir = new TempDirectory();
        byte[] full = IdxLabels(1, 2, 3, 4);
        File.WriteAllBytes(dir.File("short-labels"), full[..10]);
        var e1 = Assert.Throws<InputFormatException>(() => InferenceLabels.Read(dir.File("short-labels")));
        Assert.Contains("short-labels", e1.Message);
        Assert.Contains("truncated", e1.Message);

        var images = new byte[16 + 4];
        images[2] = 0x08;
        images[3] = 0x03;
        images[7] = 1;
        images[11] = 2;
        images[15] = 2;
        File.WriteAllBytes(dir.File("images"), images);
        Assert.Contains("IDX image file", Assert.Throws<InputFormatException>(() => InferenceLabels.Read(dir.File("images"))).Message);
    }

    [Fact]
    public void AccuracyAndCrossEntropyFollowTheLogits()
    {
        float[] logits = [2f, 1f, 0f, 0f, 0f, 3f, 1f, 1f, 1f];
        float[] labels = [0f, 2f, 1f];
        Assert.Equal(2.0 / 3, PredictionScoring.Accuracy(logits, labels, 3), 12);
        double expected = 0;
        for (int r = 0; r < 3; r++)
        {
            double sum = 0;
            for (int k = 0; k < 3; k++)
            {
                sum += Math.Exp(logits[(r * 3) + k]);
            }

            expected -= Math.Log(Math.Exp(logits[(r * 3) + (int)labels[r]]) / sum);
        }

        Assert.Equal(expected / 3, PredictionScoring.CrossEntropy(logits, labels, 3), 10);
        Assert.Equal(1.0, PredictionScoring.CrossEntropy([1000f, -1000f], [1f], 2) / 2000, 10);
    }

    [Fact]
    public void LabelsOutsideTheClassesAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => PredictionScoring.Accuracy([1f, 2f, 3f, 4f], [0f, 2f], 2));
        Assert.Contains("label 2 at row 2", e.Message);
        Assert.Throws<ArgumentException>(() => PredictionScoring.Accuracy([1f, 2f], [0.5f], 2));
        Assert.Throws<ArgumentException>(() => PredictionScoring.Accuracy([1f, 2f, 3f], [0f], 2));
    }

    [Fact]
    public void MeanSquaredErrorCanBeTakenOnNormalisedTargets()
    {
        float[] predictions = [1f, 2f, 5f];
        float[] targets = [1f, 4f, 1f];
        Assert.Equal(20.0 / 3, PredictionScoring.MeanSquaredError(predictions, targets), 12);
        Assert.Equal(20.0 / 3 / 4, PredictionScoring.MeanSquaredError(predictions, targets, 2), 12);
        Assert.Throws<ArgumentException>(() => PredictionScoring.MeanSquaredError(predictions, [1f], 1));
    }
}
