using System.Numerics.Tensors;
using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>
/// The convolution and pooling family on the CPU: the convolution by padding-aware im2col and the packed SGEMM
/// (<see cref="TapClassConvolution"/>, which multiplies only the kernel taps inside the image), max pooling with
/// recorded winners and global average pooling. Work is split across cores by image planes, which never share an
/// output element, so no kernel needs locks. The plain im2col primitives (<see cref="IIm2ColKernels"/>) stay as the
/// host reference for the CUDA family's fallback and its emulation tests.
/// </summary>
internal sealed class CpuConvolution : IConvolutionKernels, IIm2ColKernels
{
    // Below this many elements touched a kernel stays on the calling thread: the hand-off costs more than it saves.
    private const long ParallelThreshold = 1L << 15;

    private static CpuBuffer Cpu(DeviceBuffer buffer) =>
        buffer as CpuBuffer ?? throw new ArgumentException($"buffer of type {buffer.GetType().Name} was not allocated by the CPU backend");

    private static void Need(DeviceBuffer buffer, long length, string name)
    {
        if (buffer.Length < length)
        {
            throw new ArgumentException($"{name} holds {buffer.Length} elements; {length} are needed");
        }
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

    // The output columns wo whose input column wo·s + j − p lies inside [0, width): [lo, hi).
    private static (int Lo, int Hi) ValidRange(int width, int outWidth, int j, int stride, int padding)
    {
        int lo = padding > j ? (padding - j + stride - 1) / stride : 0;
        int last = width - 1 + padding - j;
        int hi = last < 0 ? 0 : Math.Min(outWidth, (last / stride) + 1);
        lo = Math.Min(lo, outWidth);
        return (lo, Math.Max(lo, hi));
    }

    /// <inheritdoc />
    public void ConvolutionForward(DeviceBuffer x, DeviceBuffer weight, ConvolutionGeometry geometry, int outChannels, DeviceBuffer y, float beta)
    {
        if (Im2ColConvolution.Check(geometry, outChannels, x, weight, y))
        {
            if (WinogradConvolution.Applies(geometry, outChannels))
            {
                WinogradConvolution.Forward(Cpu(x), Cpu(weight), geometry, outChannels, Cpu(y), beta);
            }
            else
            {
                TapClassConvolution.Forward(Cpu(x), Cpu(weight), geometry, outChannels, Cpu(y), beta);
            }
        }
    }

    /// <inheritdoc />
    public void ConvolutionBackwardData(DeviceBuffer dy, DeviceBuffer weight, ConvolutionGeometry geometry, int outChannels, DeviceBuffer dx)
    {
        if (Im2ColConvolution.Check(geometry, outChannels, dx, weight, dy))
        {
            if (WinogradConvolution.Applies(geometry, outChannels))
            {
                WinogradConvolution.BackwardData(Cpu(dy), Cpu(weight), geometry, outChannels, Cpu(dx));
            }
            else
            {
                TapClassConvolution.BackwardData(Cpu(dy), Cpu(weight), geometry, outChannels, Cpu(dx));
            }
        }
    }

    /// <inheritdoc />
    public void ConvolutionBackwardFilter(DeviceBuffer x, DeviceBuffer dy, ConvolutionGeometry geometry, int outChannels, DeviceBuffer dWeight)
    {
        if (Im2ColConvolution.Check(geometry, outChannels, x, dWeight, dy))
        {
            if (WinogradConvolution.Applies(geometry, outChannels))
            {
                WinogradConvolution.BackwardFilter(Cpu(x), Cpu(dy), geometry, outChannels, Cpu(dWeight));
            }
            else
            {
                TapClassConvolution.BackwardFilter(Cpu(x), Cpu(dy), geometry, outChannels, Cpu(dWeight));
            }
        }
    }

    /// <inheritdoc />
    public void Gemm(bool transposeA, bool transposeB, int m, int n, int k, float alpha, DeviceBuffer a, DeviceBuffer b, float beta, DeviceBuffer c)
    {
        Need(a, (long)m * k, "GEMM operand A");
        Need(b, (long)k * n, "GEMM operand B");
        Need(c, (long)m * n, "GEMM result");
        CpuGemm.Multiply(transposeA, transposeB, m, n, k, alpha, Cpu(a).Span, Cpu(b).Span, beta, Cpu(c).Span);
    }

    /// <inheritdoc />
    public DeviceBuffer RentScratch(int length) => CpuBuffer.RentScratch(length);

    /// <inheritdoc />
    public void Im2Col(DeviceBuffer x, ConvolutionGeometry g, DeviceBuffer columns)
    {
        Need(x, (long)g.Batch * g.Channels * g.InputPlane, "im2col input");
        Need(columns, (long)g.ColumnRows * g.ColumnCount, "im2col matrix");
        CpuBuffer source = Cpu(x), col = Cpu(columns);
        int kh = g.KernelHeight, kw = g.KernelWidth, s = g.Stride, p = g.Padding;
        int h = g.Height, w = g.Width, ho = g.OutputHeight, wo = g.OutputWidth, plane = g.OutputPlane, count = g.ColumnCount;
        For(g.Batch * g.Channels, (long)g.ColumnRows * count, item =>
        {
            int n = item / g.Channels, c = item % g.Channels;
            ReadOnlySpan<float> input = source.Span.Slice(item * g.InputPlane, g.InputPlane);
            Span<float> all = col.Span;
            for (int i = 0; i < kh; i++)
            {
                for (int j = 0; j < kw; j++)
                {
                    Span<float> dst = all.Slice((int)((((long)((c * kh) + i) * kw) + j) * count) + (n * plane), plane);
                    var (lo, hi) = ValidRange(w, wo, j, s, p);
                    for (int oy = 0; oy < ho; oy++)
                    {
                        Span<float> line = dst.Slice(oy * wo, wo);
                        int row = (oy * s) + i - p;
                        if (row < 0 || row >= h || lo == hi)
                        {
                            line.Clear();
                            continue;
                        }

                        line[..lo].Clear();
                        line[hi..].Clear();
                        ReadOnlySpan<float> src = input.Slice(row * w, w);
                        int start = (lo * s) + j - p;
                        if (s == 1)
                        {
                            src.Slice(start, hi - lo).CopyTo(line[lo..hi]);
                        }
                        else
                        {
                            for (int ox = lo, ix = start; ox < hi; ox++, ix += s)
                            {
                                line[ox] = src[ix];
                            }
                        }
                    }
                }
            }
        });
    }

    /// <inheritdoc />
    public void Col2Im(DeviceBuffer columns, ConvolutionGeometry g, DeviceBuffer dx)
    {
        Need(dx, (long)g.Batch * g.Channels * g.InputPlane, "col2im output");
        Need(columns, (long)g.ColumnRows * g.ColumnCount, "im2col matrix");
        CpuBuffer col = Cpu(columns), target = Cpu(dx);
        int kh = g.KernelHeight, kw = g.KernelWidth, s = g.Stride, p = g.Padding;
        int h = g.Height, w = g.Width, ho = g.OutputHeight, wo = g.OutputWidth, plane = g.OutputPlane, count = g.ColumnCount;
        For(g.Batch * g.Channels, (long)g.ColumnRows * count, item =>
        {
            int n = item / g.Channels, c = item % g.Channels;
            Span<float> output = target.Span.Slice(item * g.InputPlane, g.InputPlane);
            ReadOnlySpan<float> all = col.Span;
            for (int i = 0; i < kh; i++)
            {
                for (int j = 0; j < kw; j++)
                {
                    ReadOnlySpan<float> src = all.Slice((int)((((long)((c * kh) + i) * kw) + j) * count) + (n * plane), plane);
                    var (lo, hi) = ValidRange(w, wo, j, s, p);
                    if (lo == hi)
                    {
                        continue;
                    }

                    for (int oy = 0; oy < ho; oy++)
                    {
                        int row = (oy * s) + i - p;
                        if (row < 0 || row >= h)
                        {
                            continue;
                        }

                        ReadOnlySpan<float> line = src.Slice((oy * wo) + lo, hi - lo);
                        Span<float> dst = output.Slice(row * w, w);
                        int start = (lo * s) + j - p;
                        if (s == 1)
                        {
                            Span<float> run = dst.Slice(start, hi - lo);
                            TensorPrimitives.Add(run, line, run);
                        }
                        else
                        {
                            for (int k = 0, ix = start; k < line.Length; k++, ix += s)
                            {
                                dst[ix] += line[k];
                            }
                        }
                    }
                }
            }
        });
    }

    /// <inheritdoc />
    public void ChannelMajorToBatchMajor(DeviceBuffer source, int batch, int channels, int plane, float beta, DeviceBuffer destination)
    {
        long total = (long)batch * channels * plane;
        Need(source, total, "channel-major source");
        Need(destination, total, "batch-major destination");
        CpuBuffer src = Cpu(source), dst = Cpu(destination);
        For(batch, total, n =>
        {
            ReadOnlySpan<float> from = src.Span;
            Span<float> to = dst.Span.Slice(n * channels * plane, channels * plane);
            for (int c = 0; c < channels; c++)
            {
                ReadOnlySpan<float> run = from.Slice(((c * batch) + n) * plane, plane);
                Span<float> into = to.Slice(c * plane, plane);
                if (beta == 0f)
                {
                    run.CopyTo(into);
                }
                else if (beta == 1f)
                {
                    TensorPrimitives.Add(into, run, into);
                }
                else
                {
                    TensorPrimitives.MultiplyAdd(into, beta, run, into);
                }
            }
        });
    }

    /// <inheritdoc />
    public void AddChannelBias(DeviceBuffer y, int batch, int channels, int plane, DeviceBuffer bias)
    {
        long total = (long)batch * channels * plane;
        Need(y, total, "biased tensor");
        Need(bias, channels, "bias");
        CpuBuffer dst = Cpu(y), b = Cpu(bias);
        For(batch, total, n =>
        {
            Span<float> image = dst.Span.Slice(n * channels * plane, channels * plane);
            ReadOnlySpan<float> values = b.Span;
            for (int c = 0; c < channels; c++)
            {
                Span<float> run = image.Slice(c * plane, plane);
                TensorPrimitives.Add(run, values[c], run);
            }
        });
    }

    /// <inheritdoc />
    public void BatchMajorToChannelMajor(DeviceBuffer source, int batch, int channels, int plane, DeviceBuffer destination)
    {
        long total = (long)batch * channels * plane;
        Need(source, total, "batch-major source");
        Need(destination, total, "channel-major destination");
        CpuBuffer src = Cpu(source), dst = Cpu(destination);
        For(batch, total, n =>
        {
            ReadOnlySpan<float> from = src.Span.Slice(n * channels * plane, channels * plane);
            Span<float> to = dst.Span;
            for (int c = 0; c < channels; c++)
            {
                from.Slice(c * plane, plane).CopyTo(to.Slice(((c * batch) + n) * plane, plane));
            }
        });
    }

    /// <inheritdoc />
    public void AddTransposed(DeviceBuffer source, int rows, int cols, DeviceBuffer destination)
    {
        Need(source, (long)rows * cols, "transpose source");
        Need(destination, (long)rows * cols, "transpose destination");
        CpuBuffer src = Cpu(source), dst = Cpu(destination);
        For(cols, (long)rows * cols, col =>
        {
            ReadOnlySpan<float> from = src.Span;
            Span<float> to = dst.Span.Slice(col * rows, rows);
            for (int r = 0; r < rows; r++)
            {
                to[r] += from[(r * cols) + col];
            }
        });
    }

    /// <inheritdoc />
    public void AddChannelSums(DeviceBuffer x, int batch, int channels, int plane, DeviceBuffer result)
    {
        long total = (long)batch * channels * plane;
        Need(x, total, "channel-sum input");
        Need(result, channels, "channel-sum result");
        CpuBuffer src = Cpu(x), dst = Cpu(result);
        For(channels, total, c =>
        {
            ReadOnlySpan<float> all = src.Span;
            double sum = 0;
            for (int n = 0; n < batch; n++)
            {
                sum += TensorPrimitives.Sum(all.Slice(((n * channels) + c) * plane, plane));
            }

            dst.Span[c] += (float)sum;
        });
    }

    /// <inheritdoc />
    public void MaxPoolForward(DeviceBuffer x, ConvolutionGeometry g, DeviceBuffer y, DeviceBuffer argmax)
    {
        int planes = g.Batch * g.Channels;
        Need(x, (long)planes * g.InputPlane, "max-pool input");
        Need(y, (long)planes * g.OutputPlane, "max-pool output");
        Need(argmax, (long)planes * g.OutputPlane, "max-pool indices");
        CpuBuffer src = Cpu(x), dst = Cpu(y), idx = Cpu(argmax);
        var pool = new MaxPoolShape(g.Height, g.Width, g.OutputHeight, g.OutputWidth, g.KernelHeight, g.Stride, g.Padding);
        int inPlane = g.InputPlane, outPlane = g.OutputPlane;
        ForPlaneRanges(planes, (long)planes * g.OutputPlane * pool.K * pool.K, (first, end) =>
        {
            float[] values = System.Buffers.ArrayPool<float>.Shared.Rent(2 * pool.Scratch);
            int[] winners = System.Buffers.ArrayPool<int>.Shared.Rent(2 * pool.Scratch);
            unsafe
            {
                fixed (float* input = src.Array, output = dst.Array, index = idx.Array, v = values)
                fixed (int* at = winners)
                {
                    // Sentinels either side of the columns: −∞ with the largest index never wins a window that
                    // holds a real element.
                    new Span<float>(v, pool.Scratch).Fill(float.NegativeInfinity);
                    new Span<int>(at, pool.Scratch).Fill(int.MaxValue);
                    for (int plane = first; plane < end; plane++)
                    {
                        MaxPoolPlane(input + src.Offset + ((long)plane * inPlane), output + dst.Offset + ((long)plane * outPlane),
                            index + idx.Offset + ((long)plane * outPlane), pool, v, at, v + pool.Scratch, at + pool.Scratch);
                    }
                }
            }

            System.Buffers.ArrayPool<float>.Shared.Return(values);
            System.Buffers.ArrayPool<int>.Shared.Return(winners);
        });
    }

    // A max pool's plane geometry (square kernel K, as the pooling op builds it). Column scratch holds P sentinel
    // columns, the W columns, then sentinels to the end of what the SIMD loops may read.
    private readonly record struct MaxPoolShape(int H, int W, int Ho, int Wo, int K, int S, int P)
    {
        public int Span => ((Wo - 1) * S) + 1;

        public int Scratch => Math.Max(W + P, Span + K - 1) + K + 16;
    }

    // One plane of max pooling. Per output row the window's rows are first reduced per input column (the first
    // maximum down the column, SIMD across columns) into the padded column arrays; then every padded column q
    // takes the best of columns q … q + K − 1, ties going to the smaller flat index (SIMD across q), and output
    // ox reads q = ox·S. Together that is the first maximum in the window's row-major scan (PyTorch's tie rule);
    // a NaN beats every number and the first NaN in scan order wins, as before.
    private static unsafe void MaxPoolPlane(float* input, float* output, float* index, MaxPoolShape g, float* columns, int* columnAt,
        float* windows, int* windowAt)
    {
        int w = g.W;
        float* best = columns + g.P;
        int* at = columnAt + g.P;
        for (int oy = 0; oy < g.Ho; oy++)
        {
            int y0 = Math.Max(0, (oy * g.S) - g.P), y1 = Math.Min(g.H, (oy * g.S) - g.P + g.K);
            if (y0 >= y1)
            {
                for (int ox = 0; ox < g.Wo; ox++)
                {
                    output[(oy * g.Wo) + ox] = float.NegativeInfinity;
                    index[(oy * g.Wo) + ox] = (y0 * w) + Math.Max(0, (ox * g.S) - g.P);
                }

                continue;
            }

            int ix = 0;
            if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
            {
                var step = System.Runtime.Intrinsics.Vector256.Create(w);
                for (; ix <= w - 8; ix += 8)
                {
                    var flat = System.Runtime.Intrinsics.Vector256.Create((y0 * w) + ix) + System.Runtime.Intrinsics.Vector256<int>.Indices;
                    var top = System.Runtime.Intrinsics.Vector256.Load(input + (y0 * w) + ix);
                    var winner = flat;
                    for (int iy = y0 + 1; iy < y1; iy++)
                    {
                        flat += step;
                        var v = System.Runtime.Intrinsics.Vector256.Load(input + (iy * w) + ix);
                        var take = System.Runtime.Intrinsics.Vector256.GreaterThan(v, top) | (~System.Runtime.Intrinsics.Vector256.Equals(v, v) & System.Runtime.Intrinsics.Vector256.Equals(top, top));
                        top = System.Runtime.Intrinsics.Vector256.ConditionalSelect(take, v, top);
                        winner = System.Runtime.Intrinsics.Vector256.ConditionalSelect(System.Runtime.Intrinsics.Vector256.AsInt32(take), flat, winner);
                    }

                    System.Runtime.Intrinsics.Vector256.Store(top, best + ix);
                    System.Runtime.Intrinsics.Vector256.Store(winner, at + ix);
                }
            }

            for (; ix < w; ix++)
            {
                float top = input[(y0 * w) + ix];
                int winner = (y0 * w) + ix;
                for (int iy = y0 + 1; iy < y1; iy++)
                {
                    float v = input[(iy * w) + ix];
                    if (v > top || (float.IsNaN(v) && !float.IsNaN(top)))
                    {
                        top = v;
                        winner = (iy * w) + ix;
                    }
                }

                best[ix] = top;
                at[ix] = winner;
            }

            int q = 0;
            if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
            {
                for (; q < g.Span; q += 8)
                {
                    var top = System.Runtime.Intrinsics.Vector256.Load(columns + q);
                    var winner = System.Runtime.Intrinsics.Vector256.Load(columnAt + q);
                    for (int t = 1; t < g.K; t++)
                    {
                        var v = System.Runtime.Intrinsics.Vector256.Load(columns + q + t);
                        var vAt = System.Runtime.Intrinsics.Vector256.Load(columnAt + q + t);
                        var vNan = ~System.Runtime.Intrinsics.Vector256.Equals(v, v);
                        var topNan = ~System.Runtime.Intrinsics.Vector256.Equals(top, top);
                        var same = System.Runtime.Intrinsics.Vector256.Equals(v, top) | (vNan & topNan);
                        var take = System.Runtime.Intrinsics.Vector256.GreaterThan(v, top) | (vNan & ~topNan) | (same & System.Runtime.Intrinsics.Vector256.AsSingle(System.Runtime.Intrinsics.Vector256.LessThan(vAt, winner)));
                        top = System.Runtime.Intrinsics.Vector256.ConditionalSelect(take, v, top);
                        winner = System.Runtime.Intrinsics.Vector256.ConditionalSelect(System.Runtime.Intrinsics.Vector256.AsInt32(take), vAt, winner);
                    }

                    System.Runtime.Intrinsics.Vector256.Store(top, windows + q);
                    System.Runtime.Intrinsics.Vector256.Store(winner, windowAt + q);
                }
            }

            for (; q < g.Span; q++)
            {
                float top = columns[q];
                int winner = columnAt[q];
                for (int t = 1; t < g.K; t++)
                {
                    float v = columns[q + t];
                    int vAt = columnAt[q + t];
                    bool vNan = float.IsNaN(v), topNan = float.IsNaN(top);
                    if (v > top || (vNan && !topNan) || ((v == top || (vNan && topNan)) && vAt < winner))
                    {
                        top = v;
                        winner = vAt;
                    }
                }

                windows[q] = top;
                windowAt[q] = winner;
            }

            float* outputRow = output + (oy * g.Wo), indexRow = index + (oy * g.Wo);
            for (int ox = 0; ox < g.Wo; ox++)
            {
                int winner = windowAt[ox * g.S];

                // Only a window with no column inside the image keeps a sentinel; it reports −∞ at its first
                // clipped position, as the direct scan did.
                outputRow[ox] = windows[ox * g.S];
                indexRow[ox] = winner == int.MaxValue ? (y0 * w) + Math.Max(0, (ox * g.S) - g.P) : winner;
            }
        }
    }

    // Runs body over [first, end) ranges of planes, a few ranges per core when the work is large enough.
    private static void ForPlaneRanges(int planes, long elements, Action<int, int> body)
    {
        if (planes > 1 && elements >= ParallelThreshold && Environment.ProcessorCount > 1)
        {
            int ranges = Math.Min(planes, 4 * Environment.ProcessorCount);
            int per = (planes + ranges - 1) / ranges;
            Parallel.For(0, (planes + per - 1) / per, r => body(r * per, Math.Min(planes, (r + 1) * per)));
        }
        else
        {
            body(0, planes);
        }
    }

    /// <inheritdoc />
    public void MaxPoolBackward(DeviceBuffer dy, DeviceBuffer argmax, ConvolutionGeometry g, DeviceBuffer dx)
    {
        int planes = g.Batch * g.Channels;
        Need(dx, (long)planes * g.InputPlane, "max-pool input adjoint");
        Need(dy, (long)planes * g.OutputPlane, "max-pool output adjoint");
        Need(argmax, (long)planes * g.OutputPlane, "max-pool indices");
        CpuBuffer src = Cpu(dy), idx = Cpu(argmax), dst = Cpu(dx);
        int inPlane = g.InputPlane, outPlane = g.OutputPlane;
        ForPlaneRanges(planes, (long)planes * g.OutputPlane, (first, end) =>
        {
            ReadOnlySpan<float> grad = src.Span, index = idx.Span;
            Span<float> output = dst.Span;
            for (int plane = first; plane < end; plane++)
            {
                var o = output.Slice(plane * inPlane, inPlane);
                int at = plane * outPlane;
                for (int j = 0; j < outPlane; j++)
                {
                    o[(int)index[at + j]] += grad[at + j];
                }
            }
        });
    }

    /// <inheritdoc />
    public void MaxPoolGather(DeviceBuffer x, DeviceBuffer argmax, ConvolutionGeometry g, DeviceBuffer y)
    {
        int planes = g.Batch * g.Channels;
        Need(x, (long)planes * g.InputPlane, "max-pool input");
        Need(y, (long)planes * g.OutputPlane, "max-pool output");
        Need(argmax, (long)planes * g.OutputPlane, "max-pool indices");
        CpuBuffer src = Cpu(x), idx = Cpu(argmax), dst = Cpu(y);
        int inPlane = g.InputPlane, outPlane = g.OutputPlane;
        ForPlaneRanges(planes, (long)planes * g.OutputPlane, (first, end) =>
        {
            ReadOnlySpan<float> input = src.Span, index = idx.Span;
            Span<float> output = dst.Span;
            for (int plane = first; plane < end; plane++)
            {
                var i = input.Slice(plane * inPlane, inPlane);
                int at = plane * outPlane;
                for (int j = 0; j < outPlane; j++)
                {
                    output[at + j] = i[(int)index[at + j]];
                }
            }
        });
    }

    /// <inheritdoc />
    public void GlobalAveragePoolForward(DeviceBuffer x, int planes, int planeSize, DeviceBuffer y)
    {
        Need(x, (long)planes * planeSize, "average-pool input");
        Need(y, planes, "average-pool output");
        CpuBuffer src = Cpu(x), dst = Cpu(y);
        float scale = 1f / planeSize;
        ForPlaneRanges(planes, (long)planes * planeSize, (first, end) =>
        {
            Span<float> input = src.Span, output = dst.Span;
            for (int plane = first; plane < end; plane++)
            {
                output[plane] = TensorPrimitives.Sum(input.Slice(plane * planeSize, planeSize)) * scale;
            }
        });
    }

    /// <inheritdoc />
    public void GlobalAveragePoolBackward(DeviceBuffer dy, int planes, int planeSize, DeviceBuffer dx)
    {
        Need(dx, (long)planes * planeSize, "average-pool input adjoint");
        Need(dy, planes, "average-pool output adjoint");
        CpuBuffer src = Cpu(dy), dst = Cpu(dx);
        float scale = 1f / planeSize;
        ForPlaneRanges(planes, (long)planes * planeSize, (first, end) =>
        {
            Span<float> grad = src.Span, output = dst.Span;
            for (int plane = first; plane < end; plane++)
            {
                Span<float> run = output.Slice(plane * planeSize, planeSize);
                TensorPrimitives.Add(run, grad[plane] * scale, run);
            }
        });
    }
}
