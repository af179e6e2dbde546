namespace OnePass.Training.Graphs.Ops;

/// <summary>Flattens x [N, d1, d2, …] into [N, d1·d2·…] (a copy; the row-major order is unchanged).</summary>
public sealed class FlattenOp : Op
{
    /// <inheritdoc />
    public override string Type => "Flatten";

    /// <inheritdoc />
    public override int[] InferShape(IReadOnlyList<int[]> s)
    {
        if (s.Count != 1 || s[0].Length < 1)
        {
            throw ShapeError("expects one input x [N, …]");
        }

        long features = 1;
        for (int i = 1; i < s[0].Length; i++)
        {
            if (s[0][i] <= 0)
            {
                throw ShapeError($"sizes after the batch must be positive: x [{string.Join(", ", s[0])}]");
            }

            features *= s[0][i];
        }

        return features <= int.MaxValue
            ? [s[0][0], (int)features]
            : throw ShapeError($"x [{string.Join(", ", s[0])}] has too many features per row");
    }

    /// <inheritdoc />
    public override void Forward(OpContext c) => c.Backend.Copy(c.Inputs[0].Buffer, c.Output.Buffer);

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        if (c.InputTangents[0] is { } xt)
        {
            c.Backend.Copy(xt.Buffer, c.OutputTangent!.Value.Buffer);
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
            c.Backend.Axpy(1f, c.OutputGradient!.Value.Buffer, dx.Buffer);
        }
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        if (c.InputGradientTangents[0] is { } dxt && c.OutputGradientTangent is { } dyt)
        {
            c.Backend.Axpy(1f, dyt.Buffer, dxt.Buffer);
        }
    }

    /// <inheritdoc />
    public override string ToOnnx(IOnnxEmitter emitter, IReadOnlyList<string> inputs) =>
        emitter.AddNode("Flatten", inputs, ("axis", 1L));

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes) =>
        (double[])inputs[0].Clone();
}
