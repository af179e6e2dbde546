using System.IO.Compression;

namespace OnePass.Export.Tests;

public sealed class InferenceInputTests : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void CsvWithHeaderIsRead()
    {
        var path = dir.File("in.csv");
        File.WriteAllText(path, "a,b,c\n1,2,3\n\n4.5, -6e-1 ,7\n");
        var batch = InferenceInput.ReadCsv(path);
        Assert.Equal(2, batch.Rows);
        Assert.Equal(3, batch.Width);
        Assert.Equal([1f, 2f, 3f, 4.5f, -0.6f, 7f], batch.Data);
        Assert.Equal(["a", "b", "c"], batch.ColumnNames);
    }

    [Fact]
    public void CsvWithoutHeaderIsRead()
    {
        var path = dir.File("plain.csv");
        File.WriteAllText(path, "1,2\r\n3,4\r\n");
        var batch = InferenceInput.ReadCsv(path);
        Assert.Equal(2, batch.Rows);
        Assert.Null(batch.ColumnNames);
    }

    [Fact]
    public void NonNumericCellNamesFileLineAndColumn()
    {
        var path = dir.File("bad.csv");
        File.WriteAllText(path, "x,y\n1,2\n3,abc\n");
        var e = Assert.Throws<InputFormatException>(() => InferenceInput.ReadCsv(path));
        Assert.Equal("bad.csv, line 3, column 2: 'abc' is not a number", e.Message);
        Assert.Equal(3, e.Line);
        Assert.Equal(2, e.Column);
    }

    [Fact]
    public void RaggedRowIsRejected()
    {
        var path = dir.File("ragged.csv");
        File.WriteAllText(path, "1,2,3\n4,5\n");
        var e = Assert.Throws<InputFormatException>(() => InferenceInput.ReadCsv(path));
        Assert.Equal("ragged.csv, line 2: row has 2 values, expected 3", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IdxImagesAreFlattened(bool gzip)
    {
        var bytes = new List<byte> { 0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3 };
        for (var i = 0; i < 12; i++)
        {
            bytes.Add((byte)(i * 20 + 15));
        }

        var path = dir.File(gzip ? "images.idx3-ubyte.gz" : "images.idx3-ubyte");
        if (gzip)
        {
            using var file = File.Create(path);
            using var gz = new GZipStream(file, CompressionLevel.Fastest);
            gz.Write(bytes.ToArray());
        }
        else
        {
            File.WriteAllBytes(path, bytes.ToArray());
        }

        var batch = InferenceInput.Read(path);
        Assert.Equal(2, batch.Rows);
        Assert.Equal(6, batch.Width);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)(i * 20 + 15)), batch.Data);
    }

    [Fact]
    public void TruncatedIdxIsRejected()
    {
        var path = dir.File("short.idx");
        File.WriteAllBytes(path, [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3]);
        var e = Assert.Throws<InputFormatException>(() => InferenceInput.ReadIdxImages(path));
        Assert.StartsWith("short.idx: IDX file is truncated", e.Message);
    }

    [Fact]
    public void PredictionsCsvHasHeaderAndInvariantNumbers()
    {
        var writer = new StringWriter { NewLine = "\n" };
        var outputs = new Dictionary<string, float[]> { ["probabilities"] = [0.25f, 0.75f, 0.5f, 0.5f], ["label"] = [1f, 0f] };
        PredictionWriter.WriteCsv(writer, ["probabilities", "label"], outputs, 2);
        Assert.Equal("probabilities_0,probabilities_1,label\n0.25,0.75,1\n0.5,0.5,0\n", writer.ToString());
    }
}
