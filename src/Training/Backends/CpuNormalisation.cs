using System.Buffers;
using System.Runtime.Intrinsics;
using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>
/// The normalisation family (batch norm) on the CPU. The channels are cut into blocks of whole channels (blocks in
/// parallel for large tensors). A block is, for every image n, one contiguous run of W = channels-in-block·spatial
/// floats, so every pass walks the block's rows with SIMD loops over W whatever the spatial size (1 for the last
/// ResNet stage, 256 for the stem): sums run down the batch into per-position float accumulators, which are
/// added into double accumulators every few rows (every row for narrow channels) and folded per channel at the end, and
/// per-channel coefficients are spread over their positions once per block. A block is sized to stay in the
/// cache between its passes. x̂ is recomputed from x and the saved (μ, s) rather than stored, so the workspace is
/// only 2·channels floats.
/// </summary>
/// <remarks>
/// Notation per channel (M = batch·spatial elements): x̂ = (x − μ)·s, g = dy, ġ = R{dy}, means over the channel.
/// Training mode (batch statistics):
/// <list type="bullet">
/// <item>ẋ̂ = s·(ẋ − Q − x̂·P) with Q = mean(ẋ), P = mean(x̂·ẋ); ṡ = −s²·P.</item>
/// <item>dx = γs·(g − A − x̂·B) with A = mean(g), B = mean(g·x̂).</item>
/// <item>R{dx} = (γ̇s + γṡ)·(g − A − x̂B) + γs·(ġ − Ȧ − ẋ̂·B − x̂·Ḃ), with Ȧ = mean(ġ) and
/// Ḃ = mean(ġ·x̂) + mean(g·ẋ̂) = mean(ġ·x̂) + s·(mean(g·ẋ) − Q·A − P·B).</item>
/// </list>
/// Evaluation mode drops every term through the statistics (Q, P, A, B, ṡ are zero and μ, s are constants).
/// x̂ is rounded to float exactly as the per-row formulation did, so that sums and second passes see the same x̂.
/// </remarks>
internal sealed unsafe class CpuNormalisation : INormalisationKernels
{
    // Below this many elements a tensor is normalised on the calling thread.
    private const long ParallelThreshold = 1L << 15;

    // With rows of at least WideRow positions a position's float accumulator takes FlushRows rows before it is
    // moved into its double accumulator; with narrower rows (a channel has few elements per image) every row goes
    // straight into double, so no float sum is longer than the per-row sums of the row-by-row formulation were.
    private const int FlushRows = 16;
    private const int WideRow = 16;

    // Floats of input (all streams a pass reads) one block may hold so that later passes find them in cache.
    private const long BlockFloats = 1L << 16;

    // A block row should hold at least this many floats (when the channels allow) so the SIMD loops pay off.
    private const int MinimumRow = 64;

