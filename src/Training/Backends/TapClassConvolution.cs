using System.Buffers;
using System.Collections.Concurrent;
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
/// (at most nine for a 3×3 pad-1 kernel). An axis where under 15 % of the window entries are padding (an 8×8 plane
/// with a 3×3 kernel, the ResNet stem) stays one run over all taps, its few padded entries multiplied as zeros:
/// splitting it would trade a small saving for several small, slow products. For a class with T taps and P
/// positions the im2col matrix of n images is [C·T, n·P] (row c·T + t, column image·P + position), gathered through
/// a precomputed offset per (tap, position); the weight columns W_c [O, C·T] are gathered per call (W itself when the
/// class has every tap), the forward is W_c·col scattered into y, backward data W_cᵀ·dy_c added back through the
/// class's col2im, backward filter dy_c·colᵀ added into the class's taps of dW. The batch is split into chunks whose
/// im2col matrix stays in cache, as in <see cref="Im2ColConvolution"/>. Classes of one position (all of a 1×1 or
/// 2×2 output) take the images as the product's rows instead (see <c>SinglePosition</c>).
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

    /// <summary>
    /// A rectangle of output positions and the kernel taps it multiplies, with each (tap, position)'s offset in the
    /// input plane (−1 for a tap in the padding, which only a merged class has) and each position's offset in the
    /// output plane.
    /// </summary>
    internal sealed class TapClass
    {
        public TapClass(ConvolutionGeometry g, Run rows, Run columns)
        {
            Rows = rows;
            Columns = columns;
            int s = g.Stride, p = g.Padding, positions = rows.Outputs * columns.Outputs;
            Outputs = new int[positions];
            Inputs = new int[rows.Taps * columns.Taps * positions];
            int at = 0;
            for (int oy = rows.Out0; oy < rows.Out1; oy++)
            {
                for (int ox = columns.Out0; ox < columns.Out1; ox++)
                {
                    Outputs[at++] = (oy * g.OutputWidth) + ox;
                }
            }

            at = 0;
            for (int i = rows.Tap0; i < rows.Tap1; i++)
            {
                for (int j = columns.Tap0; j < columns.Tap1; j++)
                {
                    for (int oy = rows.Out0; oy < rows.Out1; oy++)
                    {
                        int iy = (oy * s) + i - p;
                        for (int ox = columns.Out0; ox < columns.Out1; ox++)
                        {
                            int ix = (ox * s) + j - p;
                            Inputs[at++] = iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width ? (iy * g.Width) + ix : -1;
                        }
                    }
                }
            }
        }

        public Run Rows { get; }

        public Run Columns { get; }

        /// <summary>Output-plane offset of each position, row-major within the rectangle.</summary>
        public int[] Outputs { get; }

        /// <summary>Input-plane offset of tap t (row-major within the tap rectangle) at position q: [t·P + q], −1 in the padding.</summary>
        public int[] Inputs { get; }

        public int Positions => Outputs.Length;

        public int Taps => Rows.Taps * Columns.Taps;
    }

    // Splitting an axis into runs pays when at least this share of its window entries lie in the padding; below it the
    // axis stays one run (padded taps multiplied as zeros), because small classes make small, slow products.
    private const double SplitWaste = 0.15;

    /// <summary>The runs of one axis, merged into one run over every tap any window uses when splitting would save little.</summary>
    internal static List<Run> AxisRuns(int size, int outputs, int kernel, int stride, int padding)
    {
        var runs = Runs(size, outputs, kernel, stride, padding);
        long used = runs.Sum(r => (long)r.Outputs * r.Taps);
        double waste = 1.0 - (used / ((double)outputs * kernel));
        if (runs.Count == 1 || waste >= SplitWaste)
        {
            return runs;
        }

        return [new Run(0, outputs, runs.Min(r => r.Taps > 0 ? r.Tap0 : kernel), runs.Max(r => r.Tap1))];
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

    private static readonly ConcurrentDictionary<ConvolutionGeometry, TapClass[]> Cache = new();

    /// <summary>The classes of <paramref name="g"/> (row runs outer), cached per geometry.</summary>
    internal static TapClass[] Classes(ConvolutionGeometry g) =>
        Cache.GetOrAdd(g with { Batch = 0 }, key =>
        {
            var rows = AxisRuns(key.Height, key.OutputHeight, key.KernelHeight, key.Stride, key.Padding);
            var columns = AxisRuns(key.Width, key.OutputWidth, key.KernelWidth, key.Stride, key.Padding);
            return [.. rows.SelectMany(r => columns.Select(c => new TapClass(key, r, c)))];
        });

    // Runs body(from, to) over [0, count) in a few contiguous blocks per core (one block when the work is small).
    private static void ForRange(int count, long elements, Action<int, int> body)
    {
        int cores = Environment.ProcessorCount;
        if (count > 1 && elements >= ParallelThreshold && cores > 1)
        {
            int blocks = Math.Min(count, 4 * cores);
            Parallel.For(0, blocks, b => body((int)((long)count * b / blocks), (int)((long)count * (b + 1) / blocks)));
        }
        else
        {
            body(0, count);
        }
    }

    // Images per chunk for a class whose im2col matrix has `rows` rows and `positions` columns per image.
    private static int ImagesPerChunk(int rows, int positions, int batch) =>
        Math.Clamp(ChunkElements / Math.Max(1, rows * positions), 1, Math.Max(1, batch));

    private static bool IsWhole(ConvolutionGeometry g, TapClass k) => k.Taps == g.KernelHeight * g.KernelWidth;

    // A single-position class takes the whole batch in one product while its matrices stay this small.
    private const long SinglePositionElements = 1L << 22;

    private static bool UseSinglePosition(ConvolutionGeometry g, int outChannels, TapClass k) =>
        k.Positions == 1 && (long)g.Batch * Math.Max(g.Channels * k.Taps, outChannels) <= SinglePositionElements;

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

            if (UseSinglePosition(g, outChannels, k))
            {
                SinglePosition.Forward(x, weight, g, outChannels, k, y, beta);
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

            if (UseSinglePosition(g, outChannels, k))
            {
                SinglePosition.BackwardData(dy, weight, g, outChannels, k, dx);
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

            if (UseSinglePosition(g, outChannels, k))
            {
                SinglePosition.BackwardFilter(x, dy, g, outChannels, k, dWeight);
                continue;
            }

            int rows = g.Channels * k.Taps, per = ImagesPerChunk(rows, k.Positions, g.Batch), most = per * k.Positions;
            float[] columns = ArrayPool<float>.Shared.Rent(rows * most);
            float[] gradient = ArrayPool<float>.Shared.Rent(outChannels * most);
            float[] filter = ArrayPool<float>.Shared.Rent(outChannels * rows);

            // Few output channels make a product with few rows, which the SGEMM runs slowly: then the filter is
            // accumulated transposed, [C·T, O], and added back transposed.
            bool transposed = outChannels <= TransposedFilterChannels;
            try
            {
                float beta = 0f;
                for (int first = 0; first < g.Batch; first += per)
                {
                    int images = Math.Min(per, g.Batch - first), count = images * k.Positions;
                    GatherOutput(dy, g, outChannels, k, first, images, gradient);
                    Im2Col(x, g, k, first, images, columns);
                    Span<float> dyc = gradient.AsSpan(0, outChannels * count), col = columns.AsSpan(0, rows * count), into = filter.AsSpan(0, outChannels * rows);
                    if (transposed)
                    {
                        CpuGemm.Multiply(false, true, rows, outChannels, count, 1f, col, dyc, beta, into);
                    }
                    else
                    {
                        CpuGemm.Multiply(false, true, outChannels, rows, count, 1f, dyc, col, beta, into);
                    }

                    beta = 1f;
                }

                ScatterAddWeight(filter, transposed, g, outChannels, k, dWeight);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(columns);
                ArrayPool<float>.Shared.Return(gradient);
                ArrayPool<float>.Shared.Return(filter);
            }
        }
    }

    // At most this many output channels: the filter gradient's product is taken transposed.
    private const int TransposedFilterChannels = 64;

    // W_c[o, (c·tr + i')·tc + j'] = W[o, c, i0 + i', j0 + j'] (rented; the caller returns it).
    private static float[] GatherWeight(CpuBuffer weight, ConvolutionGeometry g, int outChannels, TapClass k)
    {
        int kh = g.KernelHeight, kw = g.KernelWidth, tr = k.Rows.Taps, tc = k.Columns.Taps, rows = g.Channels * k.Taps;
        float[] gathered = ArrayPool<float>.Shared.Rent(outChannels * rows);
        ForRange(outChannels, (long)outChannels * rows, (o0, o1) =>
        {
            for (int o = o0; o < o1; o++)
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
            }
        });
        return gathered;
    }

    // dW[o, c, i0 + i', j0 + j'] += filter[o, (c·tr + i')·tc + j'] (or filter[(c·tr + i')·tc + j', o] when transposed).
    private static void ScatterAddWeight(float[] filter, bool transposed, ConvolutionGeometry g, int outChannels, TapClass k, CpuBuffer dWeight)
    {
        int kh = g.KernelHeight, kw = g.KernelWidth, tr = k.Rows.Taps, tc = k.Columns.Taps, rows = g.Channels * k.Taps;
        ForRange(outChannels, (long)outChannels * rows, (o0, o1) =>
        {
            for (int o = o0; o < o1; o++)
            {
                Span<float> dw = dWeight.Span.Slice(o * g.Channels * kh * kw, g.Channels * kh * kw);
                int at = 0;
                for (int c = 0; c < g.Channels; c++)
                {
                    for (int i = 0; i < tr; i++)
                    {
                        Span<float> run = dw.Slice((((c * kh) + k.Rows.Tap0 + i) * kw) + k.Columns.Tap0, tc);
                        if (transposed)
                        {
                            for (int j = 0; j < tc; j++)
                            {
                                run[j] += filter[((at + j) * outChannels) + o];
                            }
                        }
                        else
                        {
                            TensorPrimitives.Add(run, filter.AsSpan((o * rows) + at, tc), run);
                        }

                        at += tc;
                    }
                }
            }
        });
    }

    // The class's im2col matrix of images [first, first + images): [C·T, images·P], zero for taps in the padding.
    private static unsafe void Im2Col(CpuBuffer x, ConvolutionGeometry g, TapClass k, int first, int images, float[] columns)
    {
        int channels = g.Channels, taps = k.Taps, positions = k.Positions, count = images * positions, plane = g.InputPlane;
        ForRange(images * channels, (long)channels * taps * count, (item0, item1) =>
        {
            fixed (float* px = x.Array, pc = columns)
            fixed (int* offsets = k.Inputs)
            {
                for (int item = item0; item < item1; item++)
                {
                    int n = item / channels, c = item % channels;
                    float* src = px + x.Offset + ((((long)(first + n) * channels) + c) * plane);
                    float* dst = pc + ((long)c * taps * count) + ((long)n * positions);
                    int* off = offsets;
                    for (int t = 0; t < taps; t++, dst += count, off += positions)
                    {
                        for (int q = 0; q < positions; q++)
                        {
                            int at = off[q];
                            dst[q] = at >= 0 ? src[at] : 0f;
                        }
                    }
                }
            }
        });
    }

    // The adjoint of Im2Col: each entry is added to the input element it was read from (padding entries dropped).
    private static unsafe void Col2Im(float[] columns, ConvolutionGeometry g, TapClass k, int first, int images, CpuBuffer dx)
    {
        int channels = g.Channels, taps = k.Taps, positions = k.Positions, count = images * positions, plane = g.InputPlane;
        ForRange(images * channels, (long)channels * taps * count, (item0, item1) =>
        {
            fixed (float* px = dx.Array, pc = columns)
            fixed (int* offsets = k.Inputs)
            {
                for (int item = item0; item < item1; item++)
                {
                    int n = item / channels, c = item % channels;
                    float* dst = px + dx.Offset + ((((long)(first + n) * channels) + c) * plane);
                    float* src = pc + ((long)c * taps * count) + ((long)n * positions);
                    int* off = offsets;
                    for (int t = 0; t < taps; t++, src += count, off += positions)
                    {
                        for (int q = 0; q < positions; q++)
                        {
                            int at = off[q];
                            if (at >= 0)
                            {
                                dst[at] += src[q];
                            }
                        }
                    }
                }
            }
        });
    }

    // y[n, o, class positions] = product[o, n·P + q] + beta·y[...] for images [first, first + images).
    private static unsafe void ScatterOutput(float[] product, ConvolutionGeometry g, int outChannels, TapClass k, int first, int images, float beta, CpuBuffer y)
    {
        int positions = k.Positions, count = images * positions, plane = g.OutputPlane;
        bool whole = positions == plane;
        ForRange(images * outChannels, (long)outChannels * count, (item0, item1) =>
        {
            fixed (float* py = y.Array, pp = product)
            fixed (int* outputs = k.Outputs)
            {
                for (int item = item0; item < item1; item++)
                {
                    int n = item / outChannels, o = item % outChannels;
                    float* src = pp + ((long)o * count) + ((long)n * positions);
                    float* dst = py + y.Offset + ((((long)(first + n) * outChannels) + o) * plane);
                    if (whole)
                    {
                        var from = new ReadOnlySpan<float>(src, plane);
                        var into = new Span<float>(dst, plane);
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
                    else if (beta == 0f)
                    {
                        for (int q = 0; q < positions; q++)
                        {
                            dst[outputs[q]] = src[q];
                        }
                    }
                    else
                    {
                        for (int q = 0; q < positions; q++)
                        {
                            dst[outputs[q]] = (beta * dst[outputs[q]]) + src[q];
                        }
                    }
                }
            }
        });
    }

    // gradient[o, n·P + q] = dy[first + n, o, class position q].
    private static unsafe void GatherOutput(CpuBuffer dy, ConvolutionGeometry g, int outChannels, TapClass k, int first, int images, float[] gradient)
    {
        int positions = k.Positions, count = images * positions, plane = g.OutputPlane;
        bool whole = positions == plane;
        ForRange(images * outChannels, (long)outChannels * count, (item0, item1) =>
        {
            fixed (float* py = dy.Array, pg = gradient)
            fixed (int* outputs = k.Outputs)
            {
                for (int item = item0; item < item1; item++)
                {
                    int n = item / outChannels, o = item % outChannels;
                    float* dst = pg + ((long)o * count) + ((long)n * positions);
                    float* src = py + dy.Offset + ((((long)(first + n) * outChannels) + o) * plane);
                    if (whole)
                    {
                        new ReadOnlySpan<float>(src, plane).CopyTo(new Span<float>(dst, plane));
                    }
                    else
                    {
                        for (int q = 0; q < positions; q++)
                        {
                            dst[q] = src[outputs[q]];
                        }
                    }
                }
            }
        });
    }

    // y = beta·y on the class's positions (windows entirely in the padding).
    private static void ScaleOutput(CpuBuffer y, ConvolutionGeometry g, int outChannels, TapClass k, float beta)
    {
        int plane = g.OutputPlane;
        ForRange(g.Batch * outChannels, (long)g.Batch * outChannels * k.Positions, (item0, item1) =>
        {
            Span<float> all = y.Span;
            for (int item = item0; item < item1; item++)
            {
                Span<float> dst = all.Slice(item * plane, plane);
                foreach (int q in k.Outputs)
                {
                    dst[q] = beta == 0f ? 0f : beta * dst[q];
                }
            }
        });
    }

    /// <summary>
    /// Classes of one output position (every class of a 1×1 or 2×2 output): the product has as many columns as
    /// images, a few hundred at most, which the SGEMM handles better as rows. The im2col matrix is then kept
    /// transposed, [images, C·T] (for a 1×1 input and one tap it is x itself), and the forward is colᵀ·W_cᵀ
    /// [images, O] (for a 1×1 output, y itself), backward data dyᵀ·W_c and backward filter dy·colᵀ, with dy as
    /// [images, O].
    /// </summary>
    private static class SinglePosition
    {
        public static void Forward(CpuBuffer x, CpuBuffer weight, ConvolutionGeometry g, int outChannels, TapClass k, CpuBuffer y, float beta)
        {
            int rows = g.Channels * k.Taps, n = g.Batch, o = outChannels;
            bool direct = IsDirect(g, k), straight = g.OutputPlane == 1;
            float[]? gathered = IsWhole(g, k) ? null : GatherWeight(weight, g, o, k);
            float[]? columns = direct ? null : ArrayPool<float>.Shared.Rent(n * rows);
            float[]? product = straight ? null : ArrayPool<float>.Shared.Rent(n * o);
            try
            {
                if (columns is not null)
                {
                    Im2ColRows(x, g, k, columns);
                }

                ReadOnlySpan<float> a = columns is null ? x.Span[..(n * rows)] : columns.AsSpan(0, n * rows);
                ReadOnlySpan<float> w = gathered is null ? weight.Span[..(o * rows)] : gathered.AsSpan(0, o * rows);
                if (product is null)
                {
                    CpuGemm.Multiply(false, true, n, o, rows, 1f, a, w, beta, y.Span[..(n * o)]);
                    return;
                }

                CpuGemm.Multiply(false, true, n, o, rows, 1f, a, w, 0f, product.AsSpan(0, n * o));
                int at = k.Outputs[0], plane = g.OutputPlane;
                Span<float> dst = y.Span;
                for (int i = 0; i < n * o; i++)
                {
                    ref float into = ref dst[(i * plane) + at];
                    into = beta == 0f ? product[i] : (beta * into) + product[i];
                }
            }
            finally
            {
                Return(gathered, columns, product);
            }
        }

        public static void BackwardData(CpuBuffer dy, CpuBuffer weight, ConvolutionGeometry g, int outChannels, TapClass k, CpuBuffer dx)
        {
            int rows = g.Channels * k.Taps, n = g.Batch, o = outChannels;
            bool direct = IsDirect(g, k), straight = g.OutputPlane == 1;
            float[]? gathered = IsWhole(g, k) ? null : GatherWeight(weight, g, o, k);
            float[]? gradient = straight ? null : ArrayPool<float>.Shared.Rent(n * o);
            float[]? columns = direct ? null : ArrayPool<float>.Shared.Rent(n * rows);
            try
            {
                if (gradient is not null)
                {
                    GatherRows(dy, g, o, k, gradient);
                }

                ReadOnlySpan<float> a = gradient is null ? dy.Span[..(n * o)] : gradient.AsSpan(0, n * o);
                ReadOnlySpan<float> w = gathered is null ? weight.Span[..(o * rows)] : gathered.AsSpan(0, o * rows);
                if (columns is null)
                {
                    CpuGemm.Multiply(false, false, n, rows, o, 1f, a, w, 1f, dx.Span[..(n * rows)]);
                    return;
                }

                CpuGemm.Multiply(false, false, n, rows, o, 1f, a, w, 0f, columns.AsSpan(0, n * rows));
                Col2ImRows(columns, g, k, dx);
            }
            finally
            {
                Return(gathered, columns, gradient);
            }
        }

        public static void BackwardFilter(CpuBuffer x, CpuBuffer dy, ConvolutionGeometry g, int outChannels, TapClass k, CpuBuffer dWeight)
        {
            int rows = g.Channels * k.Taps, n = g.Batch, o = outChannels;
            bool direct = IsDirect(g, k), straight = g.OutputPlane == 1, whole = IsWhole(g, k);
            float[]? gradient = straight ? null : ArrayPool<float>.Shared.Rent(n * o);
            float[]? columns = direct ? null : ArrayPool<float>.Shared.Rent(n * rows);
            float[]? filter = whole ? null : ArrayPool<float>.Shared.Rent(o * rows);
            try
            {
                if (gradient is not null)
                {
                    GatherRows(dy, g, o, k, gradient);
                }

                if (columns is not null)
                {
                    Im2ColRows(x, g, k, columns);
                }

                ReadOnlySpan<float> a = gradient is null ? dy.Span[..(n * o)] : gradient.AsSpan(0, n * o);
                ReadOnlySpan<float> b = columns is null ? x.Span[..(n * rows)] : columns.AsSpan(0, n * rows);
                if (filter is null)
                {
                    CpuGemm.Multiply(true, false, o, rows, n, 1f, a, b, 1f, dWeight.Span[..(o * rows)]);
                    return;
                }

                CpuGemm.Multiply(true, false, o, rows, n, 1f, a, b, 0f, filter.AsSpan(0, o * rows));
                ScatterAddWeight(filter, false, g, o, k, dWeight);
            }
            finally
            {
                Return(filter, columns, gradient);
            }
        }

        // x [N, C] is the class's transposed im2col matrix when the input is one pixel and that pixel the one tap.
        private static bool IsDirect(ConvolutionGeometry g, TapClass k) => g.InputPlane == 1 && k.Taps == 1 && k.Inputs[0] == 0;

        private static void Return(params float[]?[] arrays)
        {
            foreach (var array in arrays)
            {
                if (array is not null)
                {
                    ArrayPool<float>.Shared.Return(array);
                }
            }
        }

        // columns[n, c·T + t] = x[n, c, input of tap t] (zero in the padding).
        private static unsafe void Im2ColRows(CpuBuffer x, ConvolutionGeometry g, TapClass k, float[] columns)
        {
            int channels = g.Channels, taps = k.Taps, plane = g.InputPlane, rows = channels * taps;
            ForRange(g.Batch, (long)g.Batch * rows, (n0, n1) =>
            {
                fixed (float* px = x.Array, pc = columns)
                fixed (int* offsets = k.Inputs)
                {
                    for (int n = n0; n < n1; n++)
                    {
                        float* src = px + x.Offset + ((long)n * channels * plane);
                        float* dst = pc + ((long)n * rows);
                        for (int c = 0; c < channels; c++, src += plane, dst += taps)
                        {
                            for (int t = 0; t < taps; t++)
                            {
                                int at = offsets[t];
                                dst[t] = at >= 0 ? src[at] : 0f;
                            }
                        }
                    }
                }
            });
        }

        // dx[n, c, input of tap t] += columns[n, c·T + t] (padding entries dropped).
        private static unsafe void Col2ImRows(float[] columns, ConvolutionGeometry g, TapClass k, CpuBuffer dx)
        {
            int channels = g.Channels, taps = k.Taps, plane = g.InputPlane, rows = channels * taps;
            ForRange(g.Batch, (long)g.Batch * rows, (n0, n1) =>
            {
                fixed (float* px = dx.Array, pc = columns)
                fixed (int* offsets = k.Inputs)
                {
                    for (int n = n0; n < n1; n++)
                    {
                        float* dst = px + dx.Offset + ((long)n * channels * plane);
                        float* src = pc + ((long)n * rows);
                        for (int c = 0; c < channels; c++, dst += plane, src += taps)
                        {
                            for (int t = 0; t < taps; t++)
                            {
                                int at = offsets[t];
                                if (at >= 0)
                                {
                                    dst[at] += src[t];
                                }
                            }
                        }
                    }
                }
            });
        }

        // gradient[n, o] = dy[n, o, the class's position].
        private static void GatherRows(CpuBuffer dy, ConvolutionGeometry g, int outChannels, TapClass k, float[] gradient)
        {
            int at = k.Outputs[0], plane = g.OutputPlane, total = g.Batch * outChannels;
            ReadOnlySpan<float> src = dy.Span;
            for (int i = 0; i < total; i++)
            {
                gradient[i] = src[(i * plane) + at];
            }
        }
    }
}
