using OnePass.Training.Backends;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Engine;

/// <summary>
/// The CPU family's whole-convolution calls (<see cref="IConvolutionKernels.ConvolutionForward"/>, BackwardData,
/// BackwardFilter, AddChannelBias) against double-precision definitions written here: the forward from
/// <see cref="ConvolutionOracle"/>, each adjoint by scattering every product of the forward sum back to where it came
/// from. Covers beta 0 over NaN (must not read y), beta 1 and a general beta, accumulation onto non-zero adjoints,
/// several im2col chunks, strides, padding and non-square kernels, and every shape of the padding-aware classes
/// (1×1 and 2×2 inputs, odd sizes, kernels larger than the input, windows entirely in the padding).
/// </summary>
public sealed class ConvolutionKernelTests
{
    private static int Count(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    private static double[] D(float[] values) => Array.ConvertAll(values, v => (double)v);

    // dx[n, c, h, w] and dW[o, c, u, v] of ⟨dy, conv(x, W)⟩, in double, by visiting every term of every output sum.
    private static (double[] Dx, double[] Dw) Adjoints(double[] x, int[] xs, double[] w, int[] ws, double[] dy, int stride, int padding)
    {
        int outH = ((xs[2] + (2 * padding) - ws[2]) / stride) + 1, outW = ((xs[3] + (2 * padding) - ws[3]) / stride) + 1;
        var dx = new double[Count(xs)];
        var dw = new double[Count(ws)];
        for (int n = 0; n < xs[0]; n++)
        {
            for (int o = 0; o < ws[0]; o++)
            {
                for (int r = 0; r < outH; r++)
                {
                    for (int q = 0; q < outW; q++)
                    {
                        double g = dy[(((((n * ws[0]) + o) * outH) + r) * outW) + q];
                        for (int c = 0; c < xs[1]; c++)
                        {
                            for (int u = 0; u < ws[2]; u++)
                            {
                                int row = (r * stride) - padding + u;
                                for (int v = 0; v < ws[3]; v++)
                                {
                                    int col = (q * stride) - padding + v;
                                    if (row < 0 || row >= xs[2] || col < 0 || col >= xs[3])
                                    {
                                        continue;
                                    }

                                    int xi = (((((n * xs[1]) + c) * xs[2]) + row) * xs[3]) + col;
                                    int wi = (((((o * ws[1]) + c) * ws[2]) + u) * ws[3]) + v;
                                    dx[xi] += g * w[wi];
                                    dw[wi] += g * x[xi];
                                }
                            }
                        }
                    }
                }
            }
        }

        return (dx, dw);
    }

    [Theory]
    [InlineData(2, 3, 5, 5, 4, 3, 3, 1, 1)]
    [InlineData(3, 2, 7, 6, 5, 2, 4, 2, 1)] // non-square kernel, stride 2
    [InlineData(2, 4, 6, 6, 3, 1, 1, 1, 0)] // 1x1
    [InlineData(1, 2, 9, 9, 2, 7, 7, 3, 3)] // kernel as large as the padded input allows
    [InlineData(5, 32, 40, 40, 8, 3, 3, 1, 1)] // several im2col chunks (four images, then one)
    [InlineData(3, 5, 1, 1, 6, 3, 3, 1, 1)] // 1x1 input: only the centre tap is inside the image
    [InlineData(4, 3, 2, 2, 5, 3, 3, 1, 1)] // 2x2 input: four classes of four taps
    [InlineData(2, 3, 2, 2, 4, 3, 3, 2, 1)] // 2x2 to 1x1 with stride 2
    [InlineData(2, 2, 7, 5, 3, 3, 3, 1, 1)] // odd, non-square sizes: nine classes
    [InlineData(3, 2, 9, 7, 4, 3, 3, 2, 1)] // stride 2 over odd sizes
    [InlineData(2, 3, 11, 9, 4, 7, 7, 2, 3)] // the ResNet stem's 7x7 stride 2 padding 3
    [InlineData(2, 2, 3, 3, 3, 7, 7, 1, 3)] // kernel larger than the input
    [InlineData(2, 2, 2, 3, 3, 5, 5, 2, 2)] // kernel larger than the input, stride 2
    [InlineData(2, 3, 4, 4, 2, 1, 1, 1, 1)] // 1x1 kernel with padding: the border windows see only padding
    [InlineData(2, 3, 5, 5, 2, 1, 1, 2, 2)] // ... with stride 2, so whole rows and columns of windows do
    [InlineData(3, 2, 6, 5, 3, 2, 2, 1, 1)] // even kernel, padding 1: one-sided classes
    [InlineData(2, 2, 4, 4, 3, 3, 1, 1, 1)] // 3x1 kernel: only rows split into classes
    [InlineData(60, 128, 8, 8, 4, 3, 3, 1, 1)] // the corner and edge classes in one chunk, the middle in two
    [InlineData(9, 3, 8, 8, 5, 3, 3, 1, 1)] // Winograd F(2x2, 3x3): 16 tiles, a second lane group of one image
    [InlineData(2, 3, 9, 10, 4, 3, 3, 1, 0)] // ... without padding, outputs 7x8: partial tiles
    [InlineData(17, 16, 4, 4, 24, 3, 3, 1, 1)] // ... four tiles per 4x4 plane, three lane groups
    [InlineData(20, 32, 40, 40, 8, 3, 3, 1, 1)] // ... three lane groups in two chunks
    public void Whole_convolution_calls_match_the_double_definitions(int n, int ch, int h, int wd, int o, int kh, int kw, int stride, int padding)
    {
        var random = new Random((n * 97) + (ch * 13) + kh);
        var g = new ConvolutionGeometry(n, ch, h, wd, kh, kw, stride, padding);
        int[] xs = [n, ch, h, wd], ws = [o, ch, kh, kw], ys = [n, o, g.OutputHeight, g.OutputWidth];
        float[] x = Oracle.Normal(random, Count(xs)), w = Oracle.Normal(random, Count(ws)), x2 = Oracle.Normal(random, Count(xs)), w2 = Oracle.Normal(random, Count(ws));
        float[] dy = Oracle.Normal(random, Count(ys)), bias = Oracle.Normal(random, o), y0 = Oracle.Normal(random, Count(ys));
        float[] dx0 = Oracle.Normal(random, Count(xs)), dw0 = Oracle.Normal(random, Count(ws));

        using var backend = new CpuBackend();
        var conv = backend.Convolution;
        DeviceBuffer Up(float[] data)
        {
            var buffer = backend.Allocate(data.Length);
            backend.Upload(data, buffer);
            return buffer;
        }

        float[] Down(DeviceBuffer buffer)
        {
            var values = new float[buffer.Length];
            backend.Download(buffer, values);
            return values;
        }

        double[] Conv(float[] input, float[] weight) => ConvolutionOracle.Conv2d(D(input), xs, D(weight), ws, null, stride, padding);

        // beta 0 overwrites y without reading it (NaN stays out).
        var y = Up(Enumerable.Repeat(float.NaN, Count(ys)).ToArray());
        conv.ConvolutionForward(Up(x), Up(w), g, o, y, beta: 0f);
        Assert.True(Oracle.RelativeError(Down(y), Conv(x, w)) < 1e-5, "forward, beta 0");

        // beta 1 accumulates: the forward tangent's conv(ẋ, W) + conv(x, Ẇ).
        conv.ConvolutionForward(Up(x2), Up(w2), g, o, y, beta: 1f);
        double[] sum = Conv(x, w).Zip(Conv(x2, w2), (a, b) => a + b).ToArray();
        Assert.True(Oracle.RelativeError(Down(y), sum) < 1e-5, "forward, beta 1");

        // A general beta, then the bias.
        var scaled = Up(y0);
        conv.ConvolutionForward(Up(x), Up(w), g, o, scaled, beta: -0.5f);
        conv.AddChannelBias(scaled, n, o, g.OutputPlane, Up(bias));
        double[] expected = Conv(x, w).Select((v, i) => v - (0.5 * y0[i]) + bias[i / g.OutputPlane % o]).ToArray();
        Assert.True(Oracle.RelativeError(Down(scaled), expected) < 1e-5, "forward, beta -0.5, plus bias");

        // Both adjoints accumulate onto what their outputs held.
        var (dxExact, dwExact) = Adjoints(D(x), xs, D(w), ws, D(dy), stride, padding);
        var dx = Up(dx0);
        conv.ConvolutionBackwardData(Up(dy), Up(w), g, o, dx);
        Assert.True(Oracle.RelativeError(Down(dx), dxExact.Select((v, i) => v + dx0[i]).ToArray()) < 1e-5, "backward data");
        var dw = Up(dw0);
        conv.ConvolutionBackwardFilter(Up(x), Up(dy), g, o, dw);
        Assert.True(Oracle.RelativeError(Down(dw), dwExact.Select((v, i) => v + dw0[i]).ToArray()) < 1e-5, "backward filter");
    }

    [Theory]
    [InlineData(1, 1, 3, 1, 1, 1, 1)] // 1x1: the centre tap only
    [InlineData(2, 2, 3, 1, 1, 4, 16)] // 2x2: four corners of four taps
    [InlineData(4, 4, 3, 1, 1, 9, 49)] // 4x4: corners (4 taps), edges (6) and the middle (9)
    [InlineData(8, 8, 3, 1, 1, 1, 9)] // 8x8: little padding, one class with every tap
    [InlineData(32, 32, 7, 2, 3, 1, 49)] // the ResNet stem: one class
    [InlineData(4, 4, 1, 1, 1, 9, 1)] // 1x1 kernel, padding 1: border windows see no tap
    public void Tap_classes_split_only_padded_axes_and_cover_every_output_position_once(int h, int w, int k, int stride, int padding, int classes, int tapsInAll)
    {
        var g = new ConvolutionGeometry(1, 1, h, w, k, k, stride, padding);
        var found = TapClassConvolution.Classes(g);
        Assert.Equal(classes, found.Length);
        Assert.Equal(tapsInAll, found.Sum(c => c.Taps));

        var seen = found.SelectMany(c => c.Outputs).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, g.OutputPlane), seen);
    }

    [Theory]
    [InlineData(9, 3, 8, 8, 5, 1, true)]
    [InlineData(2, 3, 9, 10, 4, 0, true)]
    [InlineData(17, 16, 4, 4, 24, 1, true)]
    [InlineData(20, 32, 40, 40, 8, 1, true)]
    [InlineData(100, 64, 8, 8, 64, 1, true)] // ResNet-18's first stage on CIFAR-10
    [InlineData(100, 128, 4, 4, 128, 1, true)] // ... and its second: 4 tiles of 16 against 100 taps
    [InlineData(100, 256, 2, 2, 256, 1, false)] // 2x2: the padding-aware path multiplies 16 taps, as one tile does
    [InlineData(100, 512, 1, 1, 512, 1, false)]
    [InlineData(2, 3, 5, 5, 4, 1, false)] // 5x5: nine tiles for 25 outputs cost 85 % of the direct taps
    [InlineData(2, 2, 7, 5, 3, 1, false)] // 7x5: twelve tiles, 78 %
    public void Winograd_takes_the_3x3_stride_1_convolutions_where_it_multiplies_less(int n, int c, int h, int w, int o, int padding, bool expected)
    {
        Assert.Equal(expected, WinogradConvolution.Applies(new ConvolutionGeometry(n, c, h, w, 3, 3, 1, padding), o));
        Assert.False(WinogradConvolution.Applies(new ConvolutionGeometry(n, c, h, w, 3, 3, 2, padding), o));
        Assert.False(WinogradConvolution.Applies(new ConvolutionGeometry(n, c, h, w, 1, 1, 1, 0), o));
    }

    [Fact]
    public void The_winograd_setting_takes_0_2_4_or_nothing_and_names_a_bad_value()
    {
        Assert.Equal(WinogradConvolution.Tiles.Two, WinogradConvolution.ReadChoice(null));
        Assert.Equal(WinogradConvolution.Tiles.Two, WinogradConvolution.ReadChoice(""));
        Assert.Equal(WinogradConvolution.Tiles.Two, WinogradConvolution.ReadChoice("2"));
        Assert.Equal(WinogradConvolution.Tiles.Four, WinogradConvolution.ReadChoice("4"));
        Assert.Equal(WinogradConvolution.Tiles.Off, WinogradConvolution.ReadChoice("0"));
        var error = Assert.Throws<ArgumentException>(() => WinogradConvolution.ReadChoice("yes"));
        Assert.Contains("ONEPASS_CPU_WINOGRAD is 'yes'", error.Message);
    }

    [Theory]
    [InlineData(9, 3, 8, 8, 5, 1)] // 8x8: whole tiles of either size
    [InlineData(2, 3, 9, 10, 4, 0)] // outputs 7x8: partial tiles
    [InlineData(2, 3, 6, 7, 4, 2)] // padding 2
    [InlineData(3, 2, 1, 1, 3, 1)] // 1x1: one tile, mostly padding
    [InlineData(17, 16, 4, 4, 24, 1)] // three lane groups, the last of one image
    [InlineData(20, 32, 40, 40, 8, 1)] // several chunks
    [InlineData(2, 5, 3, 3, 3, 0)] // one output
    [InlineData(8, 2, 7, 5, 3, 1)] // one full lane group, 35 positions: four transposed blocks of eight and a tail
    public void Both_winograd_tile_sizes_match_the_double_definitions(int n, int ch, int h, int wd, int o, int padding)
    {
        var random = new Random((n * 31) + (ch * 7) + h);
        var g = new ConvolutionGeometry(n, ch, h, wd, 3, 3, 1, padding);
        int[] xs = [n, ch, h, wd], ws = [o, ch, 3, 3], ys = [n, o, g.OutputHeight, g.OutputWidth];
        float[] x = Oracle.Normal(random, Count(xs)), w = Oracle.Normal(random, Count(ws)), dy = Oracle.Normal(random, Count(ys));
        float[] y0 = Oracle.Normal(random, Count(ys)), dx0 = Oracle.Normal(random, Count(xs)), dw0 = Oracle.Normal(random, Count(ws));
        double[] conv = ConvolutionOracle.Conv2d(D(x), xs, D(w), ws, null, 1, padding);
        var (dxExact, dwExact) = Adjoints(D(x), xs, D(w), ws, D(dy), 1, padding);
        static CpuBuffer Buffer(float[] values) => new((float[])values.Clone(), 0, values.Length);

        // (Forward, BackwardData, BackwardFilter) of each tile size, and the error each may make.
        var sizes = new (string Name, Action<CpuBuffer, CpuBuffer, CpuBuffer, float> Forward, Action<CpuBuffer, CpuBuffer, CpuBuffer> Data, Action<CpuBuffer, CpuBuffer, CpuBuffer> Filter)[]
        {
            ("F(2x2,3x3)", (a, b, c, beta) => WinogradConvolution<F2x3>.Forward(a, b, g, o, c, beta),
                (a, b, c) => WinogradConvolution<F2x3>.BackwardData(a, b, g, o, c), (a, b, c) => WinogradConvolution<F2x3>.BackwardFilter(a, b, g, o, c)),
            ("F(4x4,3x3)", (a, b, c, beta) => WinogradConvolution<F4x3>.Forward(a, b, g, o, c, beta),
                (a, b, c) => WinogradConvolution<F4x3>.BackwardData(a, b, g, o, c), (a, b, c) => WinogradConvolution<F4x3>.BackwardFilter(a, b, g, o, c)),
        };
        foreach (var (name, forward, data, filter) in sizes)
        {
            var y = Buffer(Enumerable.Repeat(float.NaN, Count(ys)).ToArray());
            forward(Buffer(x), Buffer(w), y, 0f);
            Assert.True(Oracle.RelativeError(y.Span.ToArray(), conv) < 1e-5, $"{name} forward, beta 0");

            var scaled = Buffer(y0);
            forward(Buffer(x), Buffer(w), scaled, 0.5f);
            Assert.True(Oracle.RelativeError(scaled.Span.ToArray(), conv.Select((v, i) => v + (0.5 * y0[i])).ToArray()) < 1e-5, $"{name} forward, beta 0.5");

            var dx = Buffer(dx0);
            data(Buffer(dy), Buffer(w), dx);
            Assert.True(Oracle.RelativeError(dx.Span.ToArray(), dxExact.Select((v, i) => v + dx0[i]).ToArray()) < 1e-5, $"{name} backward data");

            var dw = Buffer(dw0);
            filter(Buffer(x), Buffer(dy), dw);
            Assert.True(Oracle.RelativeError(dw.Span.ToArray(), dwExact.Select((v, i) => v + dw0[i]).ToArray()) < 1e-5, $"{name} backward filter");
        }
    }

    [Fact]
    public void An_empty_batch_changes_nothing_and_short_buffers_are_rejected()
    {
        using var backend = new CpuBackend();
        var conv = backend.Convolution;
        var empty = new ConvolutionGeometry(0, 2, 4, 4, 3, 3, 1, 1);
        var w = backend.Allocate(3 * 2 * 9);
        conv.ConvolutionForward(backend.Allocate(0), w, empty, 3, backend.Allocate(0), 0f);
        conv.ConvolutionBackwardData(backend.Allocate(0), w, empty, 3, backend.Allocate(0));
        conv.ConvolutionBackwardFilter(backend.Allocate(0), backend.Allocate(0), empty, 3, w);
        Assert.All(Download(backend, w), v => Assert.Equal(0f, v));

        var g = empty with { Batch = 2 };
        var error = Assert.Throws<ArgumentException>(() => conv.ConvolutionForward(backend.Allocate(2 * 2 * 16), w, g, 3, backend.Allocate(10), 0f));
        Assert.Contains("convolution output", error.Message);
        Assert.Throws<ArgumentException>(() => conv.ConvolutionBackwardFilter(backend.Allocate(2 * 2 * 16), backend.Allocate(2 * 3 * 16), g, 3, backend.Allocate(5)));
    }

    private static float[] Download(CpuBackend backend, DeviceBuffer buffer)
    {
        var values = new float[buffer.Length];
        backend.Download(buffer, values);
        return values;
    }
}
