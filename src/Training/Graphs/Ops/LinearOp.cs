namespace OnePass.Training.Graphs.Ops;

/// <summary>
/// y = x·Wᵀ + b with x [N, in], W [out, in] (PyTorch's and ONNX Gemm's layout), b [out]. x may have more leading
/// dimensions, e.g. an LSTM's time-major output [T, N, in] giving [T, N, out] (every leading index is a row).
/// </summary>
public sealed class LinearOp : Op
{
    // x's rank as last inferred (the graph infers each node's shape once): 2 exports as Gemm, more as MatMul + Add.
    private int _rank = 2;

    /// <inheritdoc />
    public override string Type => "Linear";

    /// <inheritdoc />
    public override int[] InferShape(IReadOnlyList<int[]> s)
    {
        if (s.Count != 3 || s[0].Length < 2 || s[1].Length != 2 || s[2].Length != 1)
        {
            throw ShapeError("expects x [N, in] (or [..., N, in]), W [out, in], b [out]");
        }

        if (s[0][^1] != s[1][1] || s[1][0] != s[2][0])
        {
            throw ShapeError($"x has {s[0][^1]} features, W is [{s[1][0]}, {s[1][1]}], b has {s[2][0]}");
        }

        _rank = s[0].Length;
        return [.. s[0][..^1], s[1][0]];
    }

    /// <inheritdoc />
    public override void Forward(OpContext c)
    {
        var (x, w, b, y) = (c.Inputs[0], c.Inputs[1], c.Inputs[2], c.Output);
        int inF = x.Shape[^1], n = LeadingRows(x), outF = w.Rows;
        c.Backend.Gemm(false, true, n, outF, inF, 1f, x.Buffer, w.Buffer, 0f, y.Buffer);
        c.Backend.AddRowVector(y.Buffer, n, outF, b.Buffer);
    }

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        // ẏ = ẋ·Wᵀ + x·Ẇᵀ + ḃ
        var (x, w, yt) = (c.Inputs[0], c.Inputs[1], c.OutputTangent!.Value);
        int inF = x.Shape[^1], n = LeadingRows(x), outF = w.Rows;
        float beta = 0f;
        if (c.InputTangents[0] is { } xt)
        {
            c.Backend.Gemm(false, true, n, outF, inF, 1f, xt.Buffer, w.Buffer, beta, yt.Buffer);
            beta = 1f;
        }

        if (c.InputTangents[1] is { } wt)
        {
            c.Backend.Gemm(false, true, n, outF, inF, 1f, x.Buffer, wt.Buffer, beta, yt.Buffer);
            beta = 1f;
        }

        if (beta == 0f)
        {
            c.Backend.Fill(yt.Buffer, 0f);
        }

        if (c.InputTangents[2] is { } bt)
        {
            c.Backend.AddRowVector(yt.Buffer, n, outF, bt.Buffer);
        }
    }

    /// <inheritdoc />
    public override void Backward(OpContext c)
    {
        // x̄ += ȳ·W;  W̄ += ȳᵀ·x;  b̄ += Σ_rows ȳ
        var (x, w, dy) = (c.Inputs[0], c.Inputs[1], c.OutputGradient!.Value);
        int inF = x.Shape[^1], n = LeadingRows(x), outF = w.Rows;
        if (c.InputGradients[0] is { } dx)
        {
            c.Backend.Gemm(false, false, n, inF, outF, 1f, dy.Buffer, w.Buffer, 1f, dx.Buffer);
        }

        if (c.InputGradients[1] is { } dw)
        {
            c.Backend.Gemm(true, false, outF, inF, n, 1f, dy.Buffer, x.Buffer, 1f, dw.Buffer);
        }

        if (c.InputGradients[2] is { } db)
        {
            c.Backend.AddColumnSums(dy.Buffer, n, outF, db.Buffer);
        }
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        // R{x̄} += R{ȳ}·W + ȳ·Ẇ;  R{W̄} += R{ȳ}ᵀ·x + ȳᵀ·ẋ;  R{b̄} += Σ_rows R{ȳ}
        var (x, w, dy) = (c.Inputs[0], c.Inputs[1], c.OutputGradient!.Value);
        int inF = x.Shape[^1], n = LeadingRows(x), outF = w.Rows;
        var dyt = c.OutputGradientTangent;
        if (c.InputGradientTangents[0] is { } dxt)
        {
            if (dyt is { } r)
            {
                c.Backend.Gemm(false, false, n, inF, outF, 1f, r.Buffer, w.Buffer, 1f, dxt.Buffer);
            }

            if (c.InputTangents[1] is { } wt)
            {
                c.Backend.Gemm(false, false, n, inF, outF, 1f, dy.Buffer, wt.Buffer, 1f, dxt.Buffer);
            }
        }

        if (c.InputGradientTangents[1] is { } dwt)
        {
            if (dyt is { } r)
            {
                c.Backend.Gemm(true, false, outF, inF, n, 1f, r.Buffer, x.Buffer, 1f, dwt.Buffer);
            }

            if (c.InputTangents[0] is { } xt)
            {
                c.Backend.Gemm(true, false, outF, inF, n, 1f, dy.Buffer, xt.Buffer, 1f, dwt.Buffer);
            }
        }

        if (c.InputGradientTangents[2] is { } dbt && dyt is { } rb)
        {
            c.Backend.AddColumnSums(rb.Buffer, n, outF, dbt.Buffer);
        }
    }

    private static int LeadingRows(Tensor x)
    {
        int n = 1;
        for (int i = 0; i < x.Shape.Length - 1; i++)
        {
            n *= x.Shape[i];
        }

        return n;
    }

    /// <inheritdoc />
    /// <remarks>Gemm for x [N, in]; MatMul with Wᵀ then Add for more leading dimensions.</remarks>
    public override string ToOnnx(IOnnxEmitter emitter, IReadOnlyList<string> inputs) => _rank <= 2
        ? emitter.AddNode("Gemm", inputs, ("transB", 1L))
        : emitter.AddNode("Add", [emitter.AddNode("MatMul", [inputs[0], emitter.AddNode("Transpose", [inputs[1]], ("perm", new long[] { 1, 0 }))]), inputs[2]]);

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes)
    {
        double[] x = inputs[0], w = inputs[1], b = inputs[2];
        int inF = shapes[0][^1], n = x.Length / inF, outF = shapes[1][0];
        var y = new double[n * outF];
        for (int r = 0; r < n; r++)
        {
            for (int o = 0; o < outF; o++)
            {
                double s = b[o];
                for (int i = 0; i < inF; i++)
                {
                    s += x[(r * inF) + i] * w[(o * inF) + i];
                }

                y[(r * outF) + o] = s;
            }
        }

        return y;
    }
}
