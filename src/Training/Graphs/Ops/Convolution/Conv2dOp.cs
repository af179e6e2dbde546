using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs.Ops;

/// <summary>
/// 2-D convolution (cross-correlation, as PyTorch and ONNX): x [N, C, H, W], weight [O, C, kh, kw] and an
/// optional bias [O] give y [N, O, Ho, Wo] with Ho = (H + 2p − kh)/stride + 1 (likewise Wo), zero padding.
/// </summary>
/// <remarks>
/// The rules are written with the backend's whole-convolution calls (<see cref="IConvolutionKernels"/>: im2col and
/// the packed SGEMM on the CPU, cuDNN on the GPU). The op is bilinear in (x, W), so its tangent rules are sums of the
/// same forward and adjoint products.
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
    public override void Forward(OpContext c)
    {
        // y = conv(x, W) + b
        var (g, o, conv) = (Geometry(c), c.Inputs[1].Shape[0], c.Backend.Convolution);
        var y = c.Output.Buffer;
        conv.ConvolutionForward(c.Inputs[0].Buffer, c.Inputs[1].Buffer, g, o, y, beta: 0f);
        if (c.Inputs.Length == 3)
        {
            conv.AddChannelBias(y, g.Batch, o, g.OutputPlane, c.Inputs[2].Buffer);
        }
    }

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        // ẏ = conv(ẋ, W) + conv(x, Ẇ) + ḃ
        var (g, o, conv) = (Geometry(c), c.Inputs[1].Shape[0], c.Backend.Convolution);
        var (x, w, yt) = (c.Inputs[0].Buffer, c.Inputs[1].Buffer, c.OutputTangent!.Value.Buffer);
        var (xt, wt) = (c.InputTangents[0]?.Buffer, c.InputTangents[1]?.Buffer);
        var bt = c.Inputs.Length == 3 ? c.InputTangents[2]?.Buffer : null;
        float beta = 0f;
        if (xt is not null)
        {
            conv.ConvolutionForward(xt, w, g, o, yt, beta);
            beta = 1f;
        }

        if (wt is not null)
        {
            conv.ConvolutionForward(x, wt, g, o, yt, beta);
            beta = 1f;
        }

        if (beta == 0f)
        {
            c.Backend.Fill(yt, 0f);
        }

        if (bt is not null)
        {
            conv.AddChannelBias(yt, g.Batch, o, g.OutputPlane, bt);
        }
    }

    /// <inheritdoc />
    public override void Backward(OpContext c)
    {
        // x̄ += backward_data(ȳ, W);  W̄ += backward_filter(x, ȳ);  b̄ += Σ ȳ over images and pixels
        var (g, o, conv) = (Geometry(c), c.Inputs[1].Shape[0], c.Backend.Convolution);
        var (x, w, dy) = (c.Inputs[0].Buffer, c.Inputs[1].Buffer, c.OutputGradient!.Value.Buffer);
        if (c.InputGradients[0] is { } dx)
        {
            conv.ConvolutionBackwardData(dy, w, g, o, dx.Buffer);
        }

        if (c.InputGradients[1] is { } dw)
        {
            conv.ConvolutionBackwardFilter(x, dy, g, o, dw.Buffer);
        }

        if (c.Inputs.Length == 3 && c.InputGradients[2] is { } db)
        {
            conv.AddChannelSums(dy, g.Batch, o, g.OutputPlane, db.Buffer);
        }
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        // R{x̄} += backward_data(R{ȳ}, W) + backward_data(ȳ, Ẇ)
        // R{W̄} += backward_filter(x, R{ȳ}) + backward_filter(ẋ, ȳ);  R{b̄} += Σ R{ȳ}
        var (g, o, conv) = (Geometry(c), c.Inputs[1].Shape[0], c.Backend.Convolution);
        var (x, w, dy) = (c.Inputs[0].Buffer, c.Inputs[1].Buffer, c.OutputGradient!.Value.Buffer);
        var (xt, wt) = (c.InputTangents[0]?.Buffer, c.InputTangents[1]?.Buffer);
        var rdy = c.OutputGradientTangent?.Buffer;
        if (c.InputGradientTangents[0] is { } dxt)
        {
            if (rdy is not null)
            {
                conv.ConvolutionBackwardData(rdy, w, g, o, dxt.Buffer);
            }

            if (wt is not null)
            {
                conv.ConvolutionBackwardData(dy, wt, g, o, dxt.Buffer);
            }
        }

        if (c.InputGradientTangents[1] is { } dwt)
        {
            if (rdy is not null)
            {
                conv.ConvolutionBackwardFilter(x, rdy, g, o, dwt.Buffer);
            }

            if (xt is not null)
            {
                conv.ConvolutionBackwardFilter(xt, dy, g, o, dwt.Buffer);
            }
        }

        if (c.Inputs.Length == 3 && c.InputGradientTangents[2] is { } dbt && rdy is not null)
        {
            conv.AddChannelSums(rdy, g.Batch, o, g.OutputPlane, dbt.Buffer);
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