    /// <inheritdoc />
    public void BatchNormTrainingForward(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer beta,
        float epsilon, DeviceBuffer saved, DeviceBuffer y, DeviceBuffer? runningStatistics, float momentum)
    {
        var l = new Layout(batch, channels, spatial);
        l.Check(x, "x");
        l.Check(y, "y");
        l.CheckChannels(gamma, "gamma");
        l.CheckChannels(beta, "beta");
        l.CheckSaved(saved, "saved");
        if (runningStatistics is not null)
        {
            l.CheckSaved(runningStatistics, "running statistics");
        }

        var (cx, cg, cb, cs, cy, cr) = (Cpu(x), Cpu(gamma), Cpu(beta), Cpu(saved), Cpu(y), CpuOrNull(runningStatistics));
        long m = l.PerChannel;
        ForBlocks(l, 1, 4, 1, (c0, c1, fs, ds) =>
        {
            int w = (c1 - c0) * spatial;
            fixed (float* px = cx.Array, py = cy.Array, f = fs)
            fixed (double* d = ds)
            {
                float* xs = px + cx.Offset + ((long)c0 * spatial), ys = py + cy.Offset + ((long)c0 * spatial);
                float* acc = f, mean = f + w, scale = f + (2 * w), shift = f + (3 * w);
                long stride = l.RowStride;

                Clear(acc, d, w);
                for (int n = 0; n < batch; n++)
                {
                    Accumulate(acc, xs + (n * stride), w);
                    FlushIfDue(acc, d, w, n, l);
                }

                Span<float> saveds = cs.Span;
                for (int i = 0; i < c1 - c0; i++)
                {
                    double sum = ChannelTotal(d, i, spatial);
                    saveds[c0 + i] = (float)(sum / m);
                    Spread(mean, i, spatial, saveds[c0 + i]);
                    if (cr is not null)
                    {
                        var r = cr.Span;
                        r[c0 + i] = (float)(((1.0 - momentum) * r[c0 + i]) + (momentum * (sum / m)));
                    }
                }

                Clear(acc, d, w);
                for (int n = 0; n < batch; n++)
                {
                    AccumulateSquaredDeviation(acc, xs + (n * stride), mean, w);
                    FlushIfDue(acc, d, w, n, l);
                }

                Span<float> gammas = cg.Span, betas = cb.Span;
                for (int i = 0; i < c1 - c0; i++)
                {
                    int c = c0 + i;
                    double variance = ChannelTotal(d, i, spatial) / m;
                    double inverseStd = 1.0 / Math.Sqrt(variance + epsilon);
                    saveds[channels + c] = (float)inverseStd;
                    Spread(scale, i, spatial, (float)(gammas[c] * inverseStd));
                    Spread(shift, i, spatial, betas[c]);
                    if (cr is not null)
                    {
                        // PyTorch's running variance is the unbiased estimate (M / (M − 1) times the biased one).
                        var r = cr.Span;
                        double unbiased = m > 1 ? variance * m / (m - 1) : variance;
                        r[channels + c] = (float)(((1.0 - momentum) * r[channels + c]) + (momentum * unbiased));
                    }
                }

                for (int n = 0; n < batch; n++)
                {
                    Affine(ys + (n * stride), xs + (n * stride), mean, scale, shift, w);
                }
            }
        });
    }

    /// <inheritdoc />
    public void BatchNormInferenceForward(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer beta,
        DeviceBuffer runningStatistics, float epsilon, DeviceBuffer saved, DeviceBuffer y)
    {
        var l = new Layout(batch, channels, spatial);
        l.Check(x, "x");
        l.Check(y, "y");
        l.CheckChannels(gamma, "gamma");
        l.CheckChannels(beta, "beta");
        l.CheckSaved(saved, "saved");
        l.CheckSaved(runningStatistics, "running statistics");
        var (cx, cg, cb, cs, cy, cr) = (Cpu(x), Cpu(gamma), Cpu(beta), Cpu(saved), Cpu(y), Cpu(runningStatistics));
        ForBlocks(l, 1, 3, 0, (c0, c1, fs, _) =>
        {
            int w = (c1 - c0) * spatial;
            fixed (float* px = cx.Array, py = cy.Array, f = fs)
            {
                float* xs = px + cx.Offset + ((long)c0 * spatial), ys = py + cy.Offset + ((long)c0 * spatial);
                float* mean = f, scale = f + w, shift = f + (2 * w);
                Span<float> r = cr.Span, saveds = cs.Span, gammas = cg.Span, betas = cb.Span;
                for (int i = 0; i < c1 - c0; i++)
                {
                    int c = c0 + i;
                    double inverseStd = 1.0 / Math.Sqrt(r[channels + c] + (double)epsilon);
                    saveds[c] = r[c];
                    saveds[channels + c] = (float)inverseStd;
                    Spread(mean, i, spatial, r[c]);
                    Spread(scale, i, spatial, (float)(gammas[c] * inverseStd));
                    Spread(shift, i, spatial, betas[c]);
                }

                for (int n = 0; n < batch; n++)
                {
                    Affine(ys + (n * l.RowStride), xs + (n * l.RowStride), mean, scale, shift, w);
                }
            }
        });
    }

