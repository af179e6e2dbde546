namespace OnePass.Export.Tests;

/// <summary>Issue 12 item 4: a first row with one bad or empty cell is data (an error), not a header; non-finite inputs are errors.</summary>
public sealed class CsvHeaderTests : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    [Theory]
    [InlineData("1,x,3\n4,5,6\n", "line 1, column 2: 'x' is not a number")]
    [InlineData("1,,3\n4,5,6\n", "line 1, column 2: empty cell")]
    [InlineData("a,,c\n4,5,6\n", "line 1, column 1: 'a' is not a number")]
    public void FirstRowWithANumberIsDataSoItsBadCellIsAnError(string csv, string expected)
    {
        var path = dir.File("in.csv");
        File.WriteAllText(path, csv);
        var e = Assert.Throws<InputFormatException>(() => InferenceInput.ReadCsv(path));
        Assert.Contains(expected, e.Message);
        Assert.Contains("--header", e.Message);
    }

    [Fact]
    public void HeaderAndNoHeaderAreHonoured()
    {
        var path = dir.File("in.csv");
        File.WriteAllText(path, "1,x,3\n4,5,6\n");
        var declared = InferenceInput.ReadCsv(path, new CsvReadOptions(CsvHeader.Present));
        Assert.Equal(1, declared.Rows);
        Assert.Equal([4f, 5f, 6f], declared.Data);

        File.WriteAllText(path, "a,b,c\n4,5,6\n");
        var e = Assert.Throws<InputFormatException>(() => InferenceInput.ReadCsv(path, new CsvReadOptions(CsvHeader.Absent)));
        Assert.Contains("line 1, column 1", e.Message);
    }

    [Theory]
    [InlineData("NaN", "not a finite number")]
    [InlineData("Infinity", "not a finite number")]
    [InlineData("-Infinity", "not a finite number")]
    [InlineData("1e39", "out of float32 range")]
    public void NonFiniteValuesAreErrorsUnlessAllowed(string cell, string expected)
    {
        var path = dir.File("in.csv");
        File.WriteAllText(path, $"1,2,3\n4,{cell},6\n");
        var e = Assert.Throws<InputFormatException>(() => InferenceInput.ReadCsv(path));
        Assert.Contains($"line 2, column 2: '{cell}' is {expected}", e.Message);
        var allowed = InferenceInput.ReadCsv(path, new CsvReadOptions(AllowNonFinite: true));
        Assert.False(float.IsFinite(allowed.Data[4]));
    }

    [Fact]
    public void FolderGivenAsInputIsNamed()
    {
        var e = Assert.Throws<InputFormatException>(() => InferenceInput.Read(dir.Path));
        Assert.Contains("is a folder, not a file", e.Message);
    }
}
