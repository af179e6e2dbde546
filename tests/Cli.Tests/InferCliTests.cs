namespace OnePass.Cli.Tests;

/// <summary>`onepass infer` and `onepass export` refuse bad input with one line and a non-zero exit code.</summary>
public sealed class InferCliTests
{
    private static void AssertOneLineError(OnePassProcess.Result r, string expected)
    {
        Assert.NotEqual(0, r.ExitCode);
        string stderr = r.StdErr.Trim();
        Assert.Contains(expected, stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.Single(stderr.Split('\n'));
    }

    [Fact]
    public void BadModelsInputsAndProvidersAreOneLineErrors()
    {
        var (dir, model) = TestModels.TrainedRegression();
        string good = Path.Combine(dir, "good.csv");
        File.WriteAllText(good, "1,2,3,4,5,6,7,8\n2,3,4,5,6,7,8,9\n");
        var ok = OnePassProcess.Run("infer", "--model", model, "--input", good, "--provider", "cpu", "--out", Path.Combine(dir, "p.csv"));
        Assert.True(ok.ExitCode == 0, ok.StdErr);
        Assert.Contains("rows/s", ok.StdOut);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(dir, "p.csv")).Length);

        string corrupt = Path.Combine(dir, "corrupt.onnx");
        File.WriteAllBytes(corrupt, Enumerable.Range(0, 500).Select(i => (byte)(i * 37)).ToArray());
        AssertOneLineError(OnePassProcess.Run("infer", "--model", corrupt, "--input", good, "--provider", "cpu"), "corrupt.onnx");

        string truncated = Path.Combine(dir, "truncated.onnx");
        byte[] bytes = File.ReadAllBytes(model);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        AssertOneLineError(OnePassProcess.Run("infer", "--model", truncated, "--input", good, "--provider", "cpu"), "truncated.onnx");

        string wide = Path.Combine(dir, "wide.csv");
        File.WriteAllText(wide, "1,2,3,4,5,6,7,8,9\n");
        AssertOneLineError(OnePassProcess.Run("infer", "--model", model, "--input", wide, "--provider", "cpu"), "expects 8 features per row, the input has 9");

        string text = Path.Combine(dir, "text.csv");
        File.WriteAllText(text, "1,2,3,4,5,6,7,8\n1,2,x,4,5,6,7,8\n");
        AssertOneLineError(OnePassProcess.Run("infer", "--model", model, "--input", text, "--provider", "cpu"), "text.csv");

        AssertOneLineError(OnePassProcess.Run("infer", "--model", model, "--input", good, "--provider", "tpu"), "--provider 'tpu'");
        AssertOneLineError(OnePassProcess.Run("export", "--run", Path.Combine(dir, "nowhere")), "model.ckpt");
    }
}