    /// <inheritdoc />
    public void BatchNormForwardTangent(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer saved,
        bool batchStatistics, DeviceBuffer? xTangent, DeviceBuffer? gammaTangent, DeviceBuffer? betaTangent, DeviceBuffer yTangent)
    {
        var l = new Layout(batch, channels, spatial);
        l.Check(x, "x");
        l.Check(yTangent, "y tangent");
        l.CheckChannels(gamma, "gamma");
        l.CheckSaved(saved, "saved");
        l.CheckOptional(xTangent, "x tangent");
        l.CheckOptionalChannels(gammaTangent, "gamma tangent");
        l.CheckOptionalChannels(betaTangent, "beta tangent");
        var (cx, cg, cs, cxt, cgt, cbt, cyt) = (Cpu(x), Cpu(gamma), Cpu(saved), CpuOrNull(xTangent), CpuOrNull(gammaTangent), CpuOrNull(betaTangent), Cpu(yTangent));
        long m = l.PerChannel;
        bool statistics = batchStatistics && cxt is not null;
        ForBlocks(l, cxt is null ? 1 : 2, 7, statistics ? 2 : 0, (c0, c1, fs, ds) =>
        {
            int w = (c1 - c0) * spatial;
            fixed (float* px = cx.Array, pxt = cxt?.Array, pyt = cyt.Array, f = fs)
            fixed (double* d = ds)
            {
                long first = (long)c0 * spatial, stride = l.RowStride;
                float* xs = px + cx.Offset + first, yts = pyt + cyt.Offset + first;
                float* xts = pxt is null ? null : pxt + cxt!.Offset + first;
                float* mean = f, accQ = f + w, accP = f + (2 * w), kx = f + (3 * w), k0 = f + (4 * w), kt = f + (5 * w), scale = f + (6 * w);
                double* dQ = d, dP = d + w;
                Span<float> saveds = cs.Span, gammas = cg.Span;
                for (int i = 0; i < c1 - c0; i++)
                {
                    Spread(mean, i, spatial, saveds[c0 + i]);
                    Spread(scale, i, spatial, saveds[channels + c0 + i]);
                }

                if (statistics)
                {
                    Clear(accQ, dQ, w);
                    Clear(accP, dP, w);
                    for (int n = 0; n < batch; n++)
                    {
                        float* xr = xs + (n * stride), xtr = xts + (n * stride);
                        Accumulate(accQ, xtr, w);
                        AccumulateNormalisedProduct(accP, xtr, xr, mean, scale, w);
                        FlushIfDue(accQ, dQ, w, n, l);
                        FlushIfDue(accP, dP, w, n, l);
                    }
                }

                for (int i = 0; i < c1 - c0; i++)
                {
                    int c = c0 + i;
                    double s = saveds[channels + c];
                    double gs = (double)gammas[c] * (float)s;
                    double q = statistics ? ChannelTotal(dQ, i, spatial) / m : 0;
                    double p = statistics ? ChannelTotal(dP, i, spatial) / m : 0;

                    // ẏ = x̂·(γ̇ − γs·P) + γs·ẋ + (β̇ − γs·Q)
                    float a = (float)((cgt?.Span[c] ?? 0f) - (gs * p));
                    float b = (float)((cbt?.Span[c] ?? 0f) - (gs * q));
                    Spread(kx, i, spatial, a);
                    Spread(k0, i, spatial, b);
                    Spread(kt, i, spatial, (float)gs);
                }

                for (int n = 0; n < batch; n++)
                {
                    float* ytr = yts + (n * stride);
                    AffineNormalised(ytr, xs + (n * stride), mean, scale, kx, k0, w);
                    if (xts is not null)
                    {
                        AddProduct(ytr, kt, xts + (n * stride), w);
                    }
                }
            }
        });
    }

