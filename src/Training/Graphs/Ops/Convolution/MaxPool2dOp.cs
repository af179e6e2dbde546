using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs.Ops;

/// <summary>
/// 2-D max pooling of x [N, C, H, W] into [N, C, Ho, Wo], Ho = (H + 2p − k)/stride + 1, padding acting as −∞;
/// among equal maxima the first in row-major window order wins (as PyTorch). Forward records each winner; for
/// fixed winners the op is linear, so the other three rules are a gather and two scatters.
/// </summary>
public sealed class MaxPool2dOp : Op
{
    /// <summary>Creates a k×k max pool with the given stride and padding (at most half the kernel, as PyTorch).</summary>
    public MaxPool2dOp(int kernel, int stride, int padding)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(kernel, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        if (padding > kernel / 2)
        {
            throw new ArgumentOutOfRangeException(nameof(padding), padding, $"padding must be at most half the kernel size ({kernel / 2})");
        }

        Kernel = kernel;
        Stride = stride;
        Padding = padding;
    }

    /// <summary>Window height and width.</summary>
    public int Kernel { get; }

    /// <summary>Step between windows, in both directions.</summary>
    public int Stride { get; }

    /// <summary>Padding (−∞) on each of the four sides.</summary>
    public int Padding { get; }

    /// <inheritdoc />
    public override string Type => "MaxPool2d";

    /// <inheritdoc />
    public override int[] InferShape(IReadOnlyList<int[]> s)
    {
        if (s.Count != 1 || s[0].Length != 4)
        {
            throw ShapeError("expects one input x [N, C, H, W]");
        }

        int[] x = s[0];
        if (x[1] <= 0 || x[2] <= 0 || x[3] <= 0)
        {
            throw ShapeError($"sizes must be positive: x [{string.Join(", ", x)}]");
        }

        if (x[2] + (2 * Padding) < Kernel || x[3] + (2 * Padding) < Kernel)
        {
            throw ShapeError($"a {Kernel}×{Kernel} window does not fit a {x[2]}×{x[3]} input with padding {Padding}");
        }

        var g = Geometry(x);
        return [x[0], x[1], g.OutputHeight, g.OutputWidth];
    }

    private ConvolutionGeometry Geometry(int[] x) => new(x[0], x[1], x[2], x[3], Kernel, Kernel, Stride, Padding);

    /// <inheritdoc />
    public override int WorkspaceSize(IReadOnlyList<int[]> inputShapes)
    {
        // The winner of every output element, as its index within the input plane.
        var g = Geometry(inputShapes[0]);
        return g.Batch * g.Channels * g.OutputPlane;
    }

    private DeviceBuffer Winners(OpContext c) =>
        c.Workspace ?? throw new InvalidOperationException("MaxPool2d needs its workspace (WorkspaceSize) but the context has none");

    /// <inheritdoc />
    public override void Forward(OpContext c) =>
        c.Backend.Convolution.MaxPoolForward(c.Inputs[0].Buffer, Geometry(c.Inputs[0].Shape), c.Output.Buffer, Winners(c));

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        if (c.InputTangents[0] is { } xt)
        {
            c.Backend.Convolution.MaxPoolGather(xt.Buffer, Winners(c), Geometry(c.Inputs[0].Shape), c.OutputTangent!.Value.Buffer);
        }
        else
        {
            c.Backend.Fill(c.OutputTangent!.Value.Buffer, 0f);
        }
    }

    /// <inheritdoc />
    public override void Backward(OpContext c)
    {
        if (c.InputGradients[0] is { } dx)
        {
            c.Backend.Convolution.MaxPoolBackward(c.OutputGradient!.Value.Buffer, Winners(c), Geometry(c.Inputs[0].Shape), dx.Buffer);
        }
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        // The winners are locally constant, so R{x̄} is R{ȳ} scattered like ȳ.
        if (c.InputGradientTangents[0] is { } dxt && c.OutputGradientTangent is { } dyt)
        {
            c.Backend.Convolution.MaxPoolBackward(dyt.Buffer, Winners(c), Geometry(c.Inputs[0].Shape), dxt.Buffer);
        }
    }

    /// <inheritdoc />
    public override string ToOnnx(IOnnxEmitter emitter, IReadOnlyList<string> inputs) =>
        emitter.AddNode("MaxPool", inputs,
            ("kernel_shape", new long[] { Kernel, Kernel }),
            ("strides", new long[] { Stride, Stride }),
            ("pads", new long[] { Padding, Padding, Padding, Padding }));

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes)
    {
        double[] x = inputs[0];
        int n = shapes[0][0], ch = shapes[0][1], h = shapes[0][2], w = shapes[0][3];
        int ho = ((h + (2 * Padding) - Kernel) / Stride) + 1, wo = ((w + (2 * Padding) - Kernel) / Stride) + 1;
        var y = new double[n * ch * ho * wo];
        for (int plane = 0; plane < n * ch; plane++)
        {
            for (int oy = 0; oy < ho; oy++)
            {
                for (int ox = 0; ox < wo; ox++)
                {
                    double best = double.NegativeInfinity;
                    for (int i = 0; i < Kernel; i++)
                    {
                        for (int j = 0; j < Kernel; j++)
                        {
                            int iy = (oy * Stride) + i - Padding, ix = (ox * Stride) + j - Padding;
                            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                            {
                                best = Math.Max(best, x[(((plane * h) + iy) * w) + ix]);
                            }
                        }
                    }

                    y[(((plane * ho) + oy) * wo) + ox] = best;
                }
            }
        }

        return y;
    }
}
