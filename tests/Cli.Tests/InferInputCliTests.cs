namespace OnePass.Cli.Tests;

/// <summary>Issue 12 item 4 through the CLI: no silently dropped first row, no silent NaN predictions.</summary>
public sealed class InferInputCliTests
{
    [Fact]
    public void FirstRowWithAnEmptyCellIsAnErrorUnlessDeclaredAHeader()
    {
        var (dir, model) = TestModels.TrainedRegression();
        string csv = Path.Combine(dir, "gap.csv");
        File.WriteAllText(csv, "1,2,,4,5,6,7,8\n2,3,4,5,6,7,8,9\n3,4,5,6,7,8,9,1\n");
        string predictions = Path.Combine(dir, "gap.predictions.csv");
        var r = OnePassProcess.Run("infer", "--model", model, "--input", csv, "--provider", "cpu", "--out", predictions);
        Fixtures.AssertOneLineError(r, "gap.csv, line 1, column 3: empty cell");
        Assert.Equal(1, r.ExitCode);

        var declared = OnePassProcess.Run("infer", "--model", model, "--input", csv, "--provider", "cpu", "--out", predictions, "--header");
        Assert.True(declared.ExitCode == 0, declared.StdErr);
        Assert.Equal(3, File.ReadAllLines(predictions).Length); // header + 2 rows

        string nan = Path.Combine(dir, "nan.csv");
        File.WriteAllText(nan, "1,2,3,4,5,6,7,8\n2,3,NaN,5,6,7,8,9\n");
        Fixtures.AssertOneLineError(OnePassProcess.Run("infer", "--model", model, "--input", nan, "--provider", "cpu"), "line 2, column 3: 'NaN' is not a finite number");
        var allowed = OnePassProcess.Run("infer", "--model", model, "--input", nan, "--provider", "cpu", "--allow-nonfinite", "--out", predictions);
        Assert.True(allowed.ExitCode == 0, allowed.StdErr);

        Fixtures.AssertOneLineError(OnePassProcess.Run("infer", "--model", dir, "--input", nan, "--provider", "cpu"), "is a folder");
        Fixtures.AssertOneLineError(OnePassProcess.Run("infer", "--model", model, "--input", dir, "--provider", "cpu"), "is a folder, not a file");
    }
}