    /// <inheritdoc />
    public void BatchNormBackward(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer saved,
        bool batchStatistics, DeviceBuffer dy, DeviceBuffer? dx, DeviceBuffer? dGamma, DeviceBuffer? dBeta)
    {
        var l = new Layout(batch, channels, spatial);
        l.Check(x, "x");
        l.Check(dy, "dy");
        l.CheckChannels(gamma, "gamma");
        l.CheckSaved(saved, "saved");
        l.CheckOptional(dx, "dx");
        l.CheckOptionalChannels(dGamma, "dGamma");
        l.CheckOptionalChannels(dBeta, "dBeta");
        if (dx is null && dGamma is null && dBeta is null)
        {
            return;
        }

        var (cx, cg, cs, cdy, cdx, cdg, cdb) = (Cpu(x), Cpu(gamma), Cpu(saved), Cpu(dy), CpuOrNull(dx), CpuOrNull(dGamma), CpuOrNull(dBeta));
        long m = l.PerChannel;
        bool needG = cdb is not null || (cdx is not null && batchStatistics);
        bool needGx = cdg is not null || (cdx is not null && batchStatistics);
        ForBlocks(l, cdx is null ? 2 : 3, 7, 2, (c0, c1, fs, ds) =>
        {
            int w = (c1 - c0) * spatial;
            fixed (float* px = cx.Array, pg = cdy.Array, pdx = cdx?.Array, f = fs)
            fixed (double* d = ds)
            {
                long first = (long)c0 * spatial, stride = l.RowStride;
                float* xs = px + cx.Offset + first, gs = pg + cdy.Offset + first;
                float* dxs = pdx is null ? null : pdx + cdx!.Offset + first;
                float* mean = f, accG = f + w, accGx = f + (2 * w), kg = f + (3 * w), kx = f + (4 * w), k0 = f + (5 * w), scale = f + (6 * w);
                double* dG = d, dGx = d + w;
                Span<float> saveds = cs.Span;
                for (int i = 0; i < c1 - c0; i++)
                {
                    Spread(mean, i, spatial, saveds[c0 + i]);
                    Spread(scale, i, spatial, saveds[channels + c0 + i]);
                }

                Clear(accG, dG, w);
                Clear(accGx, dGx, w);
                if (needG || needGx)
                {
                    for (int n = 0; n < batch; n++)
                    {
                        float* gr = gs + (n * stride);
                        if (needG)
                        {
                            Accumulate(accG, gr, w);
                            FlushIfDue(accG, dG, w, n, l);
                        }

                        if (needGx)
                        {
                            AccumulateNormalisedProduct(accGx, gr, xs + (n * stride), mean, scale, w);
                            FlushIfDue(accGx, dGx, w, n, l);
                        }
                    }
                }

                Span<float> gammas = cg.Span;
                for (int i = 0; i < c1 - c0; i++)
                {
                    int c = c0 + i;
                    double s = saveds[channels + c];
                    double sumG = ChannelTotal(dG, i, spatial);
                    double sumGx = ChannelTotal(dGx, i, spatial);
                    if (cdb is not null)
                    {
                        cdb.Span[c] += (float)sumG;
                    }

                    if (cdg is not null)
                    {
                        cdg.Span[c] += (float)sumGx;
                    }

                    // dx += γs·g − γs·B·x̂ − γs·A (the last two only through batch statistics)
                    double k = (double)gammas[c] * (float)s;
                    Spread(kg, i, spatial, (float)k);
                    Spread(kx, i, spatial, batchStatistics ? (float)(-k * sumGx / m) : 0f);
                    Spread(k0, i, spatial, batchStatistics ? (float)(-k * sumG / m) : 0f);
                }

                if (dxs is null)
                {
                    return;
                }

                for (int n = 0; n < batch; n++)
                {
                    float* dxr = dxs + (n * stride);
                    AddProduct(dxr, kg, gs + (n * stride), w);
                    if (batchStatistics)
                    {
                        AddNormalised(dxr, kx, xs + (n * stride), mean, scale, k0, w);
                    }
                }
            }
        });
    }

