using OnePass.Cli.Commands;

namespace OnePass.Cli.Tests;

/// <summary>The engine's figures printed beside ONNX Runtime's come from a run of the same data set, or not at all.</summary>
public sealed class EngineFiguresTests
{
    [Fact]
    public void RunOfAnotherDataSetIsAnErrorNamingBoth()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"onepass-figures-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "summary.json"), """{"dataset": "uci-energy", "final": {"test_loss": 0.01}}""");
            var e = Assert.Throws<UserInputException>(() => EngineTestFigures.TryRead(dir, "fashion-mnist"));
            Assert.Contains("uci-energy", e.Message);
            Assert.Contains("fashion-mnist", e.Message);
            Assert.Equal(0.01, EngineTestFigures.TryRead(dir, "uci-energy")!.TestLoss);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
