using OnePass.Training.Backends;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Backends;

/// <summary>
/// The CPU batch norm's channel blocks and the CPU max pool's column-first window reduction on tensors large enough
/// to be split across threads and blocks: batch norm against a double-precision reference and against the same
/// channel normalised on its own, max pooling against a direct row-major scan of every window (ties, NaNs, −∞).
/// </summary>
public sealed class CpuNormalisationSpeedPathTests
{
    private static DeviceBuffer Up(CpuBackend cpu, float[] values)
    {
        var buffer = cpu.Allocate(values.Length);
        cpu.Upload(values, buffer);
        return buffer;
    }

    private static float[] Down(CpuBackend cpu, DeviceBuffer buffer)
    {
        var values = new float[buffer.Length];
        cpu.Download(buffer, values);
        return values;
    }

    private static float[] Normal(Random random, int n, double scale = 1, double shift = 0) =>
        Enumerable.Range(0, n).Select(_ => (float)((((random.NextDouble() * 2) - 1) * scale) + shift)).ToArray();

    private static double RelativeError(float[] actual, double[] expected)
    {
        double d = 0, s = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            d += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            s += expected[i] * expected[i];
        }

        return Math.Sqrt(d / Math.Max(s, 1e-30));
    }

    [Theory]
    [InlineData(16, 37, 64)] // wide rows, a short last block
    [InlineData(8, 20, 300)] // rows that are not a multiple of the SIMD width
    [InlineData(50, 300, 1)] // one element per image and channel
    [InlineData(33, 70, 4)]
    [InlineData(100, 64, 256)] // the ResNet-18 stem on CIFAR
    public void Training_forward_and_backward_match_a_double_reference(int batch, int channels, int spatial)
    {
        using var cpu = new CpuBackend();
        var random = new Random(batch + channels + spatial);
        int n = batch * channels * spatial;
        float[] x = Normal(random, n, 1.5, 0.7), gamma = Normal(random, channels), beta = Normal(random, channels), dy = Normal(random, n);
        float[] dxStart = Normal(random, n);
        var saved = cpu.Allocate(2 * channels);
        var y = cpu.Allocate(n);
        cpu.Normalisation.BatchNormTrainingForward(Up(cpu, x), batch, channels, spatial, Up(cpu, gamma), Up(cpu, beta), 1e-5f, saved, y, null, 0.1f);
        var dx = Up(cpu, dxStart);
        var dGamma = cpu.Allocate(channels);
        var dBeta = cpu.Allocate(channels);
        cpu.Normalisation.BatchNormBackward(Up(cpu, x), batch, channels, spatial, Up(cpu, gamma), saved, true, Up(cpu, dy), dx, dGamma, dBeta);

        var yRef = new double[n];
        var dxRef = new double[n];
        var dGammaRef = new double[channels];
        var dBetaRef = new double[channels];
        var meanRef = new double[channels];
        long m = (long)batch * spatial;
        IEnumerable<int> Elements(int c) =>
            Enumerable.Range(0, batch).SelectMany(b => Enumerable.Range(((b * channels) + c) * spatial, spatial));
        for (int c = 0; c < channels; c++)
        {
            double mean = Elements(c).Sum(i => (double)x[i]) / m;
            double variance = Elements(c).Sum(i => (x[i] - mean) * (x[i] - mean)) / m;
            double s = 1 / Math.Sqrt(variance + 1e-5);
            double a = Elements(c).Sum(i => (double)dy[i]) / m;
            double b = Elements(c).Sum(i => dy[i] * (x[i] - mean) * s) / m;
            meanRef[c] = mean;
            dBetaRef[c] = a * m;
            dGammaRef[c] = b * m;
            foreach (int i in Elements(c))
            {
                double xHat = (x[i] - mean) * s;
                yRef[i] = (gamma[c] * xHat) + beta[c];
                dxRef[i] = dxStart[i] + (gamma[c] * s * (dy[i] - a - (xHat * b)));
            }
        }

        Assert.True(RelativeError(Down(cpu, saved)[..channels], meanRef) < 1e-5, "mean");
        Assert.True(RelativeError(Down(cpu, y), yRef) < 1e-5, "y");
        Assert.True(RelativeError(Down(cpu, dx), dxRef) < 1e-5, "dx");
        Assert.True(RelativeError(Down(cpu, dGamma), dGammaRef) < 1e-5, "dGamma");
        Assert.True(RelativeError(Down(cpu, dBeta), dBetaRef) < 1e-5, "dBeta");
    }

    [Theory]
    [InlineData(16, 37, 64, true)]
    [InlineData(50, 300, 1, true)]
    [InlineData(33, 70, 4, false)]
    [InlineData(8, 20, 300, false)]
    public void Every_rule_gives_each_channel_what_it_gets_on_its_own(int batch, int channels, int spatial, bool batchStatistics)
    {
        using var cpu = new CpuBackend();
        var random = new Random((batch * 7) + channels + spatial);
        int n = batch * channels * spatial;
        float[] x = Normal(random, n, 1.5, 0.7), gamma = Normal(random, channels), beta = Normal(random, channels);
        float[] xt = Normal(random, n), gt = Normal(random, channels), bt = Normal(random, channels), dy = Normal(random, n), dyt = Normal(random, n);
        float[] running = [.. Normal(random, channels), .. Normal(random, channels, 0.4, 1)];

        // Every output of every rule for the channels [first, first + count) of the given tensors.
        List<float[]> Run(int first, int count)
        {
            float[] Pick(float[] all) => Enumerable.Range(0, batch)
                .SelectMany(b => all.Skip(((b * channels) + first) * spatial).Take(count * spatial)).ToArray();
            float[] PickChannels(float[] all) => all.Skip(first).Take(count).ToArray();
            float[] PickState(float[] all) => [.. all.Skip(first).Take(count), .. all.Skip(channels + first).Take(count)];
            var k = cpu.Normalisation;
            int size = batch * count * spatial;
            var (xb, gb) = (Up(cpu, Pick(x)), Up(cpu, PickChannels(gamma)));
            var saved = cpu.Allocate(2 * count);
            var y = cpu.Allocate(size);
            if (batchStatistics)
            {
                k.BatchNormTrainingForward(xb, batch, count, spatial, gb, Up(cpu, PickChannels(beta)), 1e-5f, saved, y, null, 0.1f);
            }
            else
            {
                k.BatchNormInferenceForward(xb, batch, count, spatial, gb, Up(cpu, PickChannels(beta)), Up(cpu, PickState(running)), 1e-5f, saved, y);
            }

            var yt = cpu.Allocate(size);
            k.BatchNormForwardTangent(xb, batch, count, spatial, gb, saved, batchStatistics, Up(cpu, Pick(xt)), Up(cpu, PickChannels(gt)),
                Up(cpu, PickChannels(bt)), yt);
            var (dx, dg, db) = (cpu.Allocate(size), cpu.Allocate(count), cpu.Allocate(count));
            k.BatchNormBackward(xb, batch, count, spatial, gb, saved, batchStatistics, Up(cpu, Pick(dy)), dx, dg, db);
            var (dxt, dgt, dbt) = (cpu.Allocate(size), cpu.Allocate(count), cpu.Allocate(count));
            k.BatchNormBackwardTangent(xb, batch, count, spatial, gb, saved, batchStatistics, Up(cpu, Pick(xt)), Up(cpu, PickChannels(gt)),
                Up(cpu, Pick(dy)), Up(cpu, Pick(dyt)), dxt, dgt, dbt);
            return [.. new[] { saved, y, yt, dx, dg, db, dxt, dgt, dbt }.Select(b => Down(cpu, b))];
        }

        var whole = Run(0, channels);
        foreach (int c in (int[])[0, channels / 2, channels - 1])
        {
            var alone = Run(c, 1);
            for (int r = 0; r < alone.Count; r++)
            {
                float[] full = whole[r];
                bool perChannel = full.Length == channels || full.Length == 2 * channels;
                float[] mine = perChannel
                    ? (full.Length == channels ? [full[c]] : [full[c], full[channels + c]])
                    : Enumerable.Range(0, batch).SelectMany(b => full.Skip(((b * channels) + c) * spatial).Take(spatial)).ToArray();
                double error = RelativeError(mine, Array.ConvertAll(alone[r], v => (double)v));
                Assert.True(error < 1e-5, $"output {r} of channel {c}: relative error {error:E2}");
            }
        }
    }

    // The definition: the first maximum in the window's row-major scan, a NaN winning at once.
    private static (float[] Y, float[] At) ReferenceMaxPool(float[] x, int planes, int h, int w, int k, int s, int p, int ho, int wo)
    {
        var y = new float[planes * ho * wo];
        var at = new float[planes * ho * wo];
        for (int plane = 0; plane < planes; plane++)
        {
            for (int oy = 0; oy < ho; oy++)
            {
                for (int ox = 0; ox < wo; ox++)
                {
                    int y0 = Math.Max(0, (oy * s) - p), y1 = Math.Min(h, (oy * s) - p + k);
                    int x0 = Math.Max(0, (ox * s) - p), x1 = Math.Min(w, (ox * s) - p + k);
                    float best = float.NegativeInfinity;
                    int where = (y0 * w) + x0;
                    for (int iy = y0; iy < y1 && !float.IsNaN(best); iy++)
                    {
                        for (int ix = x0; ix < x1; ix++)
                        {
                            float v = x[(plane * h * w) + (iy * w) + ix];
                            if (v > best || float.IsNaN(v))
                            {
                                best = v;
                                where = (iy * w) + ix;
                                if (float.IsNaN(v))
                                {
                                    break;
                                }
                            }
                        }
                    }

                    y[(((plane * ho) + oy) * wo) + ox] = best;
                    at[(((plane * ho) + oy) * wo) + ox] = where;
                }
            }
        }

        return (y, at);
    }

    [Theory]
    [InlineData(20, 16, 16, 16, 3, 2, 1)] // the ResNet-18 stem's pool, large enough to run in parallel
    [InlineData(3, 2, 7, 7, 3, 2, 1)]
    [InlineData(3, 2, 8, 8, 2, 2, 0)]
    [InlineData(3, 2, 5, 6, 3, 1, 1)]
    [InlineData(2, 3, 9, 9, 3, 2, 1)]
    [InlineData(2, 2, 1, 1, 3, 2, 1)]
    [InlineData(2, 2, 2, 3, 3, 2, 1)]
    [InlineData(2, 2, 13, 11, 3, 3, 1)]
    [InlineData(2, 2, 19, 21, 5, 2, 2)]
    public void Max_pool_takes_the_first_maximum_of_every_window(int batch, int channels, int h, int w, int k, int s, int p)
    {
        using var cpu = new CpuBackend();
        var g = new ConvolutionGeometry(batch, channels, h, w, k, k, s, p);
        int planes = batch * channels, outputs = planes * g.OutputPlane;
        var random = new Random(h + w + k + s + p);

        // Few distinct values, so windows hold ties; a few NaNs and −∞.
        float[] x = Enumerable.Range(0, planes * h * w).Select(_ => (float)random.Next(-2, 3)).ToArray();
        for (int i = 0; i < x.Length; i += 1 + random.Next(40))
        {
            x[i] = random.Next(3) switch { 0 => float.NaN, 1 => float.NegativeInfinity, _ => -3f };
        }

        var y = cpu.Allocate(outputs);
        var argmax = cpu.Allocate(outputs);
        cpu.Convolution.MaxPoolForward(Up(cpu, x), g, y, argmax);
        var (yRef, atRef) = ReferenceMaxPool(x, planes, h, w, k, s, p, g.OutputHeight, g.OutputWidth);
        float[] yGot = Down(cpu, y), atGot = Down(cpu, argmax);
        for (int o = 0; o < outputs; o++)
        {
            Assert.True(yGot[o].Equals(yRef[o]) && atGot[o] == atRef[o],
                $"output {o}: got {yGot[o]} at {atGot[o]}, expected {yRef[o]} at {atRef[o]}");
        }
    }
}
