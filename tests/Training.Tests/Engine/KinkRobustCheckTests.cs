using OnePass.Training.Backends;
using OnePass.Training.Checking;
using OnePass.Training.Models;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Engine;

/// <summary>Issue 12 item 8: `check` on deep ReLU networks fails only for wrong products, not for kinks its steps cross.</summary>
public sealed class KinkRobustCheckTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(7)]
    public void DeepReluNetworkPasses(int seed)
    {
        // Seeds 0 and 4 failed with the fixed step of 1e-4 (HVP error about 1.0).
        var model = Mlp.Build([2, 3, 4, 5, 6, 7, 2], Activation.Relu, LossKind.MeanSquaredError);
        var result = DerivativeCheck.Run(model, new CpuBackend(), rows: 8, seed: seed);
        Assert.True(result.Passed, $"{result}");
    }

    [Fact]
    public void AWrongProductStillFailsAtEveryStep()
    {
        // L(w) = Σ wᵢ³: H = diag(6wᵢ), so Hv = 6 w ⊙ v.
        double[] w = [0.5, -1.0, 2.0, 0.25];
        float[] v = [1f, 2f, -1f, 0.5f];
        double Loss(double[] x) => x.Sum(t => t * t * t);
        float[] right = w.Select((x, i) => (float)(6 * x * v[i])).ToArray();
        float[] wrong = right.Select((x, i) => i == 2 ? x * 1.01f : x).ToArray();
        Assert.True(HvpDifferenceOracle.Error(Loss, w, v, right, 1e-3) < 1e-4);
        Assert.True(HvpDifferenceOracle.Error(Loss, w, v, wrong, 1e-3) > 1e-3);
    }
}