    /// <inheritdoc />
    public void BatchNormBackwardTangent(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer saved,
        bool batchStatistics, DeviceBuffer? xTangent, DeviceBuffer? gammaTangent, DeviceBuffer dy, DeviceBuffer? dyTangent,
        DeviceBuffer? dxTangent, DeviceBuffer? dGammaTangent, DeviceBuffer? dBetaTangent)
    {
        var l = new Layout(batch, channels, spatial);
        l.Check(x, "x");
        l.Check(dy, "dy");
        l.CheckChannels(gamma, "gamma");
        l.CheckSaved(saved, "saved");
        l.CheckOptional(xTangent, "x tangent");
        l.CheckOptionalChannels(gammaTangent, "gamma tangent");
        l.CheckOptional(dyTangent, "dy tangent");
        l.CheckOptional(dxTangent, "dx tangent");
        l.CheckOptionalChannels(dGammaTangent, "dGamma tangent");
        l.CheckOptionalChannels(dBetaTangent, "dBeta tangent");
        if (dxTangent is null && dGammaTangent is null && dBetaTangent is null)
        {
            return;
        }

        var (cx, cg, cs, cxt, cgt, cdy, cdyt) = (Cpu(x), Cpu(gamma), Cpu(saved), CpuOrNull(xTangent), CpuOrNull(gammaTangent), Cpu(dy), CpuOrNull(dyTangent));
        var (cdxt, cdgt, cdbt) = (CpuOrNull(dxTangent), CpuOrNull(dGammaTangent), CpuOrNull(dBetaTangent));
        long m = l.PerChannel;
        int streams = 2 + (cxt is null ? 0 : 1) + (cdyt is null ? 0 : 1) + (cdxt is null ? 0 : 1);
        ForBlocks(l, streams, 14, 7, (c0, c1, fs, ds) =>
        {
            int w = (c1 - c0) * spatial;
            fixed (float* px = cx.Array, pg = cdy.Array, pxt = cxt?.Array, pgt = cdyt?.Array, pdxt = cdxt?.Array, f = fs)
            fixed (double* d = ds)
            {
                long first = (long)c0 * spatial, stride = l.RowStride;
                float* xs = px + cx.Offset + first, gs = pg + cdy.Offset + first;
                float* xts = pxt is null ? null : pxt + cxt!.Offset + first;
                float* gts = pgt is null ? null : pgt + cdyt!.Offset + first;
                float* dxts = pdxt is null ? null : pdxt + cdxt!.Offset + first;

                // Accumulators (float, then double) for Σẋ, Σ(x−μ)ẋ, Σg, Σg(x−μ), Σġ, Σġ(x−μ), Σgẋ.
                float* mean = f, acc = f + w;
                float* kG = f + (8 * w), kGt = f + (9 * w), kXt = f + (10 * w), kXhat = f + (11 * w), k0 = f + (12 * w), scale = f + (13 * w);
                const int Xt = 0, XXt = 1, G = 2, GX = 3, Gt = 4, GtX = 5, GXt = 6;
                Span<float> saveds = cs.Span;
                for (int i = 0; i < c1 - c0; i++)
                {
                    Spread(mean, i, spatial, saveds[c0 + i]);
                    Spread(scale, i, spatial, saveds[channels + c0 + i]);
                }

                Clear(acc, d, 7 * w);
                for (int n = 0; n < batch; n++)
                {
                    float* xr = xs + (n * stride), gr = gs + (n * stride);
                    Accumulate(acc + (G * w), gr, w);
                    AccumulateNormalisedProduct(acc + (GX * w), gr, xr, mean, scale, w);
                    if (xts is not null)
                    {
                        float* xtr = xts + (n * stride);
                        Accumulate(acc + (Xt * w), xtr, w);
                        AccumulateNormalisedProduct(acc + (XXt * w), xtr, xr, mean, scale, w);
                        AccumulateProduct(acc + (GXt * w), gr, xtr, w);
                    }

                    if (gts is not null)
                    {
                        float* gtr = gts + (n * stride);
                        Accumulate(acc + (Gt * w), gtr, w);
                        AccumulateNormalisedProduct(acc + (GtX * w), gtr, xr, mean, scale, w);
                    }

                    FlushIfDue(acc, d, 7 * w, n, l);
                }

                Span<float> gammas = cg.Span;
                for (int i = 0; i < c1 - c0; i++)
                {
                    int c = c0 + i;
                    double s = saveds[channels + c];
                    double sumXt = ChannelTotal(d + (Xt * w), i, spatial), sumXhatXt = ChannelTotal(d + (XXt * w), i, spatial);
                    double sumG = ChannelTotal(d + (G * w), i, spatial), sumGXhat = ChannelTotal(d + (GX * w), i, spatial);
                    double sumGt = ChannelTotal(d + (Gt * w), i, spatial), sumGtXhat = ChannelTotal(d + (GtX * w), i, spatial);
                    double sumGXt = ChannelTotal(d + (GXt * w), i, spatial);
                    double q = sumXt / m, p = sumXhatXt / m, a = sumG / m, b = sumGXhat / m, aDot = sumGt / m;
                    double meanGXhatDot = batchStatistics ? s * ((sumGXt / m) - (q * a) - (p * b)) : s * sumGXt / m;
                    double bDot = (sumGtXhat / m) + meanGXhatDot;

                    if (cdbt is not null)
                    {
                        cdbt.Span[c] += (float)sumGt;
                    }

                    if (cdgt is not null)
                    {
                        cdgt.Span[c] += (float)(m * bDot);
                    }

                    double gamma = gammas[c], gammaDot = cgt?.Span[c] ?? 0f;
                    double gsc = gamma * s;
                    if (batchStatistics)
                    {
                        // R{γs} = γ̇s + γṡ with ṡ = −s²P; see the class remarks for the expansion into these
                        // coefficients. The x̂ coefficient carries the s of x̂ = (x − μ)·s.
                        double k1 = (gammaDot * s) - (gsc * s * p);
                        Spread(kG, i, spatial, (float)k1);
                        Spread(kXt, i, spatial, (float)(-gsc * s * b));
                        Spread(kXhat, i, spatial, (float)((-k1 * b) + (gsc * s * b * p) - (gsc * bDot)));
                        Spread(k0, i, spatial, (float)((-k1 * a) - (gsc * aDot) + (gsc * s * b * q)));
                    }
                    else
                    {
                        Spread(kG, i, spatial, (float)(gammaDot * s));
                    }

                    Spread(kGt, i, spatial, (float)gsc);
                }

                if (dxts is null)
                {
                    return;
                }

                for (int n = 0; n < batch; n++)
                {
                    float* r = dxts + (n * stride);
                    AddProduct(r, kG, gs + (n * stride), w);
                    if (gts is not null)
                    {
                        AddProduct(r, kGt, gts + (n * stride), w);
                    }

                    if (batchStatistics)
                    {
                        if (xts is not null)
                        {
                            AddProduct(r, kXt, xts + (n * stride), w);
                        }

                        AddNormalised(r, kXhat, xs + (n * stride), mean, scale, k0, w);
                    }
                }
            }
        });
    }

