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
        int k = g.KernelHeight, s = g.Stride, p = g.Padding, h = g.Height, w = g.Width, ho = g.OutputHeight, wo = g.OutputWidth;
        For(planes, (long)planes * g.OutputPlane * k * k, plane =>
        {
            ReadOnlySpan<float> input = src.Span.Slice(plane * g.InputPlane, g.InputPlane);
            Span<float> output = dst.Span.Slice(plane * g.OutputPlane, g.OutputPlane);
            Span<float> index = idx.Span.Slice(plane * g.OutputPlane, g.OutputPlane);
            for (int oy = 0; oy < ho; oy++)
            {
                int y0 = Math.Max(0, (oy * s) - p), y1 = Math.Min(h, (oy * s) - p + k);
                for (int ox = 0; ox < wo; ox++)
                {
                    int x0 = Math.Max(0, (ox * s) - p), x1 = Math.Min(w, (ox * s) - p + k);
                    float best = float.NegativeInfinity;
                    int at = (y0 * w) + x0;
                    for (int iy = y0; iy < y1; iy++)
                    {
                        for (int ix = x0; ix < x1; ix++)
                        {
                            float v = input[(iy * w) + ix];
                            // Strictly greater keeps the first maximum (PyTorch's tie rule); a NaN wins and stays.
                            if (v > best || float.IsNaN(v))
                            {
                                best = v;
                                at = (iy * w) + ix;
                                if (float.IsNaN(v))
                                {
                                    goto Found;
                                }
                            }
                        }
                    }

                Found:
                    output[(oy * wo) + ox] = best;
                    index[(oy * wo) + ox] = at;
                }
            }
        });
    }

    /// <inheritdoc />
    public void MaxPoolBackward(DeviceBuffer dy, DeviceBuffer argmax, ConvolutionGeometry g, DeviceBuffer dx)
    {
        int planes = g.Batch * g.Channels;
        Need(dx, (long)planes * g.InputPlane, "max-pool input adjoint");
        Need(dy, (long)planes * g.OutputPlane, "max-pool output adjoint");
        Need(argmax, (long)planes * g.OutputPlane, "max-pool indices");
        CpuBuffer src = Cpu(dy), idx = Cpu(argmax), dst = Cpu(dx);
        For(planes, (long)planes * g.OutputPlane, plane =>
        {
            ReadOnlySpan<float> grad = src.Span.Slice(plane * g.OutputPlane, g.OutputPlane);
            ReadOnlySpan<float> index = idx.Span.Slice(plane * g.OutputPlane, g.OutputPlane);
            Span<float> output = dst.Span.Slice(plane * g.InputPlane, g.InputPlane);
            for (int o = 0; o < grad.Length; o++)
            {
                output[(int)index[o]] += grad[o];
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
        For(planes, (long)planes * g.OutputPlane, plane =>
        {
            ReadOnlySpan<float> input = src.Span.Slice(plane * g.InputPlane, g.InputPlane);
            ReadOnlySpan<float> index = idx.Span.Slice(plane * g.OutputPlane, g.OutputPlane);
            Span<float> output = dst.Span.Slice(plane * g.OutputPlane, g.OutputPlane);
            for (int o = 0; o < output.Length; o++)
            {
                output[o] = input[(int)index[o]];
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
        For(planes, (long)planes * planeSize, plane =>
            dst.Span[plane] = TensorPrimitives.Sum(src.Span.Slice(plane * planeSize, planeSize)) * scale);
    }

    /// <inheritdoc />
    public void GlobalAveragePoolBackward(DeviceBuffer dy, int planes, int planeSize, DeviceBuffer dx)
    {
        Need(dx, (long)planes * planeSize, "average-pool input adjoint");
        Need(dy, planes, "average-pool output adjoint");
        CpuBuffer src = Cpu(dy), dst = Cpu(dx);
        float scale = 1f / planeSize;
        For(planes, (long)planes * planeSize, plane =>
        {
            Span<float> run = dst.Span.Slice(plane * planeSize, planeSize);
            TensorPrimitives.Add(run, src.Span[plane] * scale, run);
        });
    }
}
