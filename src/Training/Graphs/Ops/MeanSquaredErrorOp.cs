namespace OnePass.Training.Graphs.Ops;

/// <summary>Mean over all elements of (prediction − target)²; output [1] (as torch.nn.MSELoss).</summary>
public sealed class MeanSquaredErrorOp : Op
{
    /// <inheritdoc />
    public override string Type => "MeanSquaredError";

    /// <inheritdoc />
    public override int[] InferShape(IReadOnlyList<int[]> s)
    {
        if (s.Count != 2 || !s[0].AsSpan().SequenceEqual(s[1]))
        {
            throw ShapeError("expects prediction and target of the same shape");
        }

        return [1];
    }

    /// <inheritdoc />
    public override void Forward(OpContext c) =>
        c.Backend.MeanSquaredErrorForward(c.Inputs[0].Buffer, c.Inputs[1].Buffer, c.Output.Buffer);

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        if (c.InputTangents[0] is { } pt)
        {
            c.Backend.MeanSquaredErrorForwardTangent(c.Inputs[0].Buffer, c.Inputs[1].Buffer, pt.Buffer, c.OutputTangent!.Value.Buffer);
        }
        else
        {
            c.Backend.Fill(c.OutputTangent!.Value.Buffer, 0f);
        }
    }

    /// <inheritdoc />
    public override void Backward(OpContext c)
    {
        if (c.InputGradients[0] is { } dp)
        {
            c.Backend.MeanSquaredErrorBackward(c.Inputs[0].Buffer, c.Inputs[1].Buffer, c.OutputGradient!.Value.Buffer, dp.Buffer);
        }
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        if (c.InputGradientTangents[0] is { } dpt)
        {
            c.Backend.MeanSquaredErrorBackwardTangent(c.Inputs[0].Buffer, c.Inputs[1].Buffer, c.InputTangents[0]?.Buffer,
                c.OutputGradient!.Value.Buffer, c.OutputGradientTangent?.Buffer, dpt.Buffer);
        }
    }

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes)
    {
        double total = 0;
        for (int i = 0; i < inputs[0].Length; i++)
        {
            double e = inputs[0][i] - inputs[1][i];
            total += e * e;
        }

        return [total / inputs[0].Length];
    }
}
