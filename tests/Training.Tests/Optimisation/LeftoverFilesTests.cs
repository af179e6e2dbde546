using OnePass.Training.Backends;
using OnePass.Training.Checkpoints;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Optimisation;
using OnePass.Training.Training;

namespace OnePass.Training.Tests.Optimisation;

/// <summary>Issue 12 item 10: no half-written files, and no promise of a checkpoint that was never written.</summary>
public sealed class LeftoverFilesTests
{
    [Fact]
    public void DivergenceBeforeTheFirstCheckpointDoesNotClaimOne()
    {
        var random = new Random(4);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var train = new DataSplit(Rand(40 * 3), Rand(40), 40, 3, 1);
        var val = new DataSplit(Rand(10 * 3), Rand(10), 10, 3, 1);
        var data = new DataSet("synthetic", TaskKind.Regression, 3, 1, train, val, val, new Normalisation(new float[3], [1, 1, 1]));
        // The multiplier blows the loss up at once, long before the first log point (and checkpoint) at step 100.
        var config = new TrainingConfig
        {
            DataSet = "uci-energy", HyperparameterSteps = 200, NetworkWeightSteps = 3, BatchSize = 0, LogEvery = 100,
            Lr = -2, LrClip = [-10, 0], LrMultiplier = [1e12], LayerSizes = [3, 4, 1],
        };
        string dir = Path.Combine(Path.GetTempPath(), $"onepass-leftover-{Guid.NewGuid():N}");
        using var backend = new CpuBackend();
        using var optimiser = new RandomHyperOptimiser(config.NetworkWeightSteps);
        var summary = new Trainer(config, data, backend, dir).Run(optimiser);
        Assert.True(summary.Diverged);
        Assert.False(File.Exists(Path.Combine(dir, Checkpoint.FileName)));
        Assert.DoesNotContain("last good checkpoint", summary.Message);
        Assert.Contains("no checkpoint had been written", summary.Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void AFailedAtomicWriteLeavesTheOldFileAndNoTemporary()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"onepass-atomic-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "losses.png");
        File.WriteAllText(path, "old");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, temp =>
        {
            File.WriteAllText(temp, "half");
            throw new IOException("No space left on device");
        }));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir));
        Directory.Delete(dir, true);
    }
}
