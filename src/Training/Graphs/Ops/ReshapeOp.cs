namespace OnePass.Training.Graphs.Ops;

/// <summary>
/// Reshapes x to a fixed shape with the same number of elements (a copy; the row-major order is unchanged), e.g. an
/// LSTM's [T, N, H] output into [T·N, H] rows for a decoder. One entry of the shape may be −1: inferred from the
/// element count, which x's shape must then fix (no batch dimension).
/// </summary>
public sealed class ReshapeOp : Op
{
    /// <summary>Creates a reshape to <paramref name="shape"/> (positive sizes, at most one −1).</summary>
    public ReshapeOp(params int[] shape)
    {
        if (shape.Length == 0 || Array.Exists(shape, d => d == 0 || d < -1) || shape.Count(d => d == -1) > 1)
        {
            throw new ArgumentException($"Reshape: the shape [{string.Join(", ", shape)}] needs positive sizes and at most one -1");
        }

        Shape = (int[])shape.Clone();
    }

    /// <summary>The target shape as given (−1 for the inferred size).</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <inheritdoc />
    public override string Type => "Reshape";

    /// <inheritdoc />
    public override int[] InferShape(IReadOnlyList<int[]> s)
    {
        if (s.Count != 1)
        {
            throw ShapeError("expects one input");
        }

        bool known = !Array.Exists(s[0], d => d == Value.Batch);
        long count = s[0].Aggregate(1L, (a, d) => a * d);
        long fixedPart = Shape.Where(d => d != -1).Aggregate(1L, (a, d) => a * d);
        var result = Shape.ToArray();
        int free = Array.IndexOf(result, -1);
        if (free >= 0)
        {
            if (!known || count % fixedPart != 0)
            {
                throw ShapeError($"cannot infer the -1 in [{string.Join(", ", Shape)}] from x [{string.Join(", ", s[0])}]");
            }

            result[free] = checked((int)(count / fixedPart));
        }
        else if (known && count != fixedPart)
        {
            throw ShapeError($"x [{string.Join(", ", s[0])}] has {count} elements; [{string.Join(", ", Shape)}] holds {fixedPart}");
        }

        return result;
    }

    /// <inheritdoc />
    public override void Forward(OpContext c)
    {
        if (c.Inputs[0].Buffer.Length != c.Output.Buffer.Length)
        {
            throw new ArgumentException($"{Type}: x [{string.Join(", ", c.Inputs[0].Shape)}] does not have the {c.Output.Buffer.Length} elements of [{string.Join(", ", c.Output.Shape)}]");
        }

        c.Backend.Copy(c.Inputs[0].Buffer, c.Output.Buffer);
    }

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
        emitter.AddNode("Reshape", [inputs[0], emitter.AddInt64Initializer("reshape_shape", Shape.Select(d => (long)d).ToArray())]);

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes) =>
        (double[])inputs[0].Clone();
}
