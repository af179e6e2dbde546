using System.Buffers;
using System.Numerics.Tensors;
using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>
/// The CPU's convolution that skips the padding: output positions are grouped into classes that see the same kernel
/// taps inside the image, and each class is one im2col of only its valid taps and one packed SGEMM with the matching
/// weight columns. A 3×3 pad-1 convolution at 1×1 spatial size then multiplies one tap instead of nine, at 2×2 four
/// instead of nine, and without padding there is one class, the whole plane with every tap (plain im2col and GEMM).
/// </summary>
/// <remarks>
/// Along one axis the kernel rows inside the image for output row ho are the contiguous range
/// [max(0, p − ho·s), min(kh, H + p − ho·s)), non-increasing at both ends as ho grows, so equal ranges come in runs of
/// consecutive rows (<see cref="Runs"/>); a class is one row run by one column run, a rectangle of output positions
/// (at most nine for a 3×3 pad-1 kernel). For a class with T = tr·tc taps and P positions the im2col matrix of n
/// images is [C·T, n·P] (row (c·tr + i')·tc + j', column image·P + position), the weight columns W_c [O, C·T], the
/// forward W_c·col scattered into y, backward data W_cᵀ·dy_c added back through the class's col2im, backward filter
/// dy_c·colᵀ added into the class's taps of dW. Every entry of a class's im2col is inside the image, so no loop tests
/// bounds. The batch is split into chunks whose im2col matrix stays in cache, as in <see cref="Im2ColConvolution"/>.
/// </remarks>
internal static class TapClassConvolution
{
    // Elements of one chunk's im2col matrix (see Im2ColConvolution).
    private const int ChunkElements = 1 << 21;

    // Below this many elements touched a copy loop stays on the calling thread.
    private const long ParallelThreshold = 1L << 15;

    /// <summary>Output indices [Out0, Out1) along one axis whose windows keep kernel indices [Tap0, Tap1) inside the image.</summary>
    internal readonly record struct Run(int Out0, int Out1, int Tap0, int Tap1)
    {
        public int Outputs => Out1 - Out0;

        public int Taps => Tap1 - Tap0;
    }

    /// <summary>A rectangle of output positions sharing one set of valid taps.</summary>
    internal readonly record struct TapClass(Run Rows, Run Columns)
    {
        public int Positions => Rows.Outputs * Columns.Outputs;

        public int Taps => Rows.Taps * Columns.Taps;
    }

    /// <summary>The runs of one axis of <paramref name="size"/> inputs and <paramref name="outputs"/> outputs, in order.</summary>
    internal static List<Run> Runs(int size, int outputs, int kernel, int stride, int padding)
    {
        var runs = new List<Run>();
        for (int o = 0; o < outputs; o++)
        {
            int start = (o * stride) - padding;
            int t0 = Math.Min(kernel, Math.Max(0, -start));
            int t1 = Math.Max(t0, Math.Min(kernel, size - start));
            if (runs.Count > 0 && runs[^1].Tap0 == t0 && runs[^1].Tap1 == t1)
            {
                runs[^1] = runs[^1] with { Out1 = o + 1 };
            }
            else
            {
                runs.Add(new Run(o, o + 1, t0, t1));
            }
        }

        return runs;
    }

    /// <summary>The classes of <paramref name="g"/>, row runs outer.</summary>
    internal static List<TapClass> Classes(ConvolutionGeometry g)
    {
        var rows = Runs(g.Height, g.OutputHeight, g.KernelHeight, g.Stride, g.Padding);
        var columns = Runs(g.Width, g.OutputWidth, g.KernelWidth, g.Stride, g.Padding);
        var classes = new List<TapClass>(rows.Count * columns.Count);
        foreach (var r in rows)
        {
            foreach (var c in columns)
            {
                classes.Add(new TapClass(r, c));
            }
        }

        return classes;
    }

    private static void For(int count, long elements, Action<int> body)
    {
        if (count > 1 && elements >= ParallelThreshold && Environment.ProcessorCount > 1)
        {
            Parallel.For(0, count, body);
        }
        else
        {
            for (int i = 0; i < count; i++)
            {
                body(i);
            }
        }
    }

    // Images per chunk for a class whose im2col matrix has `rows` rows and `positions` columns per image.
    private static int ImagesPerChunk(int rows, int positions, int batch) =>
        Math.Clamp(ChunkElements / Math.Max(1, rows * positions), 1, Math.Max(1, batch));

    private static bool IsWhole(ConvolutionGeometry g, TapClass k) => k.Taps == g.KernelHeight * g.KernelWidth;

