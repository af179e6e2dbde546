using OnePass.Training.Checkpoints;

namespace OnePass.Export.Tests;

/// <summary>Checkpoint headers for synthetic models: random input normalisation, fixed facts for metadata checks.</summary>
internal static class TestHeaders
{
    public static CheckpointHeader Create(int[] sizes, string loss, string activation, Random random) => new()
    {
        OnePassVersion = "0.1.0", DataSet = "synthetic", Task = loss == "mse" ? "regression" : "classification",
        LayerSizes = sizes, Activation = activation, Loss = loss,
        InputMean = Enumerable.Range(0, sizes[0]).Select(_ => (float)(random.NextDouble() * 10)).ToArray(),
        InputStd = Enumerable.Range(0, sizes[0]).Select(_ => (float)(0.5 + random.NextDouble() * 3)).ToArray(),
        TargetMean = [loss == "mse" ? 17.5f : 0f], TargetStd = [loss == "mse" ? 4.25f : 1f],
        Algorithm = "ours-wd-lr-m", WeightStep = 1234, Seed = 7,
        Hyperparameters = new() { ["lr"] = 0.0123, ["weight_decay"] = 1e-5, ["momentum"] = 0.9 },
        Metrics = new() { ["test_loss"] = 0.321 }, ConfigSha256 = "abc123",
    };
}