    private delegate void BlockBody(int firstChannel, int endChannel, float[] floats, double[] doubles);

    // Cuts the channels into blocks and runs body once per block (blocks in parallel for large tensors) with
    // scratch of floatRows and doubleRows rows of the block's width. `streams` is how many tensors a pass reads,
    // which sizes a block to stay in cache.
    private static void ForBlocks(Layout l, int streams, int floatRows, int doubleRows, BlockBody body)
    {
        bool parallel = l.Channels > 1 && l.PerChannel * l.Channels >= ParallelThreshold && Environment.ProcessorCount > 1;
        long perChannel = l.PerChannel * streams;
        long perBlock = Math.Clamp(BlockFloats / perChannel, 1, l.Channels);
        perBlock = Math.Max(perBlock, Math.Min(l.Channels, (MinimumRow + l.Spatial - 1) / l.Spatial));
        if (parallel)
        {
            long wanted = 2L * Environment.ProcessorCount;
            perBlock = Math.Max(1, Math.Min(perBlock, (l.Channels + wanted - 1) / wanted));
        }

        int channelsPerBlock = (int)perBlock;
        int blocks = (l.Channels + channelsPerBlock - 1) / channelsPerBlock;
        int width = channelsPerBlock * l.Spatial;

        void Run(int block)
        {
            int c0 = block * channelsPerBlock, c1 = Math.Min(l.Channels, c0 + channelsPerBlock);
            float[] floats = ArrayPool<float>.Shared.Rent(Math.Max(1, floatRows * width));
            double[] doubles = ArrayPool<double>.Shared.Rent(Math.Max(1, doubleRows * width));
            try
            {
                body(c0, c1, floats, doubles);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(floats);
                ArrayPool<double>.Shared.Return(doubles);
            }
        }

        if (parallel && blocks > 1)
        {
            Parallel.For(0, blocks, Run);
        }
        else
        {
            for (int b = 0; b < blocks; b++)
            {
                Run(b);
            }
        }
    }