    /// <summary>y = conv(x, W) + beta·y (buffers checked by the caller).</summary>
    public static void Forward(CpuBuffer x, CpuBuffer weight, ConvolutionGeometry g, int outChannels, CpuBuffer y, float beta)
    {
        foreach (var k in Classes(g))
        {
            if (k.Taps == 0)
            {
                // Every tap of these windows is padding: the convolution is zero there.
                ScaleOutput(y, g, outChannels, k, beta);
                continue;
            }

            int rows = g.Channels * k.Taps, per = ImagesPerChunk(rows, k.Positions, g.Batch), most = per * k.Positions;
            float[]? gathered = IsWhole(g, k) ? null : GatherWeight(weight, g, outChannels, k);
            float[] columns = ArrayPool<float>.Shared.Rent(rows * most);
            float[] product = ArrayPool<float>.Shared.Rent(outChannels * most);
            try
            {
                for (int first = 0; first < g.Batch; first += per)
                {
                    int images = Math.Min(per, g.Batch - first), count = images * k.Positions;
                    Im2Col(x, g, k, first, images, columns);
                    ReadOnlySpan<float> w = gathered is null ? weight.Span[..(outChannels * rows)] : gathered.AsSpan(0, outChannels * rows);
                    CpuGemm.Multiply(false, false, outChannels, count, rows, 1f, w, columns.AsSpan(0, rows * count), 0f, product.AsSpan(0, outChannels * count));
                    ScatterOutput(product, g, outChannels, k, first, images, beta, y);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(columns);
                ArrayPool<float>.Shared.Return(product);
                if (gathered is not null)
                {
                    ArrayPool<float>.Shared.Return(gathered);
                }
            }
        }
    }

    /// <summary>dx += the adjoint of conv(·, W) applied to dy.</summary>
    public static void BackwardData(CpuBuffer dy, CpuBuffer weight, ConvolutionGeometry g, int outChannels, CpuBuffer dx)
    {
        foreach (var k in Classes(g))
        {
            if (k.Taps == 0)
            {
                continue;
            }

            int rows = g.Channels * k.Taps, per = ImagesPerChunk(rows, k.Positions, g.Batch), most = per * k.Positions;
            float[]? gathered = IsWhole(g, k) ? null : GatherWeight(weight, g, outChannels, k);
            float[] columns = ArrayPool<float>.Shared.Rent(rows * most);
            float[] gradient = ArrayPool<float>.Shared.Rent(outChannels * most);
            try
            {
                for (int first = 0; first < g.Batch; first += per)
                {
                    int images = Math.Min(per, g.Batch - first), count = images * k.Positions;
                    GatherOutput(dy, g, outChannels, k, first, images, gradient);
                    ReadOnlySpan<float> w = gathered is null ? weight.Span[..(outChannels * rows)] : gathered.AsSpan(0, outChannels * rows);
                    CpuGemm.Multiply(true, false, rows, count, outChannels, 1f, w, gradient.AsSpan(0, outChannels * count), 0f, columns.AsSpan(0, rows * count));
                    Col2Im(columns, g, k, first, images, dx);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(columns);
                ArrayPool<float>.Shared.Return(gradient);
                if (gathered is not null)
                {
                    ArrayPool<float>.Shared.Return(gathered);
                }
            }
        }
    }

    /// <summary>dW += the adjoint of conv(x, ·) applied to dy.</summary>
    public static void BackwardFilter(CpuBuffer x, CpuBuffer dy, ConvolutionGeometry g, int outChannels, CpuBuffer dWeight)
    {
        foreach (var k in Classes(g))
        {
            if (k.Taps == 0)
            {
                continue;
            }

            int rows = g.Channels * k.Taps, per = ImagesPerChunk(rows, k.Positions, g.Batch), most = per * k.Positions;
            bool whole = IsWhole(g, k);
            float[] columns = ArrayPool<float>.Shared.Rent(rows * most);
            float[] gradient = ArrayPool<float>.Shared.Rent(outChannels * most);
            float[]? filter = whole ? null : ArrayPool<float>.Shared.Rent(outChannels * rows);
            try
            {
                // A whole class accumulates straight into dW (its layout is W's); the others into their own columns first.
                float beta = whole ? 1f : 0f;
                for (int first = 0; first < g.Batch; first += per)
                {
                    int images = Math.Min(per, g.Batch - first), count = images * k.Positions;
                    GatherOutput(dy, g, outChannels, k, first, images, gradient);
                    Im2Col(x, g, k, first, images, columns);
                    Span<float> target = filter is null ? dWeight.Span[..(outChannels * rows)] : filter.AsSpan(0, outChannels * rows);
                    CpuGemm.Multiply(false, true, outChannels, rows, count, 1f, gradient.AsSpan(0, outChannels * count), columns.AsSpan(0, rows * count), beta, target);
                    beta = 1f;
                }

                if (filter is not null)
                {
                    ScatterAddWeight(filter, g, outChannels, k, dWeight);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(columns);
                ArrayPool<float>.Shared.Return(gradient);
                if (filter is not null)
                {
                    ArrayPool<float>.Shared.Return(filter);
                }
            }
        }
    }

    // W_c[o, (c·tr + i')·tc + j'] = W[o, c, i0 + i', j0 + j'] (rented; the caller returns it).
    private static float[] GatherWeight(CpuBuffer weight, ConvolutionGeometry g, int outChannels, TapClass k)
    {
        int kh = g.KernelHeight, kw = g.KernelWidth, tr = k.Rows.Taps, tc = k.Columns.Taps, rows = g.Channels * k.Taps;
        float[] gathered = ArrayPool<float>.Shared.Rent(outChannels * rows);
        For(outChannels, (long)outChannels * rows, o =>
        {
            ReadOnlySpan<float> w = weight.Span.Slice(o * g.Channels * kh * kw, g.Channels * kh * kw);
            Span<float> into = gathered.AsSpan(o * rows, rows);
            int at = 0;
            for (int c = 0; c < g.Channels; c++)
            {
                for (int i = 0; i < tr; i++)
                {
                    w.Slice((((c * kh) + k.Rows.Tap0 + i) * kw) + k.Columns.Tap0, tc).CopyTo(into.Slice(at, tc));
                    at += tc;
                }
            }
        });
        return gathered;
    }

    // dW[o, c, i0 + i', j0 + j'] += filter[o, (c·tr + i')·tc + j'].
    private static void ScatterAddWeight(float[] filter, ConvolutionGeometry g, int outChannels, TapClass k, CpuBuffer dWeight)
    {
        int kh = g.KernelHeight, kw = g.KernelWidth, tr = k.Rows.Taps, tc = k.Columns.Taps, rows = g.Channels * k.Taps;
        For(outChannels, (long)outChannels * rows, o =>
        {
            Span<float> dw = dWeight.Span.Slice(o * g.Channels * kh * kw, g.Channels * kh * kw);
            ReadOnlySpan<float> from = filter.AsSpan(o * rows, rows);
            int at = 0;
            for (int c = 0; c < g.Channels; c++)
            {
                for (int i = 0; i < tr; i++)
                {
                    Span<float> run = dw.Slice((((c * kh) + k.Rows.Tap0 + i) * kw) + k.Columns.Tap0, tc);
                    TensorPrimitives.Add(run, from.Slice(at, tc), run);
                    at += tc;
                }
            }
        });
    }

    // The class's im2col matrix of images [first, first + images): [C·T, images·P].
    private static void Im2Col(CpuBuffer x, ConvolutionGeometry g, TapClass k, int first, int images, float[] columns)
    {
        int s = g.Stride, p = g.Padding, w = g.Width, tr = k.Rows.Taps, tc = k.Columns.Taps;
        int nr = k.Rows.Outputs, nc = k.Columns.Outputs, positions = k.Positions, count = images * positions;
        int channels = g.Channels;
        For(images * channels, (long)channels * k.Taps * count, item =>
        {
            int n = item / channels, c = item % channels;
            ReadOnlySpan<float> input = x.Span.Slice(((first + n) * channels + c) * g.InputPlane, g.InputPlane);
            Span<float> all = columns.AsSpan();
            for (int i = 0; i < tr; i++)
            {
                for (int j = 0; j < tc; j++)
                {
                    Span<float> dst = all.Slice((((((c * tr) + i) * tc) + j) * count) + (n * positions), positions);
                    int iy = (k.Rows.Out0 * s) + k.Rows.Tap0 + i - p;
                    int ix = (k.Columns.Out0 * s) + k.Columns.Tap0 + j - p;
                    for (int y = 0; y < nr; y++, iy += s)
                    {
                        ReadOnlySpan<float> src = input.Slice((iy * w) + ix);
                        Span<float> line = dst.Slice(y * nc, nc);
                        if (s == 1)
                        {
                            src[..nc].CopyTo(line);
                        }
                        else
                        {
                            for (int q = 0, at = 0; q < nc; q++, at += s)
                            {
                                line[q] = src[at];
                            }
                        }
                    }
                }
            }
        });
    }

    // The adjoint of Im2Col: each entry is added to the input element it was read from.
    private static void Col2Im(float[] columns, ConvolutionGeometry g, TapClass k, int first, int images, CpuBuffer dx)
    {
        int s = g.Stride, p = g.Padding, w = g.Width, tr = k.Rows.Taps, tc = k.Columns.Taps;
        int nr = k.Rows.Outputs, nc = k.Columns.Outputs, positions = k.Positions, count = images * positions;
        int channels = g.Channels;
        For(images * channels, (long)channels * k.Taps * count, item =>
        {
            int n = item / channels, c = item % channels;
            Span<float> output = dx.Span.Slice(((first + n) * channels + c) * g.InputPlane, g.InputPlane);
            ReadOnlySpan<float> all = columns.AsSpan();
            for (int i = 0; i < tr; i++)
            {
                for (int j = 0; j < tc; j++)
                {
                    ReadOnlySpan<float> src = all.Slice((((((c * tr) + i) * tc) + j) * count) + (n * positions), positions);
                    int iy = (k.Rows.Out0 * s) + k.Rows.Tap0 + i - p;
                    int ix = (k.Columns.Out0 * s) + k.Columns.Tap0 + j - p;
                    for (int y = 0; y < nr; y++, iy += s)
                    {
                        Span<float> dst = output.Slice((iy * w) + ix);
                        ReadOnlySpan<float> line = src.Slice(y * nc, nc);
                        if (s == 1)
                        {
                            Span<float> run = dst[..nc];
                            TensorPrimitives.Add(run, line, run);
                        }
                        else
                        {
                            for (int q = 0, at = 0; q < nc; q++, at += s)
                            {
                                dst[at] += line[q];
                            }
                        }
                    }
                }
            }
        });
    }

    // y[n, o, class block] = product[o, n·P + position] + beta·y[...] for images [first, first + images).
    private static void ScatterOutput(float[] product, ConvolutionGeometry g, int outChannels, TapClass k, int first, int images, float beta, CpuBuffer y)
    {
        int positions = k.Positions, count = images * positions, plane = g.OutputPlane, wo = g.OutputWidth;
        int nc = k.Columns.Outputs, line = nc == wo ? positions : nc, lines = positions / line;
        For(images * outChannels, (long)outChannels * count, item =>
        {
            int n = item / outChannels, o = item % outChannels;
            ReadOnlySpan<float> src = product.AsSpan((o * count) + (n * positions), positions);
            Span<float> dst = y.Span.Slice((((first + n) * outChannels) + o) * plane, plane);
            for (int r = 0; r < lines; r++)
            {
                ReadOnlySpan<float> from = src.Slice(r * line, line);
                Span<float> into = dst.Slice(((k.Rows.Out0 + (r * line / nc)) * wo) + k.Columns.Out0, line);
                if (beta == 0f)
                {
                    from.CopyTo(into);
                }
                else if (beta == 1f)
                {
                    TensorPrimitives.Add(into, from, into);
                }
                else
                {
                    TensorPrimitives.MultiplyAdd(into, beta, from, into);
                }
            }
        });
    }

    // gradient[o, n·P + position] = dy[first + n, o, class block].
    private static void GatherOutput(CpuBuffer dy, ConvolutionGeometry g, int outChannels, TapClass k, int first, int images, float[] gradient)
    {
        int positions = k.Positions, count = images * positions, plane = g.OutputPlane, wo = g.OutputWidth;
        int nc = k.Columns.Outputs, line = nc == wo ? positions : nc, lines = positions / line;
        For(images * outChannels, (long)outChannels * count, item =>
        {
            int n = item / outChannels, o = item % outChannels;
            Span<float> dst = gradient.AsSpan((o * count) + (n * positions), positions);
            ReadOnlySpan<float> src = dy.Span.Slice((((first + n) * outChannels) + o) * plane, plane);
            for (int r = 0; r < lines; r++)
            {
                src.Slice(((k.Rows.Out0 + (r * line / nc)) * wo) + k.Columns.Out0, line).CopyTo(dst.Slice(r * line, line));
            }
        });
    }

    // y = beta·y on the class's positions (windows entirely in the padding).
    private static void ScaleOutput(CpuBuffer y, ConvolutionGeometry g, int outChannels, TapClass k, float beta)
    {
        int plane = g.OutputPlane, wo = g.OutputWidth, nc = k.Columns.Outputs;
        For(g.Batch * outChannels, (long)g.Batch * outChannels * k.Positions, item =>
        {
            Span<float> dst = y.Span.Slice(item * plane, plane);
            for (int r = k.Rows.Out0; r < k.Rows.Out1; r++)
            {
                Span<float> into = dst.Slice((r * wo) + k.Columns.Out0, nc);
                if (beta == 0f)
                {
                    into.Clear();
                }
                else if (beta != 1f)
                {
                    TensorPrimitives.Multiply(into, beta, into);
                }
            }
        });
    }
}
