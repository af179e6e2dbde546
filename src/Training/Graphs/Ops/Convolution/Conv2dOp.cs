using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs.Ops;

/// <summary>
/// 2-D convolution (cross-correlation, as PyTorch and ONNX): x [N, C, H, W], weight [O, C, kh, kw] and an
/// optional bias [O] give y [N, O, Ho, Wo] with Ho = (H + 2p − kh)/stride + 1 (likewise Wo), zero padding.
/// </summary>
/// <remarks>
/// Computed as im2col of the whole batch (a [C·kh·kw, N·Ho·Wo] matrix in the shared scratch), one GEMM
/// W·col giving [O, N, Ho·Wo], and a transpose to NCHW that also adds the bias. The op is bilinear in (x, W),
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

    /// <inheritdoc />
    public override int ScratchSize(IReadOnlyList<int[]> inputShapes)
    {
        // The im2col matrix [C·kh·kw, N·P] followed by a channel-major output or adjoint [O, N·P].
        var g = Geometry(inputShapes);
        long size = ((long)g.ColumnRows + inputShapes[1][0]) * g.ColumnCount;
        return size <= int.MaxValue
            ? (int)size
            : throw ShapeError($"the im2col matrix of {size} elements is too large; use a smaller batch");
    }

    private static (DeviceBuffer Columns, DeviceBuffer ChannelMajor) Split(OpContext c, ConvolutionGeometry g, int outChannels)
    {
        var scratch = c.Scratch ?? throw new InvalidOperationException("Conv2d needs scratch memory (ScratchSize) but the context has none");
        int columns = g.ColumnRows * g.ColumnCount;
        return (scratch.Slice(0, columns), scratch.Slice(columns, outChannels * g.ColumnCount));
    }

    /// <inheritdoc />
    public override void Forward(OpContext c)
    {
        var g = Geometry(c);
        var (x, w) = (c.Inputs[0], c.Inputs[1]);
        int o = w.Shape[0];
        var (col, ym) = Split(c, g, o);
        var conv = c.Backend.Convolution;
        conv.Im2Col(x.Buffer, g, col);
        c.Backend.Gemm(false, false, o, g.ColumnCount, g.ColumnRows, 1f, w.Buffer, col, 0f, ym);
        conv.ChannelMajorToBatchMajor(ym, g.Batch, o, g.OutputPlane, c.Inputs.Length == 3 ? c.Inputs[2].Buffer : null, c.Output.Buffer);
    }

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        // ẏ = conv(ẋ, W) + conv(x, Ẇ) + ḃ
        var g = Geometry(c);
        var (x, w) = (c.Inputs[0], c.Inputs[1]);
        int o = w.Shape[0];
        var (col, ym) = Split(c, g, o);
        var conv = c.Backend.Convolution;
        float beta = 0f;
        if (c.InputTangents[0] is { } xt)
        {
            conv.Im2Col(xt.Buffer, g, col);
            c.Backend.Gemm(false, false, o, g.ColumnCount, g.ColumnRows, 1f, w.Buffer, col, beta, ym);
            beta = 1f;
        }

        if (c.InputTangents[1] is { } wt)
        {
            conv.Im2Col(x.Buffer, g, col);
            c.Backend.Gemm(false, false, o, g.ColumnCount, g.ColumnRows, 1f, wt.Buffer, col, beta, ym);
            beta = 1f;
        }

        if (beta == 0f)
        {
            c.Backend.Fill(ym, 0f);
        }

        var bt = c.Inputs.Length == 3 ? c.InputTangents[2] : null;
        conv.ChannelMajorToBatchMajor(ym, g.Batch, o, g.OutputPlane, bt?.Buffer, c.OutputTangent!.Value.Buffer);
    }

    /// <inheritdoc />
    public override void Backward(OpContext c)
    {
        // x̄ += col2im(Wᵀ·Ȳ);  W̄ += Ȳ·colᵀ;  b̄ += Σ ȳ over images and pixels (Ȳ: ȳ channel-major)
        Accumulate(c, c.OutputGradient!.Value.Buffer, c.Inputs[1].Buffer, c.Inputs[0].Buffer,
            c.InputGradients[0]?.Buffer, c.InputGradients[1]?.Buffer, c.Inputs.Length == 3 ? c.InputGradients[2]?.Buffer : null);
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        // R{x̄} += backward_data(R{ȳ}, W) + backward_data(ȳ, Ẇ)
        // R{W̄} += backward_filter(R{ȳ}, x) + backward_filter(ȳ, ẋ);  R{b̄} += Σ R{ȳ}
        var dxt = c.InputGradientTangents[0]?.Buffer;
        var dwt = c.InputGradientTangents[1]?.Buffer;
        var dbt = c.Inputs.Length == 3 ? c.InputGradientTangents[2]?.Buffer : null;
        var xt = c.InputTangents[0]?.Buffer;
        var wt = c.InputTangents[1]?.Buffer;
        var g = Geometry(c);
        int o = c.Inputs[1].Shape[0];
        var (col, ym) = Split(c, g, o);
        var conv = c.Backend.Convolution;
        bool pendingColumns = false;
        if (c.OutputGradientTangent is { } rdy)
        {
            conv.BatchMajorToChannelMajor(rdy.Buffer, g.Batch, o, g.OutputPlane, ym);
            if (dwt is not null)
            {
                conv.Im2Col(c.Inputs[0].Buffer, g, col);
                c.Backend.Gemm(false, true, o, g.ColumnRows, g.ColumnCount, 1f, ym, col, 1f, dwt);
            }

            if (dxt is not null)
            {
                c.Backend.Gemm(true, false, g.ColumnRows, g.ColumnCount, o, 1f, c.Inputs[1].Buffer, ym, 0f, col);
                pendingColumns = true;
            }

            if (dbt is not null)
            {
                conv.AddChannelSums(rdy.Buffer, g.Batch, o, g.OutputPlane, dbt);
            }
        }

        bool needsAdjoint = (dxt is not null && wt is not null) || (dwt is not null && xt is not null);
        if (needsAdjoint)
        {
            conv.BatchMajorToChannelMajor(c.OutputGradient!.Value.Buffer, g.Batch, o, g.OutputPlane, ym);
            if (dxt is not null && wt is not null)
            {
                c.Backend.Gemm(true, false, g.ColumnRows, g.ColumnCount, o, 1f, wt, ym, pendingColumns ? 1f : 0f, col);
                pendingColumns = true;
            }
        }

        if (pendingColumns)
        {
            conv.Col2Im(col, g, dxt!);
        }

        if (needsAdjoint && dwt is not null && xt is not null)
        {
            conv.Im2Col(xt, g, col);
            c.Backend.Gemm(false, true, o, g.ColumnRows, g.ColumnCount, 1f, ym, col, 1f, dwt);
        }
    }

    // Accumulates the adjoints of x, W and b for the output adjoint dy with weight w and input x (any target may be null).
    private void Accumulate(OpContext c, DeviceBuffer dy, DeviceBuffer w, DeviceBuffer x, DeviceBuffer? dx, DeviceBuffer? dw, DeviceBuffer? db)
    {
        var g = Geometry(c);
        int o = c.Inputs[1].Shape[0];
        var (col, ym) = Split(c, g, o);
        var conv = c.Backend.Convolution;
        if (db is not null)
        {
            conv.AddChannelSums(dy, g.Batch, o, g.OutputPlane, db);
        }

        if (dx is null && dw is null)
        {
            return;
        }

        conv.BatchMajorToChannelMajor(dy, g.Batch, o, g.OutputPlane, ym);
        if (dw is not null)
        {
            conv.Im2Col(x, g, col);
            c.Backend.Gemm(false, true, o, g.ColumnRows, g.ColumnCount, 1f, ym, col, 1f, dw);
        }

        if (dx is not null)
        {
            c.Backend.Gemm(true, false, g.ColumnRows, g.ColumnCount, o, 1f, w, ym, 0f, col);
            conv.Col2Im(col, g, dx);
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
