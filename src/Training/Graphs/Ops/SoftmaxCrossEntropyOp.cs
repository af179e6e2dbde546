namespace OnePass.Training.Graphs.Ops;

/// <summary>
/// Mean softmax cross-entropy of logits [N, C] against class indices [N] (stored as floats); output [1].
/// Keeps the softmax probabilities as workspace for the other three rules.
/// </summary>
public sealed class SoftmaxCrossEntropyOp : Op
{
    /// <inheritdoc />
    public override string Type => "SoftmaxCrossEntropy";

    /// <inheritdoc />
    public override int[] InferShape(IReadOnlyList<int[]> s)
    {
        if (s.Count != 2 || s[0].Length != 2 || s[1].Length != 1 || s[0][0] != s[1][0])
        {
            throw ShapeError("expects logits [N, C] and labels [N]");
        }

        return [1];
    }

    /// <inheritdoc />
    public override int WorkspaceSize(IReadOnlyList<int[]> s) => s[0][0] * s[0][1];

    /// <inheritdoc />
    public override void Forward(OpContext c)
    {
        var z = c.Inputs[0];
        c.Backend.SoftmaxCrossEntropyForward(z.Buffer, c.Inputs[1].Buffer, z.Rows, z.Columns, c.Workspace!, c.Output.Buffer);
    }

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        var z = c.Inputs[0];
        if (c.InputTangents[0] is { } zt)
        {
            c.Backend.SoftmaxCrossEntropyForwardTangent(c.Workspace!, c.Inputs[1].Buffer, zt.Buffer, z.Rows, z.Columns, c.OutputTangent!.Value.Buffer);
        }
        else
        {
            c.Backend.Fill(c.OutputTangent!.Value.Buffer, 0f);
        }
    }

    /// <inheritdoc />
    public override void Backward(OpContext c)
    {
        var z = c.Inputs[0];
        if (c.InputGradients[0] is { } dz)
        {
            c.Backend.SoftmaxCrossEntropyBackward(c.Workspace!, c.Inputs[1].Buffer, z.Rows, z.Columns, c.OutputGradient!.Value.Buffer, dz.Buffer);
        }
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        var z = c.Inputs[0];
        if (c.InputGradientTangents[0] is { } dzt)
        {
            c.Backend.SoftmaxCrossEntropyBackwardTangent(c.Workspace!, c.Inputs[1].Buffer, c.InputTangents[0]?.Buffer, z.Rows, z.Columns,
                c.OutputGradient!.Value.Buffer, c.OutputGradientTangent?.Buffer, dzt.Buffer);
        }
    }

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes)
    {
        double[] z = inputs[0], labels = inputs[1];
        int n = shapes[0][0], classes = shapes[0][1];
        double total = 0;
        for (int r = 0; r < n; r++)
        {
            double max = double.NegativeInfinity;
            for (int c = 0; c < classes; c++)
            {
                max = Math.Max(max, z[(r * classes) + c]);
            }

            double sum = 0;
            for (int c = 0; c < classes; c++)
            {
                sum += Math.Exp(z[(r * classes) + c] - max);
            }

            total += max + Math.Log(sum) - z[(r * classes) + (int)labels[r]];
        }

        return [total / n];
    }
}
