namespace OnePass.Training.Graphs.Ops;

/// <summary>
/// Embedding lookup: token ids [T, N] (int32; any leading shape) and a weight [V, E] give
/// y [T, N, E] with y[t, n, :] = weight[ids[t, n], :]. An id that is not an integer in [0, V) is an error.
/// </summary>
/// <remarks>
/// The op is linear in the weight and constant in the ids (which carry no tangent or adjoint), so its rules are
/// its own gather and scatter-add: ẏ = gather(Ẇ), W̄ += scatter-add(ȳ) (repeated ids accumulate), and
/// R{W̄} += scatter-add(R{ȳ}) — the backward rule does not depend on W, so there is no Ẇ term.
/// </remarks>
public sealed class EmbeddingOp : Op
{
    /// <inheritdoc />
    public override string Type => "Embedding";

    /// <inheritdoc />
    public override bool IsIndexInput(int input) => input == 0;

    /// <inheritdoc />
    public override int[] InferShape(IReadOnlyList<int[]> s)
    {
        if (s.Count != 2 || s[0].Length < 1 || s[1].Length != 2)
        {
            throw ShapeError("expects token ids [T, N] and a weight [vocabulary, dimension]");
        }

        if (s[1][0] <= 0 || s[1][1] <= 0)
        {
            throw ShapeError($"the weight [{string.Join(", ", s[1])}] needs positive sizes");
        }

        return [.. s[0], s[1][1]];
    }

    /// <inheritdoc />
    public override void Forward(OpContext c)
    {
        var w = c.Inputs[1];
        c.Backend.Recurrent.EmbeddingGather(c.Inputs[0].Indices, w.Buffer, w.Shape[0], w.Shape[1], c.Output.Buffer);
    }

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        var w = c.Inputs[1];
        if (c.InputTangents[1] is { } wt)
        {
            c.Backend.Recurrent.EmbeddingGather(c.Inputs[0].Indices, wt.Buffer, w.Shape[0], w.Shape[1], c.OutputTangent!.Value.Buffer);
        }
        else
        {
            c.Backend.Fill(c.OutputTangent!.Value.Buffer, 0f);
        }
    }

    /// <inheritdoc />
    public override void Backward(OpContext c)
    {
        var w = c.Inputs[1];
        if (c.InputGradients[1] is { } dw)
        {
            c.Backend.Recurrent.EmbeddingScatterAdd(c.Inputs[0].Indices, c.OutputGradient!.Value.Buffer, w.Shape[0], w.Shape[1], dw.Buffer);
        }
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        var w = c.Inputs[1];
        if (c.InputGradientTangents[1] is { } dwt && c.OutputGradientTangent is { } dyt)
        {
            c.Backend.Recurrent.EmbeddingScatterAdd(c.Inputs[0].Indices, dyt.Buffer, w.Shape[0], w.Shape[1], dwt.Buffer);
        }
    }

    /// <inheritdoc />
    /// <remarks>ONNX Gather wants int32 or int64 indices: the ids are cast to int64 first (whatever the graph input's type).</remarks>
    public override string ToOnnx(IOnnxEmitter emitter, IReadOnlyList<string> inputs)
    {
        const long Int64 = 7; // TensorProto.DataType.INT64
        string ids = emitter.AddNode("Cast", [inputs[0]], ("to", Int64));
        return emitter.AddNode("Gather", [inputs[1], ids], ("axis", 0L));
    }

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes)
    {
        double[] ids = inputs[0], w = inputs[1];
        int vocabulary = shapes[1][0], dimension = shapes[1][1];
        var y = new double[ids.Length * dimension];
        for (int k = 0; k < ids.Length; k++)
        {
            int id = (int)ids[k];
            if (id != ids[k] || id < 0 || id >= vocabulary)
            {
                throw new ArgumentException($"{Type}: token id {ids[k]} at position {k} is not an integer in [0, {vocabulary})");
            }

            Array.Copy(w, id * dimension, y, k * dimension, dimension);
        }

        return y;
    }
}
