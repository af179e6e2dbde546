namespace OnePass.Training.Graphs.Ops;

/// <summary>y = a + b for two inputs of equal shape (a residual connection).</summary>
public sealed class AddOp : Op
{
    /// <inheritdoc />
    public override string Type => "Add";

    /// <inheritdoc />
    public override int[] InferShape(IReadOnlyList<int[]> s)
    {
        if (s.Count != 2)
        {
            throw ShapeError("expects two inputs of equal shape");
        }

        if (!s[0].AsSpan().SequenceEqual(s[1]))
        {
            throw ShapeError($"input shapes differ: [{string.Join(", ", s[0])}] and [{string.Join(", ", s[1])}]");
        }

        return (int[])s[0].Clone();
    }

    /// <inheritdoc />
    public override void Forward(OpContext c)
    {
        c.Backend.Copy(c.Inputs[0].Buffer, c.Output.Buffer);
        c.Backend.Axpy(1f, c.Inputs[1].Buffer, c.Output.Buffer);
    }

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        var yt = c.OutputTangent!.Value.Buffer;
        var (at, bt) = (c.InputTangents[0], c.InputTangents[1]);
        if (at is { } a)
        {
            c.Backend.Copy(a.Buffer, yt);
        }
        else
        {
            c.Backend.Fill(yt, 0f);
        }

        if (bt is { } b)
        {
            c.Backend.Axpy(1f, b.Buffer, yt);
        }
    }

    /// <inheritdoc />
    public override void Backward(OpContext c)
    {
        var dy = c.OutputGradient!.Value.Buffer;
        foreach (var dx in c.InputGradients)
        {
            if (dx is { } d)
            {
                c.Backend.Axpy(1f, dy, d.Buffer);
            }
        }
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        if (c.OutputGradientTangent is not { } dyt)
        {
            return;
        }

        foreach (var dxt in c.InputGradientTangents)
        {
            if (dxt is { } d)
            {
                c.Backend.Axpy(1f, dyt.Buffer, d.Buffer);
            }
        }
    }

    /// <inheritdoc />
    public override string ToOnnx(IOnnxEmitter emitter, IReadOnlyList<string> inputs) => emitter.AddNode("Add", inputs);

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes)
    {
        var y = new double[inputs[0].Length];
        for (int i = 0; i < y.Length; i++)
        {
            y[i] = inputs[0][i] + inputs[1][i];
        }

        return y;
    }
}
