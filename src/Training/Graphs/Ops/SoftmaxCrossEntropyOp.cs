namespace OnePass.Training.Graphs.Ops;

/// <summary>
/// Mean softmax cross-entropy of logits [N, C] against int32 class indices [N]; output [1]. Logits may
/// have more leading dimensions with labels of the same leading shape, e.g. a language model's [T, N, V] against
/// [T, N]: the mean is over every position.
/// Keeps the softmax probabilities as workspace for the other three rules.
/// </summary>
public sealed class SoftmaxCrossEntropyOp : Op
{
    /// <inheritdoc />
    public override string Type => "SoftmaxCrossEntropy";

    /// <inheritdoc />
    public override bool IsIndexInput(int input) => input == 1;

    /// <inheritdoc />
    public override int[] InferShape(IReadOnlyList<int[]> s)
    {
        if (s.Count != 2 || s[0].Length < 2 || s[1].Length != s[0].Length - 1 || !s[0][..^1].AsSpan().SequenceEqual(s[1]))
        {
            throw ShapeError("expects logits [N, C] and labels [N] (or [..., N, C] and [..., N])");
        }

        return [1];
    }

    /// <inheritdoc />
    public override int WorkspaceSize(IReadOnlyList<int[]> s) => s[0].Aggregate(1, (a, d) => checked(a * d));

    private static int RowsOf(Tensor z)
    {
        int n = 1;
        for (int i = 0; i < z.Shape.Length - 1; i++)
        {
            n *= z.Shape[i];
        }

        return n;
    }

    /// <inheritdoc />
    public override void Forward(OpContext c)
    {
        var z = c.Inputs[0];
        c.Backend.SoftmaxCrossEntropyForward(z.Buffer, c.Inputs[1].Indices, RowsOf(z), z.Shape[^1], c.Workspace!, c.Output.Buffer);
    }

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        var z = c.Inputs[0];
        if (c.InputTangents[0] is { } zt)
        {
            c.Backend.SoftmaxCrossEntropyForwardTangent(c.Workspace!, c.Inputs[1].Indices, zt.Buffer, RowsOf(z), z.Shape[^1], c.OutputTangent!.Value.Buffer);
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
            c.Backend.SoftmaxCrossEntropyBackward(c.Workspace!, c.Inputs[1].Indices, RowsOf(z), z.Shape[^1], c.OutputGradient!.Value.Buffer, dz.Buffer);
        }
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        var z = c.Inputs[0];
        if (c.InputGradientTangents[0] is { } dzt)
        {
            c.Backend.SoftmaxCrossEntropyBackwardTangent(c.Workspace!, c.Inputs[1].Indices, c.InputTangents[0]?.Buffer, RowsOf(z), z.Shape[^1],
                c.OutputGradient!.Value.Buffer, c.OutputGradientTangent?.Buffer, dzt.Buffer);
        }
    }

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes)
    {
        double[] z = inputs[0], labels = inputs[1];
        int classes = shapes[0][^1], n = z.Length / classes;
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
