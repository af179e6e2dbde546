namespace OnePass.Cli.Tests;

/// <summary>Issue 12 item 8 through the CLI: the reported deep ReLU case passes.</summary>
public sealed class CheckCliTests
{
    [Fact]
    public void DeepReluCheckFromTheIssuePasses()
    {
        var r = OnePassProcess.Run("check", "--layers", "2,3,4,5,6,7,2", "--loss", "mse", "--activation", "relu", "--seed", "0", "--backend", "cpu");
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        Assert.Contains("PASS", r.StdOut);
    }
}
