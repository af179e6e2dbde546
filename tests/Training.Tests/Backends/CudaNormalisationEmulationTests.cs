using OnePass.Training.Backends;
using OnePass.Training.Backends.Cuda;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Backends;

/// <summary>
/// The GPU batch-norm family (<see cref="CudaNormalisation"/> launching <c>kernels/normalisation.cu</c>) against the
/// CPU family, with the kernels run by <see cref="CudaKernelEmulator"/> on the host: training and evaluation mode,
/// every rule, with and without the optional tangents and adjoints, with one and with several chunks per channel.
/// </summary>
public sealed class CudaNormalisationEmulationTests
{
    private static List<(string Name, float[] Values)> Scenario(INormalisationKernels family, Func<float[], DeviceBuffer> up, Func<DeviceBuffer, float[]> down,
        int batch, int channels, int spatial)
    {
        var random = new Random((batch * 100) + (channels * 10) + spatial);
        float[] Normal(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();
        var seen = new List<(string, float[])>();
        void Keep(string name, DeviceBuffer buffer) => seen.Add(($"{name} [{batch}x{channels}x{spatial}]", down(buffer)));

        long elements = (long)batch * channels * spatial;
        var x = up(Normal(elements).Select(v => (v * 1.5f) + 0.7f).ToArray());
        var gamma = up(Normal(channels));
        var beta = up(Normal(channels));
        var running = up([.. Normal(channels), .. Enumerable.Range(0, channels).Select(_ => 0.5f + (float)random.NextDouble())]);
        var trainingSaved = up(new float[2 * channels]);
        var y = up(new float[elements]);
        family.BatchNormTrainingForward(x, batch, channels, spatial, gamma, beta, 1e-5f, trainingSaved, y, running, 0.1f);
        Keep("training forward y", y);
        Keep("training forward saved", trainingSaved);
        Keep("training forward running statistics", running);
        var evaluationSaved = up(new float[2 * channels]);
        family.BatchNormInferenceForward(x, batch, channels, spatial, gamma, beta, running, 1e-5f, evaluationSaved, y);
        Keep("inference forward y", y);
        Keep("inference forward saved", evaluationSaved);

        foreach (bool batchStatistics in (bool[])[true, false])
        {
            string mode = batchStatistics ? "training" : "evaluation";
            var saved = batchStatistics ? trainingSaved : evaluationSaved;
            var xt = up(Normal(elements));
            var yt = up(Normal(elements));
            family.BatchNormForwardTangent(x, batch, channels, spatial, gamma, saved, batchStatistics, xt, up(Normal(channels)), up(Normal(channels)), yt);
            Keep($"{mode} forward tangent", yt);
            family.BatchNormForwardTangent(x, batch, channels, spatial, gamma, saved, batchStatistics, null, null, null, yt);
            Keep($"{mode} forward tangent without tangents", yt);

            var dy = up(Normal(elements));
            var dx = up(Normal(elements));
            var dGamma = up(Normal(channels));
            var dBeta = up(Normal(channels));
            family.BatchNormBackward(x, batch, channels, spatial, gamma, saved, batchStatistics, dy, dx, dGamma, dBeta);
            Keep($"{mode} backward dx", dx);
            Keep($"{mode} backward dGamma", dGamma);
            Keep($"{mode} backward dBeta", dBeta);
            family.BatchNormBackward(x, batch, channels, spatial, gamma, saved, batchStatistics, dy, null, dGamma, null);
            Keep($"{mode} backward dGamma only", dGamma);

            var dxt = up(Normal(elements));
            var dGammaT = up(Normal(channels));
            var dBetaT = up(Normal(channels));
            family.BatchNormBackwardTangent(x, batch, channels, spatial, gamma, saved, batchStatistics, xt, up(Normal(channels)), dy, up(Normal(elements)),
                dxt, dGammaT, dBetaT);
            Keep($"{mode} R-backward dx", dxt);
            Keep($"{mode} R-backward dGamma", dGammaT);
            Keep($"{mode} R-backward dBeta", dBetaT);
            family.BatchNormBackwardTangent(x, batch, channels, spatial, gamma, saved, batchStatistics, null, null, dy, null, dxt, null, dBetaT);
            Keep($"{mode} R-backward dx without tangents", dxt);
            Keep($"{mode} R-backward dBeta without tangents", dBetaT);
        }

        return seen;
    }

    [KernelEmulatorTheory]
    [InlineData(3, 2, 15)]
    [InlineData(4, 3, 1)]
    [InlineData(2, 4, 7)]
    [InlineData(7, 2, 100)] // 700 elements per channel: three chunks, the last one shorter
    public void Every_rule_matches_the_cpu_family(int batch, int channels, int spatial)
    {
        using var cpu = new CpuBackend();
        DeviceBuffer CpuUp(float[] values)
        {
            var buffer = cpu.Allocate(values.Length);
            cpu.Upload(values, buffer);
            return buffer;
        }

        float[] CpuDown(DeviceBuffer buffer)
        {
            var values = new float[buffer.Length];
            cpu.Download(buffer, values);
            return values;
        }

        using var emulator = new CudaKernelEmulator("kernels/normalisation.cu");
        var gpu = new CudaNormalisation(emulator, emulator.Function);

        var expected = Scenario(cpu.Normalisation, CpuUp, CpuDown, batch, channels, spatial);
        var actual = Scenario(gpu, emulator.Upload, b => emulator.Download((CudaBuffer)b), batch, channels, spatial);

        Assert.Equal(expected.Count, actual.Count);
        for (int k = 0; k < expected.Count; k++)
        {
            double error = Checking.OpRuleCheck.RelativeError(actual[k].Values, Array.ConvertAll(expected[k].Values, v => (double)v));
            Assert.True(error < 1e-5, $"{expected[k].Name}: relative error {error:E2}");
        }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 128, 1)]
    [InlineData(3, 128, 2)]
    [InlineData(100, 256, 100)]
    [InlineData(1000, 1000, 3907)]
    [InlineData(100000, 1000, 4096)]
    public void Channels_are_summed_in_chunks_of_about_256_elements(int batch, int spatial, int chunks)
    {
        Assert.Equal(chunks, CudaNormalisation.ChunksFor(batch, spatial));
    }
}