    // Zeroes w float accumulators and their double accumulators.
    private static void Clear(float* acc, double* total, int w)
    {
        new Span<float>(acc, w).Clear();
        new Span<double>(total, w).Clear();
    }

    // After row n, when due (see FlushRows) and after the last row: total += acc, acc = 0.
    private static void FlushIfDue(float* acc, double* total, int w, int n, Layout l)
    {
        if (l.Spatial >= WideRow && (n + 1) % FlushRows != 0 && n != l.Batch - 1)
        {
            return;
        }

        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= w - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                var (lower, upper) = Vector256.Widen(Vector256.Load(acc + j));
                Vector256.Store(Vector256.Load(total + j) + lower, total + j);
                Vector256.Store(Vector256.Load(total + j + Vector256<double>.Count) + upper, total + j + Vector256<double>.Count);
                Vector256.Store(Vector256<float>.Zero, acc + j);
            }
        }

        for (; j < w; j++)
        {
            total[j] += acc[j];
            acc[j] = 0f;
        }
    }

    // The sum of channel i's `spatial` double accumulators.
    private static double ChannelTotal(double* total, int i, int spatial)
    {
        double sum = 0;
        double* t = total + ((long)i * spatial);
        for (int k = 0; k < spatial; k++)
        {
            sum += t[k];
        }

        return sum;
    }

    // Writes value to channel i's `spatial` positions.
    private static void Spread(float* destination, int i, int spatial, float value) =>
        new Span<float>(destination + ((long)i * spatial), spatial).Fill(value);

    // acc += a
    private static void Accumulate(float* acc, float* a, int w)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= w - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                Vector256.Store(Vector256.Load(acc + j) + Vector256.Load(a + j), acc + j);
            }
        }

        for (; j < w; j++)
        {
            acc[j] += a[j];
        }
    }

    // acc += a·b
    private static void AccumulateProduct(float* acc, float* a, float* b, int w)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= w - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                Vector256.Store(Vector256.Load(acc + j) + (Vector256.Load(a + j) * Vector256.Load(b + j)), acc + j);
            }
        }

        for (; j < w; j++)
        {
            acc[j] += a[j] * b[j];
        }
    }

    // acc += a·x̂ with x̂ = (x − mean)·scale rounded to float, the same x̂ the second passes use.
    private static void AccumulateNormalisedProduct(float* acc, float* a, float* x, float* mean, float* scale, int w)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= w - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                var normalised = (Vector256.Load(x + j) - Vector256.Load(mean + j)) * Vector256.Load(scale + j);
                Vector256.Store(Vector256.Load(acc + j) + (Vector256.Load(a + j) * normalised), acc + j);
            }
        }

        for (; j < w; j++)
        {
            acc[j] += a[j] * ((x[j] - mean[j]) * scale[j]);
        }
    }

    // acc += (x − mean)²
    private static void AccumulateSquaredDeviation(float* acc, float* x, float* mean, int w)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= w - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                var centred = Vector256.Load(x + j) - Vector256.Load(mean + j);
                Vector256.Store(Vector256.Load(acc + j) + (centred * centred), acc + j);
            }
        }

        for (; j < w; j++)
        {
            float centred = x[j] - mean[j];
            acc[j] += centred * centred;
        }
    }

    // destination = (x − mean)·scale + shift
    private static void Affine(float* destination, float* x, float* mean, float* scale, float* shift, int w)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= w - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                var centred = Vector256.Load(x + j) - Vector256.Load(mean + j);
                Vector256.Store((centred * Vector256.Load(scale + j)) + Vector256.Load(shift + j), destination + j);
            }
        }

        for (; j < w; j++)
        {
            destination[j] = ((x[j] - mean[j]) * scale[j]) + shift[j];
        }
    }

    // destination = ((x − mean)·scale)·k + k0
    private static void AffineNormalised(float* destination, float* x, float* mean, float* scale, float* k, float* k0, int w)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= w - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                var normalised = (Vector256.Load(x + j) - Vector256.Load(mean + j)) * Vector256.Load(scale + j);
                Vector256.Store((normalised * Vector256.Load(k + j)) + Vector256.Load(k0 + j), destination + j);
            }
        }

        for (; j < w; j++)
        {
            destination[j] = ((x[j] - mean[j]) * scale[j] * k[j]) + k0[j];
        }
    }

    // destination += k·a
    private static void AddProduct(float* destination, float* k, float* a, int w)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= w - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                Vector256.Store(Vector256.Load(destination + j) + (Vector256.Load(k + j) * Vector256.Load(a + j)), destination + j);
            }
        }

        for (; j < w; j++)
        {
            destination[j] += k[j] * a[j];
        }
    }

    // destination += k·((x − mean)·scale) + k0: x̂ rounded to float as it is stored nowhere else.
    private static void AddNormalised(float* destination, float* k, float* x, float* mean, float* scale, float* k0, int w)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= w - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                var normalised = (Vector256.Load(x + j) - Vector256.Load(mean + j)) * Vector256.Load(scale + j);
                Vector256.Store(Vector256.Load(destination + j) + (Vector256.Load(k + j) * normalised) + Vector256.Load(k0 + j), destination + j);
            }
        }

        for (; j < w; j++)
        {
            destination[j] = destination[j] + (k[j] * ((x[j] - mean[j]) * scale[j])) + k0[j];
        }
    }

    private static CpuBuffer Cpu(DeviceBuffer buffer) =>
        buffer as CpuBuffer ?? throw new ArgumentException($"buffer of type {buffer.GetType().Name} was not allocated by the CPU backend");

    private static CpuBuffer? CpuOrNull(DeviceBuffer? buffer) => buffer is null ? null : Cpu(buffer);

    // [batch, channels, spatial] and its per-channel views.
    private readonly record struct Layout(int Batch, int Channels, int Spatial)
    {
        public long PerChannel => (long)Batch * Spatial;

        // Floats from one image's row of a block to the next image's.
        public long RowStride => (long)Channels * Spatial;

        public void Check(DeviceBuffer b, string name)
        {
            if (Batch <= 0 || Channels <= 0 || Spatial <= 0)
            {
                throw new ArgumentException($"batch norm needs positive batch, channels and spatial sizes; got {Batch}, {Channels}, {Spatial}");
            }

            if (b.Length != (long)Batch * Channels * Spatial)
            {
                throw new ArgumentException($"batch norm: {name} has {b.Length} elements; expected {Batch}·{Channels}·{Spatial}");
            }
        }

        public void CheckOptional(DeviceBuffer? b, string name)
        {
            if (b is not null)
            {
                Check(b, name);
            }
        }

        public void CheckChannels(DeviceBuffer b, string name)
        {
            if (b.Length != Channels)
            {
                throw new ArgumentException($"batch norm: {name} has {b.Length} elements; expected {Channels} (one per channel)");
            }
        }

        public void CheckOptionalChannels(DeviceBuffer? b, string name)
        {
            if (b is not null)
            {
                CheckChannels(b, name);
            }
        }

        public void CheckSaved(DeviceBuffer b, string name)
        {
            if (b.Length != 2 * Channels)
            {
                throw new ArgumentException($"batch norm: {name} has {b.Length} elements; expected {2 * Channels} (mean then variance or inverse std per channel)");
            }
        }
    }
}
