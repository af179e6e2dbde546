namespace OnePass.Training.Graphs.Ops;

/// <summary>Global average pooling: x [N, C, H, W] → y [N, C], the mean of each H×W plane. Linear in x.</summary>
public sealed class GlobalAveragePoolOp : Op
{
    /// <inheritdoc />
    public override string Type => "GlobalAveragePool";

    /// <inheritdoc />
    public override int[] InferShape(IReadOnlyList<int[]> s)
    {
        if (s.Count != 1 || s[0].Length != 4)
        {
            throw ShapeError("expects one input x [N, C, H, W]");
        }

        if (s[0][1] <= 0 || s[0][2] <= 0 || s[0][3] <= 0)
        {
            throw ShapeError($"sizes must be positive: x [{string.Join(", ", s[0])}]");
        }

        return [s[0][0], s[0][1]];
    }

    private static (int Planes, int PlaneSize) Sizes(OpContext c)
    {
        int[] x = c.Inputs[0].Shape;
        return (x[0] * x[1], x[2] * x[3]);
    }

    /// <inheritdoc />
    public override void Forward(OpContext c)
    {
        var (planes, size) = Sizes(c);
        c.Backend.Convolution.GlobalAveragePoolForward(c.Inputs[0].Buffer, planes, size, c.Output.Buffer);
    }

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        if (c.InputTangents[0] is { } xt)
        {
            var (planes, size) = Sizes(c);
            c.Backend.Convolution.GlobalAveragePoolForward(xt.Buffer, planes, size, c.OutputTangent!.Value.Buffer);
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
            var (planes, size) = Sizes(c);
            c.Backend.Convolution.GlobalAveragePoolBackward(c.OutputGradient!.Value.Buffer, planes, size, dx.Buffer);
        }
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        if (c.InputGradientTangents[0] is { } dxt && c.OutputGradientTangent is { } dyt)
        {
            var (planes, size) = Sizes(c);
            c.Backend.Convolution.GlobalAveragePoolBackward(dyt.Buffer, planes, size, dxt.Buffer);
        }
    }

    /// <inheritdoc />
    public override string ToOnnx(IOnnxEmitter emitter, IReadOnlyList<string> inputs)
    {
        // ONNX keeps the pooled axes ([N, C, 1, 1]); flatten so the exported value is [N, C] as here.
        string pooled = emitter.AddNode("GlobalAveragePool", inputs);
        return emitter.AddNode("Flatten", [pooled], ("axis", 1L));
    }

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes)
    {
        double[] x = inputs[0];
        int planes = shapes[0][0] * shapes[0][1], size = shapes[0][2] * shapes[0][3];
        var y = new double[planes];
        for (int p = 0; p < planes; p++)
        {
            double sum = 0;
            for (int k = 0; k < size; k++)
            {
                sum += x[(p * size) + k];
            }

            y[p] = sum / size;
        }

        return y;
    }
}
