using System.Buffers;
using System.Numerics.Tensors;
using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>
/// The normalisation family (batch norm) on the CPU. Every kernel works one channel at a time (channels in
/// parallel for large tensors): a channel is <c>batch</c> rows of <c>spatial</c> contiguous elements, reduced
/// with <see cref="TensorPrimitives"/> per row and accumulated across rows in double precision. x̂ is recomputed
/// from x and the saved (μ, s) rather than stored, so the workspace is only 2·channels floats.
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
/// </remarks>
internal sealed class CpuNormalisation : INormalisationKernels
{
    // Below this many elements a tensor is normalised on the calling thread.
    private const long ParallelThreshold = 1L << 15;

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
        ForChannels(l, (c, row) =>
        {
            Span<float> xs = cx.Span, ys = cy.Span;
            double sum = 0;
            for (int n = 0; n < batch; n++)
            {
                sum += TensorPrimitives.Sum(l.Row(xs, n, c));
            }

            float mean = (float)(sum / m);
            double squares = 0;
            for (int n = 0; n < batch; n++)
            {
                TensorPrimitives.Subtract(l.Row(xs, n, c), mean, row);
                squares += TensorPrimitives.SumOfSquares(row);
            }

            double variance = squares / m;
            double inverseStd = 1.0 / Math.Sqrt(variance + epsilon);
            float scale = (float)(cg.Span[c] * inverseStd), shift = cb.Span[c];
            for (int n = 0; n < batch; n++)
            {
                var yr = l.Row(ys, n, c);
                TensorPrimitives.Subtract(l.Row(xs, n, c), mean, yr);
                TensorPrimitives.Multiply(yr, scale, yr);
                TensorPrimitives.Add(yr, shift, yr);
            }

            cs.Span[c] = mean;
            cs.Span[channels + c] = (float)inverseStd;
            if (cr is not null)
            {
                // PyTorch's running variance is the unbiased estimate (M / (M − 1) times the biased one).
                var r = cr.Span;
                double unbiased = m > 1 ? variance * m / (m - 1) : variance;
                r[c] = (float)(((1.0 - momentum) * r[c]) + (momentum * (sum / m)));
                r[channels + c] = (float)(((1.0 - momentum) * r[channels + c]) + (momentum * unbiased));
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
        ForChannels(l, (c, _) =>
        {
            Span<float> xs = cx.Span, ys = cy.Span, r = cr.Span;
            float mean = r[c];
            double inverseStd = 1.0 / Math.Sqrt(r[channels + c] + (double)epsilon);
            float scale = (float)(cg.Span[c] * inverseStd), shift = cb.Span[c];
            for (int n = 0; n < batch; n++)
            {
                var yr = l.Row(ys, n, c);
                TensorPrimitives.Subtract(l.Row(xs, n, c), mean, yr);
                TensorPrimitives.Multiply(yr, scale, yr);
                TensorPrimitives.Add(yr, shift, yr);
            }

            cs.Span[c] = mean;
            cs.Span[channels + c] = (float)inverseStd;
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
        ForChannels(l, (c, row) =>
        {
            Span<float> xs = cx.Span, yts = cyt.Span;
            float mean = cs.Span[c], s = cs.Span[channels + c];
            double gs = (double)cg.Span[c] * s;
            double q = 0, p = 0;
            if (batchStatistics && cxt is not null)
            {
                var xts = cxt.Span;
                for (int n = 0; n < batch; n++)
                {
                    var xtr = l.Row(xts, n, c);
                    Normalise(l.Row(xs, n, c), mean, s, row);
                    q += TensorPrimitives.Sum(xtr);
                    p += TensorPrimitives.Dot(row, xtr);
                }

                q /= m;
                p /= m;
            }

            // ẏ = x̂·(γ̇ − γs·P) + γs·ẋ + (β̇ − γs·Q)
            float a = (float)((cgt?.Span[c] ?? 0f) - (gs * p));
            float b = (float)((cbt?.Span[c] ?? 0f) - (gs * q));
            for (int n = 0; n < batch; n++)
            {
                var ytr = l.Row(yts, n, c);
                Normalise(l.Row(xs, n, c), mean, s, row);
                TensorPrimitives.Multiply(row, a, ytr);
                TensorPrimitives.Add(ytr, b, ytr);
                if (cxt is not null)
                {
                    TensorPrimitives.MultiplyAdd(l.Row(cxt.Span, n, c), (float)gs, ytr, ytr);
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
        ForChannels(l, (c, row) =>
        {
            Span<float> xs = cx.Span, gs = cdy.Span;
            float mean = cs.Span[c], s = cs.Span[channels + c];
            bool needGx = cdg is not null || (cdx is not null && batchStatistics);
            double sumG = 0, sumGx = 0;
            for (int n = 0; n < batch; n++)
            {
                var gr = l.Row(gs, n, c);
                sumG += TensorPrimitives.Sum(gr);
                if (needGx)
                {
                    Normalise(l.Row(xs, n, c), mean, s, row);
                    sumGx += TensorPrimitives.Dot(gr, row);
                }
            }

            if (cdb is not null)
            {
                cdb.Span[c] += (float)sumG;
            }

            if (cdg is not null)
            {
                cdg.Span[c] += (float)sumGx;
            }

            if (cdx is null)
            {
                return;
            }

            // dx += γs·g − γs·B·x̂ − γs·A (the last two only through batch statistics)
            double k = (double)cg.Span[c] * s;
            float kx = batchStatistics ? (float)(-k * sumGx / m) : 0f;
            float k0 = batchStatistics ? (float)(-k * sumG / m) : 0f;
            var dxs = cdx.Span;
            for (int n = 0; n < batch; n++)
            {
                var dxr = l.Row(dxs, n, c);
                TensorPrimitives.MultiplyAdd(l.Row(gs, n, c), (float)k, dxr, dxr);
                if (batchStatistics)
                {
                    Normalise(l.Row(xs, n, c), mean, s, row);
                    TensorPrimitives.MultiplyAdd(row, kx, dxr, dxr);
                    TensorPrimitives.Add(dxr, k0, dxr);
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
        ForChannels(l, (c, row) =>
        {
            Span<float> xs = cx.Span, gs = cdy.Span;
            float mean = cs.Span[c];
            double s = cs.Span[channels + c];

            // One pass for every channel sum the rule needs (x̂ recomputed per row into `row`).
            double sumXt = 0, sumXhatXt = 0, sumG = 0, sumGXhat = 0, sumGt = 0, sumGtXhat = 0, sumGXt = 0;
            for (int n = 0; n < batch; n++)
            {
                Normalise(l.Row(xs, n, c), mean, (float)s, row);
                var gr = l.Row(gs, n, c);
                sumG += TensorPrimitives.Sum(gr);
                sumGXhat += TensorPrimitives.Dot(gr, row);
                if (cxt is not null)
                {
                    var xtr = l.Row(cxt.Span, n, c);
                    sumXt += TensorPrimitives.Sum(xtr);
                    sumXhatXt += TensorPrimitives.Dot(row, xtr);
                    sumGXt += TensorPrimitives.Dot(gr, xtr);
                }

                if (cdyt is not null)
                {
                    var gtr = l.Row(cdyt.Span, n, c);
                    sumGt += TensorPrimitives.Sum(gtr);
                    sumGtXhat += TensorPrimitives.Dot(gtr, row);
                }
            }

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

            if (cdxt is null)
            {
                return;
            }

            double gamma = cg.Span[c], gammaDot = cgt?.Span[c] ?? 0f;
            double gsc = gamma * s;
            float kG, kGt = (float)gsc, kXt, kXhat, k0;
            if (batchStatistics)
            {
                // R{γs} = γ̇s + γṡ with ṡ = −s²P; see the class remarks for the expansion into these coefficients.
                double k1 = (gammaDot * s) - (gsc * s * p);
                kG = (float)k1;
                kXt = (float)(-gsc * s * b);
                kXhat = (float)((-k1 * b) + (gsc * s * b * p) - (gsc * bDot));
                k0 = (float)((-k1 * a) - (gsc * aDot) + (gsc * s * b * q));
            }
            else
            {
                kG = (float)(gammaDot * s);
                kXt = kXhat = k0 = 0f;
            }

            var dxts = cdxt.Span;
            for (int n = 0; n < batch; n++)
            {
                var r = l.Row(dxts, n, c);
                if (kG != 0f)
                {
                    TensorPrimitives.MultiplyAdd(l.Row(gs, n, c), kG, r, r);
                }

                if (cdyt is not null)
                {
                    TensorPrimitives.MultiplyAdd(l.Row(cdyt.Span, n, c), kGt, r, r);
                }

                if (batchStatistics)
                {
                    if (cxt is not null)
                    {
                        TensorPrimitives.MultiplyAdd(l.Row(cxt.Span, n, c), kXt, r, r);
                    }

                    Normalise(l.Row(xs, n, c), mean, (float)s, row);
                    TensorPrimitives.MultiplyAdd(row, kXhat, r, r);
                    TensorPrimitives.Add(r, k0, r);
                }
            }
        });
    }

    // x̂ = (x − μ)·s for one row.
    private static void Normalise(ReadOnlySpan<float> x, float mean, float inverseStd, Span<float> destination)
    {
        TensorPrimitives.Subtract(x, mean, destination);
        TensorPrimitives.Multiply(destination, inverseStd, destination);
    }

    private delegate void ChannelBody(int channel, Span<float> row);

    // Runs body once per channel with a private row buffer of `spatial` floats; channels in parallel when large.
    private static void ForChannels(Layout l, ChannelBody body)
    {
        void Run(int c)
        {
            float[] rented = ArrayPool<float>.Shared.Rent(l.Spatial);
            try
            {
                body(c, rented.AsSpan(0, l.Spatial));
            }
            finally
            {
                ArrayPool<float>.Shared.Return(rented);
            }
        }

        if (l.Channels > 1 && (long)l.PerChannel * l.Channels >= ParallelThreshold && Environment.ProcessorCount > 1)
        {
            Parallel.For(0, l.Channels, Run);
        }
        else
        {
            for (int c = 0; c < l.Channels; c++)
            {
                Run(c);
            }
        }
    }

    private static CpuBuffer Cpu(DeviceBuffer buffer) =>
        buffer as CpuBuffer ?? throw new ArgumentException($"buffer of type {buffer.GetType().Name} was not allocated by the CPU backend");

    private static CpuBuffer? CpuOrNull(DeviceBuffer? buffer) => buffer is null ? null : Cpu(buffer);

    // [batch, channels, spatial] and its per-channel views.
    private readonly record struct Layout(int Batch, int Channels, int Spatial)
    {
        public long PerChannel => (long)Batch * Spatial;

        public Span<float> Row(Span<float> data, int n, int c) => data.Slice(((n * Channels) + c) * Spatial, Spatial);

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
