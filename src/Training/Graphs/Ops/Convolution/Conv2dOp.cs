using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs.Ops;

/// <summary>
/// 2-D convolution (cross-correlation, as PyTorch and ONNX): x [N, C, H, W], weight [O, C, kh, kw] and an
/// optional bias [O] give y [N, O, Ho, Wo] with Ho = (H + 2p − kh)/stride + 1 (likewise Wo), zero padding.
/// </summary>
/// <remarks>
/// Computed a cache-sized chunk of n images at a time: im2col (a [C·kh·kw, n·Ho·Wo] matrix in the shared
/// scratch), one GEMM W·col giving [O, n, Ho·Wo], and a transpose to NCHW that also adds the bias. The op is bilinear in (x, W),
/// so its tangent rules are sums of the same forward and backward products.
/// </remarks>
public sealed class Conv2dOp : Op
{
    /// <summary>Creates a convolution with the given stride (≥ 1) and zero padding on each side (≥ 0).</summary>
    public Conv2dOp(int stride, int padding)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        Stride = stride;
        Padding = padding;
    }

    /// <summary>Step between windows, in both directions.</summary>
    public int Stride { get; }

    /// <summary>Zero padding on each of the four sides.</summary>
    public int Padding { get; }

    /// <summary>Kernel height and width, known once a graph node has inferred its shape (0 before).</summary>
    public (int Height, int Width) KernelSize { get; private set; }

    /// <inheritdoc />
    public override string Type => "Conv2d";

    /// <inheritdoc />
    public override int[] InferShape(IReadOnlyList<int[]> s)
    {
        if (s.Count is not (2 or 3) || s[0].Length != 4 || s[1].Length != 4 || (s.Count == 3 && s[2].Length != 1))
        {
            throw ShapeError("expects x [N, C, H, W], weight [O, C, kh, kw] and optionally bias [O]");
        }

        int[] x = s[0], w = s[1];
        if (x[1] != w[1])
        {
            throw ShapeError($"x has {x[1]} channels but the weight [{string.Join(", ", w)}] expects {w[1]}");
        }

        if (s.Count == 3 && s[2][0] != w[0])
        {
            throw ShapeError($"bias has {s[2][0]} elements but the weight has {w[0]} output channels");
        }

        if (x[1] <= 0 || x[2] <= 0 || x[3] <= 0 || w[0] <= 0 || w[2] <= 0 || w[3] <= 0)
        {
            throw ShapeError($"sizes must be positive: x [{string.Join(", ", x)}], weight [{string.Join(", ", w)}]");
        }

        if (x[2] + (2 * Padding) < w[2] || x[3] + (2 * Padding) < w[3])
        {
            throw ShapeError($"a {w[2]}×{w[3]} kernel does not fit a {x[2]}×{x[3]} input with padding {Padding}");
        }

        KernelSize = (w[2], w[3]);
        var g = Geometry(s);
        return [x[0], w[0], g.OutputHeight, g.OutputWidth];
    }

    private ConvolutionGeometry Geometry(IReadOnlyList<int[]> s) =>
        new(s[0][0], s[0][1], s[0][2], s[0][3], s[1][2], s[1][3], Stride, Padding);

    private ConvolutionGeometry Geometry(OpContext c) =>
        Geometry([c.Inputs[0].Shape, c.Inputs[1].Shape]);

    // Images per im2col chunk: the batch is convolved a few images at a time so that the im2col matrix and
    // the product stay in cache between im2col, GEMM and transpose (a whole-batch im2col matrix of a ResNet
    // layer is hundreds of MB and makes every step wait on memory).
    private const int ChunkElements = 1 << 21;

    private static int ImagesPerChunk(ConvolutionGeometry g) =>
        Math.Clamp(ChunkElements / Math.Max(1, g.ColumnRows * g.OutputPlane), 1, Math.Max(1, g.Batch));

    /// <inheritdoc />
    public override int ScratchSize(IReadOnlyList<int[]> inputShapes)
    {
        // One chunk's im2col matrix [C·kh·kw, n·P], its channel-major output or adjoint [O, n·P], and a
        // transposed weight gradient [C·kh·kw, O].
        var g = Geometry(inputShapes);
        int o = inputShapes[1][0];
        long columns = (long)ImagesPerChunk(g) * g.OutputPlane;
        long size = ((g.ColumnRows + (long)o) * columns) + ((long)g.ColumnRows * o);
        return size <= int.MaxValue
            ? (int)size
            : throw ShapeError($"the im2col matrix of {size} elements is too large for one image");
    }

    /// <summary>One chunk of images: its geometry, where its images start, and its scratch matrices.</summary>
    private readonly record struct Chunk(ConvolutionGeometry Geometry, int First, DeviceBuffer Columns, DeviceBuffer ChannelMajor)
    {
        public int Count => Geometry.ColumnCount;

        public int Rows => Geometry.ColumnRows;

        // This chunk's images within a batch-major buffer of images of `imageSize` elements.
        public DeviceBuffer Of(DeviceBuffer batch, int imageSize) => batch.Slice(First * imageSize, Geometry.Batch * imageSize);
    }

    private static Chunk[] Chunks(OpContext c, ConvolutionGeometry g, int outChannels)
    {
        var scratch = c.Scratch ?? throw new InvalidOperationException("Conv2d needs scratch memory (ScratchSize) but the context has none");
        int per = ImagesPerChunk(g);
        var chunks = new Chunk[(g.Batch + per - 1) / per];
        for (int i = 0; i < chunks.Length; i++)
        {
            var part = g with { Batch = Math.Min(per, g.Batch - (i * per)) };
            int columns = part.ColumnRows * part.ColumnCount;
            chunks[i] = new Chunk(part, i * per, scratch.Slice(0, columns), scratch.Slice(columns, outChannels * part.ColumnCount));
        }

        return chunks;
    }

    // The transposed weight-gradient accumulator [C·kh·kw, O], after the largest chunk's matrices.
    private static DeviceBuffer FilterScratch(OpContext c, ConvolutionGeometry g, int outChannels)
    {
        long columns = (long)ImagesPerChunk(g) * g.OutputPlane;
        int start = (int)((g.ColumnRows + (long)outChannels) * columns);
        return c.Scratch!.Slice(start, g.ColumnRows * outChannels);
    }

    /// <inheritdoc />
    public override void Forward(OpContext c)
    {
        var g = Geometry(c);
        var (x, w) = (c.Inputs[0], c.Inputs[1]);
        int o = w.Shape[0], inImage = g.Channels * g.InputPlane, outImage = o * g.OutputPlane;
        var conv = c.Backend.Convolution;
        var bias = c.Inputs.Length == 3 ? c.Inputs[2].Buffer : null;
        foreach (var k in Chunks(c, g, o))
        {
            conv.Im2Col(k.Of(x.Buffer, inImage), k.Geometry, k.Columns);
            c.Backend.Gemm(false, false, o, k.Count, k.Rows, 1f, w.Buffer, k.Columns, 0f, k.ChannelMajor);
            conv.ChannelMajorToBatchMajor(k.ChannelMajor, k.Geometry.Batch, o, g.OutputPlane, bias, k.Of(c.Output.Buffer, outImage));
        }
    }

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        // ẏ = conv(ẋ, W) + conv(x, Ẇ) + ḃ
        var g = Geometry(c);
        var (x, w) = (c.Inputs[0], c.Inputs[1]);
        int o = w.Shape[0], inImage = g.Channels * g.InputPlane, outImage = o * g.OutputPlane;
        var conv = c.Backend.Convolution;
        var (xt, wt) = (c.InputTangents[0]?.Buffer, c.InputTangents[1]?.Buffer);
        var bt = c.Inputs.Length == 3 ? c.InputTangents[2]?.Buffer : null;
        foreach (var k in Chunks(c, g, o))
        {
            float beta = 0f;
            if (xt is not null)
            {
                conv.Im2Col(k.Of(xt, inImage), k.Geometry, k.Columns);
                c.Backend.Gemm(false, false, o, k.Count, k.Rows, 1f, w.Buffer, k.Columns, beta, k.ChannelMajor);
                beta = 1f;
            }

            if (wt is not null)
            {
                conv.Im2Col(k.Of(x.Buffer, inImage), k.Geometry, k.Columns);
                c.Backend.Gemm(false, false, o, k.Count, k.Rows, 1f, wt, k.Columns, beta, k.ChannelMajor);
                beta = 1f;
            }

            if (beta == 0f)
            {
                c.Backend.Fill(k.ChannelMajor, 0f);
            }

            conv.ChannelMajorToBatchMajor(k.ChannelMajor, k.Geometry.Batch, o, g.OutputPlane, bt, k.Of(c.OutputTangent!.Value.Buffer, outImage));
        }
    }

    /// <inheritdoc />
    public override void Backward(OpContext c)
    {
        // x̄ += col2im(Wᵀ·Ȳ);  W̄ += Ȳ·colᵀ;  b̄ += Σ ȳ over images and pixels (Ȳ: ȳ channel-major)
        var g = Geometry(c);
        var (x, w, dy) = (c.Inputs[0], c.Inputs[1], c.OutputGradient!.Value.Buffer);
        int o = w.Shape[0], inImage = g.Channels * g.InputPlane, outImage = o * g.OutputPlane;
        var conv = c.Backend.Convolution;
        var (dx, dw) = (c.InputGradients[0]?.Buffer, c.InputGradients[1]?.Buffer);
        if (c.Inputs.Length == 3 && c.InputGradients[2] is { } db)
        {
            conv.AddChannelSums(dy, g.Batch, o, g.OutputPlane, db.Buffer);
        }

        if (dx is null && dw is null)
        {
            return;
        }

        var filter = dw is null ? null : FilterScratch(c, g, o);
        float filterBeta = 0f;
        foreach (var k in Chunks(c, g, o))
        {
            conv.BatchMajorToChannelMajor(k.Of(dy, outImage), k.Geometry.Batch, o, g.OutputPlane, k.ChannelMajor);
            if (filter is not null)
            {
                conv.Im2Col(k.Of(x.Buffer, inImage), k.Geometry, k.Columns);
                c.Backend.Gemm(false, true, k.Rows, o, k.Count, 1f, k.Columns, k.ChannelMajor, filterBeta, filter);
                filterBeta = 1f;
            }

            if (dx is not null)
            {
                c.Backend.Gemm(true, false, k.Rows, k.Count, o, 1f, w.Buffer, k.ChannelMajor, 0f, k.Columns);
                conv.Col2Im(k.Columns, k.Geometry, k.Of(dx, inImage));
            }
        }

        if (filter is not null)
        {
            conv.AddTransposed(filter, g.ColumnRows, o, dw!);
        }
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        // R{x̄} += backward_data(R{ȳ}, W) + backward_data(ȳ, Ẇ)
        // R{W̄} += backward_filter(R{ȳ}, x) + backward_filter(ȳ, ẋ);  R{b̄} += Σ R{ȳ}
        var g = Geometry(c);
        var (x, w, dy) = (c.Inputs[0].Buffer, c.Inputs[1].Buffer, c.OutputGradient!.Value.Buffer);
        int o = c.Inputs[1].Shape[0], inImage = g.Channels * g.InputPlane, outImage = o * g.OutputPlane;
        var conv = c.Backend.Convolution;
        var (dxt, dwt) = (c.InputGradientTangents[0]?.Buffer, c.InputGradientTangents[1]?.Buffer);
        var (xt, wt) = (c.InputTangents[0]?.Buffer, c.InputTangents[1]?.Buffer);
        var rdy = c.OutputGradientTangent?.Buffer;
        if (c.Inputs.Length == 3 && c.InputGradientTangents[2] is { } dbt && rdy is not null)
        {
            conv.AddChannelSums(rdy, g.Batch, o, g.OutputPlane, dbt.Buffer);
        }

        bool filterFromR = dwt is not null && rdy is not null;
        bool filterFromTangent = dwt is not null && xt is not null;
        bool dataFromR = dxt is not null && rdy is not null;
        bool dataFromTangent = dxt is not null && wt is not null;
        var filter = filterFromR || filterFromTangent ? FilterScratch(c, g, o) : null;
        float filterBeta = 0f;
        foreach (var k in Chunks(c, g, o))
        {
            bool pendingColumns = false;
            if (filterFromR || dataFromR)
            {
                conv.BatchMajorToChannelMajor(k.Of(rdy!, outImage), k.Geometry.Batch, o, g.OutputPlane, k.ChannelMajor);
                if (filterFromR)
                {
                    conv.Im2Col(k.Of(x, inImage), k.Geometry, k.Columns);
                    c.Backend.Gemm(false, true, k.Rows, o, k.Count, 1f, k.Columns, k.ChannelMajor, filterBeta, filter!);
                    filterBeta = 1f;
                }

                if (dataFromR)
                {
                    c.Backend.Gemm(true, false, k.Rows, k.Count, o, 1f, w, k.ChannelMajor, 0f, k.Columns);
                    pendingColumns = true;
                }
            }

            if (dataFromTangent || filterFromTangent)
            {
                conv.BatchMajorToChannelMajor(k.Of(dy, outImage), k.Geometry.Batch, o, g.OutputPlane, k.ChannelMajor);
                if (dataFromTangent)
                {
                    c.Backend.Gemm(true, false, k.Rows, k.Count, o, 1f, wt!, k.ChannelMajor, pendingColumns ? 1f : 0f, k.Columns);
                    pendingColumns = true;
                }
            }

            if (pendingColumns)
            {
                conv.Col2Im(k.Columns, k.Geometry, k.Of(dxt!, inImage));
            }

            if (filterFromTangent)
            {
                conv.Im2Col(k.Of(xt!, inImage), k.Geometry, k.Columns);
                c.Backend.Gemm(false, true, k.Rows, o, k.Count, 1f, k.Columns, k.ChannelMajor, filterBeta, filter!);
                filterBeta = 1f;
            }
        }

        if (filter is not null)
        {
            conv.AddTransposed(filter, g.ColumnRows, o, dwt!);
        }
    }

    /// <inheritdoc />
    public override string ToOnnx(IOnnxEmitter emitter, IReadOnlyList<string> inputs)
    {
        var attributes = new List<(string, object)>();
        if (KernelSize.Height > 0)
        {
            attributes.Add(("kernel_shape", new long[] { KernelSize.Height, KernelSize.Width }));
        }

        attributes.Add(("strides", new long[] { Stride, Stride }));
        attributes.Add(("pads", new long[] { Padding, Padding, Padding, Padding }));
        return emitter.AddNode("Conv", inputs, [.. attributes]);
    }

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes)
    {
        double[] x = inputs[0], w = inputs[1];
        double[]? b = inputs.Count == 3 ? inputs[2] : null;
        int n = shapes[0][0], ch = shapes[0][1], h = shapes[0][2], wd = shapes[0][3];
        int o = shapes[1][0], kh = shapes[1][2], kw = shapes[1][3];
        int ho = ((h + (2 * Padding) - kh) / Stride) + 1, wo = ((wd + (2 * Padding) - kw) / Stride) + 1;
        var y = new double[n * o * ho * wo];
        for (int img = 0; img < n; img++)
        {
            for (int oc = 0; oc < o; oc++)
            {
                for (int oy = 0; oy < ho; oy++)
                {
                    for (int ox = 0; ox < wo; ox++)
                    {
                        double sum = b is null ? 0 : b[oc];
                        for (int ic = 0; ic < ch; ic++)
                        {
                            for (int i = 0; i < kh; i++)
                            {
                                int iy = (oy * Stride) + i - Padding;
                                if (iy < 0 || iy >= h)
                                {
                                    continue;
                                }

                                for (int j = 0; j < kw; j++)
                                {
                                    int ix = (ox * Stride) + j - Padding;
                                    if (ix >= 0 && ix < wd)
                                    {
                                        sum += x[(((((img * ch) + ic) * h) + iy) * wd) + ix] * w[(((((oc * ch) + ic) * kh) + i) * kw) + j];
                                    }
                                }
                            }
                        }

                        y[(((((img * o) + oc) * ho) + oy) * wo) + ox] = sum;
                    }
                }
            }
        }

        return y;
    }
}
