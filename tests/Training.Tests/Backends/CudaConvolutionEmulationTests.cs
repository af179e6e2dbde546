using OnePass.Training.Backends;
using OnePass.Training.Backends.Cuda;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Backends;

/// <summary>
/// The GPU convolution family (<see cref="CudaConvolution"/> launching <c>kernels/convolution.cu</c>) against the CPU
/// family, with the kernels run by <see cref="CudaKernelEmulator"/> on the host: strides, padding, non-square and
/// 1×1 kernels, overlapping pooling windows. The whole-convolution calls run the path without cuDNN (im2col kernels
/// around the launcher's GEMM, a host product in the emulator); the cuDNN path needs a GPU (CudaBackendTests).
/// </summary>
public sealed class CudaConvolutionEmulationTests
{
    private static List<(string Name, float[] Values)> Scenario(IConvolutionKernels family, Func<float[], DeviceBuffer> up, Func<DeviceBuffer, float[]> down,
        ConvolutionGeometry g, int seed)
    {
        var random = new Random(seed);
        float[] Normal(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();
        var seen = new List<(string, float[])>();
        void Keep(string name, DeviceBuffer buffer) => seen.Add(($"{name} {g}", down(buffer)));
        var low = (IIm2ColKernels)family;

        long input = (long)g.Batch * g.Channels * g.InputPlane;
        var x = up(Normal(input));
        var columns = up(Normal((long)g.ColumnRows * g.ColumnCount));
        low.Im2Col(x, g, columns);
        Keep("im2col", columns);
        var dx = up(Normal(input));
        low.Col2Im(up(Normal((long)g.ColumnRows * g.ColumnCount)), g, dx);
        Keep("col2im", dx);

        int outputs = g.Channels + 1, plane = g.OutputPlane;
        long total = (long)g.Batch * outputs * plane;
        var channelMajor = up(Normal(total));
        var batchMajor = up(Enumerable.Repeat(float.NaN, (int)total).ToArray());
        low.ChannelMajorToBatchMajor(channelMajor, g.Batch, outputs, plane, 0f, batchMajor);
        Keep("channel-major to batch-major (beta 0 over NaN)", batchMajor);
        low.ChannelMajorToBatchMajor(up(Normal(total)), g.Batch, outputs, plane, 1f, batchMajor);
        Keep("channel-major to batch-major, beta 1", batchMajor);
        low.ChannelMajorToBatchMajor(up(Normal(total)), g.Batch, outputs, plane, -0.5f, batchMajor);
        Keep("channel-major to batch-major, beta -0.5", batchMajor);
        var back = up(new float[total]);
        low.BatchMajorToChannelMajor(up(Normal(total)), g.Batch, outputs, plane, back);
        Keep("batch-major to channel-major", back);
        var transposed = up(Normal(outputs * g.ColumnRows));
        low.AddTransposed(up(Normal(outputs * g.ColumnRows)), g.ColumnRows, outputs, transposed);
        Keep("add transposed", transposed);
        var biased = up(Normal(total));
        family.AddChannelBias(biased, g.Batch, outputs, plane, up(Normal(outputs)));
        Keep("add channel bias", biased);

        // The whole convolution with `outputs` output channels: forward over NaN (beta 0), accumulated (beta 1), and both adjoints.
        var weight = up(Normal((long)outputs * g.ColumnRows));
        var y = up(Enumerable.Repeat(float.NaN, (int)total).ToArray());
        family.ConvolutionForward(x, weight, g, outputs, y, 0f);
        Keep("convolution forward", y);
        family.ConvolutionForward(up(Normal(input)), up(Normal((long)outputs * g.ColumnRows)), g, outputs, y, 1f);
        Keep("convolution forward, beta 1", y);
        var dy = up(Normal(total));
        var dataAdjoint = up(Normal(input));
        family.ConvolutionBackwardData(dy, weight, g, outputs, dataAdjoint);
        Keep("convolution backward data", dataAdjoint);
        var filterAdjoint = up(Normal((long)outputs * g.ColumnRows));
        family.ConvolutionBackwardFilter(x, dy, g, outputs, filterAdjoint);
        Keep("convolution backward filter", filterAdjoint);
        var sums = up(Normal(outputs));
        family.AddChannelSums(up(Normal(total)), g.Batch, outputs, plane, sums);
        Keep("add channel sums", sums);

        if (g.KernelHeight == g.KernelWidth)
        {
            int planes = g.Batch * g.Channels;
            var pooled = up(new float[planes * plane]);
            var argmax = up(new float[planes * plane]);
            family.MaxPoolForward(x, g, pooled, argmax);
            Keep("max-pool", pooled);
            Keep("max-pool argmax", argmax);
            var poolAdjoint = up(Normal(input));
            family.MaxPoolBackward(up(Normal(planes * plane)), argmax, g, poolAdjoint);
            Keep("max-pool backward", poolAdjoint);
            var gathered = up(new float[planes * plane]);
            family.MaxPoolGather(up(Normal(input)), argmax, g, gathered);
            Keep("max-pool gather", gathered);
        }

        var averages = up(new float[g.Batch * g.Channels]);
        family.GlobalAveragePoolForward(x, g.Batch * g.Channels, g.InputPlane, averages);
        Keep("global average pool", averages);
        var averageAdjoint = up(Normal(input));
        family.GlobalAveragePoolBackward(up(Normal(g.Batch * g.Channels)), g.Batch * g.Channels, g.InputPlane, averageAdjoint);
        Keep("global average pool backward", averageAdjoint);
        return seen;
    }

    [KernelEmulatorTheory]
    [InlineData(2, 3, 5, 5, 3, 3, 2, 1)]
    [InlineData(2, 2, 9, 9, 7, 7, 2, 3)]
    [InlineData(2, 3, 5, 5, 1, 1, 2, 0)]
    [InlineData(1, 3, 5, 7, 2, 4, 1, 0)]
    [InlineData(2, 2, 5, 6, 3, 3, 1, 1)]
    [InlineData(2, 3, 4, 5, 2, 2, 2, 0)]
    public void Every_kernel_matches_the_cpu_family(int batch, int channels, int height, int width, int kh, int kw, int stride, int padding)
    {
        var g = new ConvolutionGeometry(batch, channels, height, width, kh, kw, stride, padding);
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

        using var emulator = new CudaKernelEmulator("kernels/convolution.cu");
        var gpu = new CudaConvolution(emulator, emulator.Function);

        var expected = Scenario(cpu.Convolution, CpuUp, CpuDown, g, seed: batch + (7 * kh) + stride);
        var actual = Scenario(gpu, emulator.Upload, b => emulator.Download((CudaBuffer)b), g, seed: batch + (7 * kh) + stride);

        Assert.Equal(expected.Count, actual.Count);
        for (int k = 0; k < expected.Count; k++)
        {
            double error = Checking.OpRuleCheck.RelativeError(actual[k].Values, Array.ConvertAll(expected[k].Values, v => (double)v));
            Assert.True(error < 1e-5, $"{expected[k].Name}: relative error {error:E2}");
        }
    }
}
