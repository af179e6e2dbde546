using OnePass.Training.Graphs;
using OnePass.Training.Graphs.Ops;
using OnePass.Training.Tensors;

namespace OnePass.Training.Checking;

/// <summary>
/// Checks one op's four rules (Forward, ForwardTangent, Backward, BackwardTangent) on a backend. For y = f(X) and
/// random R, R2, Ẋ: Backward must give ∇ₓ⟨R, f⟩, ForwardTangent the directional derivative of f along Ẋ, and
/// BackwardTangent d/dε ∇ₓ⟨R + εR2, f(X + εẊ)⟩ at ε = 0. Two references: central differences of the op's own
/// double-precision <see cref="Op.ReferenceForward(IReadOnlyList{double[]}, IReadOnlyList{int[]}, ExecutionMode, double[])"/>
/// (<see cref="AgainstReference"/>), or the same rules run on another backend (<see cref="AgainstBackend"/>, e.g.
/// the GPU against the CPU).
/// </summary>
public static class OpRuleCheck
{
    /// <summary>Largest relative error accepted against central differences of the double-precision reference.</summary>
    public const double ReferenceTolerance = 1e-3;

    /// <summary>Largest relative error accepted between two backends running the same float32 rules.</summary>
    public const double BackendTolerance = 1e-4;

    /// <summary>The op cases of the self-test: every op type, with the cases most likely to break (strides, padding, dead inputs).</summary>
    public static IReadOnlyList<OpCase> StandardCases(bool quick)
    {
        const OpInputKind G = OpInputKind.Gaussian;
        var cases = new List<OpCase>
        {
            new("Linear", new LinearOp(), [[4, 5], [3, 5], [3]], [true, true, true], [G, G, G]),
            new("Activation relu", new ActivationOp(Activation.Relu), [[4, 6]], [true], [G]),
            new("Activation tanh", new ActivationOp(Activation.Tanh), [[4, 6]], [true], [G]),
            new("Activation sigmoid", new ActivationOp(Activation.Sigmoid), [[4, 6]], [true], [G]),
            new("SoftmaxCrossEntropy", new SoftmaxCrossEntropyOp(), [[5, 4], [5]], [true, false], [G, OpInputKind.Labels], Classes: 4),
            new("MeanSquaredError", new MeanSquaredErrorOp(), [[6, 2], [6, 2]], [true, false], [G, G]),
            new("Conv2d 3x3 stride 2 pad 1 bias", new Conv2dOp(2, 1), [[2, 3, 5, 5], [4, 3, 3, 3], [4]], [true, true, true], [G, G, G]),
            new("MaxPool2d 3x3 stride 2 pad 1", new MaxPool2dOp(3, 2, 1), [[2, 2, 5, 6]], [true], [OpInputKind.Distinct]),
            new("GlobalAveragePool", new GlobalAveragePoolOp(), [[2, 3, 3, 4]], [true], [G]),
            new("Flatten", new FlattenOp(), [[2, 3, 2, 2]], [true], [G]),
            new("Add", new AddOp(), [[2, 3, 2, 2], [2, 3, 2, 2]], [true, true], [G, G]),
            new("BatchNorm2d training", new BatchNorm2dOp(), [[3, 2, 3, 5], [2], [2]], [true, true, true], [G, G, G]),
            new("Reshape", new ReshapeOp(-1, 5), [[4, 3, 5]], [true], [G]),
            new("Embedding", new EmbeddingOp(), [[4, 3], [11, 5]], [false, true], [OpInputKind.Ids, G], Classes: 11),
            new("Lstm", new LstmOp(5), [[4, 3, 5], [20, 5], [20, 5], [20], [20], [3, 5], [3, 5]], [true, true, true, true, true, true, true], [G, G, G, G, G, G, G]),
        };
        if (!quick)
        {
            cases.AddRange(
            [
                new("Conv2d 1x1 stride 2", new Conv2dOp(2, 0), [[2, 3, 5, 5], [4, 3, 1, 1]], [true, true], [G, G]),
                new("Conv2d 7x7 stride 2 pad 3 data input", new Conv2dOp(2, 3), [[2, 2, 9, 9], [3, 2, 7, 7], [3]], [false, true, true], [G, G, G]),
                new("Conv2d 3x2 stride 1 pad 1 weight input", new Conv2dOp(1, 1), [[3, 4, 6, 5], [5, 4, 3, 2]], [true, false], [G, G]),
                new("MaxPool2d 2x2 stride 2", new MaxPool2dOp(2, 2, 0), [[2, 3, 4, 5]], [true], [OpInputKind.Distinct]),
                new("Add one live", new AddOp(), [[3, 4], [3, 4]], [false, true], [G, G]),
                new("BatchNorm2d evaluation", new BatchNorm2dOp(), [[3, 2, 3, 5], [2], [2]], [true, true, true], [G, G, G], Mode: ExecutionMode.Evaluation),
                new("BatchNorm2d 1x1 map", new BatchNorm2dOp(), [[4, 3, 1, 1], [3], [3]], [true, true, true], [G, G, G]),
                new("Lstm constant initial states", new LstmOp(5), [[4, 3, 5], [20, 5], [20, 5], [20], [20], [3, 5], [3, 5]], [true, true, true, true, true, false, false], [G, G, G, G, G, G, G]),
            ]);
        }

        return cases;
    }

    /// <summary>The case's rules on the CPU backend against central differences of the op's double-precision reference.</summary>
    public static OpCheckResult AgainstReference(OpCase c, int seed)
    {
        var data = OpCaseData.Create(c, seed);
        using var cpu = new Backends.CpuBackend();
        OpRuleOutputs engine = Run(cpu, c, data);
        double[] state = data.State is null ? null! : Array.ConvertAll(data.State, v => (double)v);
        double[][] x64 = data.Inputs.Select(a => Array.ConvertAll(a, v => (double)v)).ToArray();
        double[] Oracle(double[][] inputs) => c.Op.ReferenceForward(inputs, c.Shapes, c.Mode, data.State is null ? null : state);

        int inputs = c.Shapes.Length;
        double[] Shift(int i, double a, int element, double b)
        {
            var copy = (double[])x64[i].Clone();
            if (c.Live[i])
            {
                for (int j = 0; j < copy.Length; j++)
                {
                    copy[j] += a * data.Tangents[i][j];
                }
            }

            if (element >= 0)
            {
                copy[element] += b;
            }

            return copy;
        }

        double[][] Moved(double a, int input = -1, int element = -1, double b = 0) =>
            Enumerable.Range(0, inputs).Select(i => Shift(i, a, i == input ? element : -1, b)).ToArray();

        double forward = RelativeError(engine.Output, Oracle(x64));
        const double h = 1e-5;
        double[] plus = Oracle(Moved(h)), minus = Oracle(Moved(-h));
        double forwardTangent = RelativeError(engine.OutputTangent, plus.Zip(minus, (p, m) => (p - m) / (2 * h)).ToArray());

        double S(double[][] at, double a)
        {
            double[] y = Oracle(at);
            double sum = 0;
            for (int k = 0; k < y.Length; k++)
            {
                sum += (data.OutputGradient[k] + (a * data.OutputGradientTangent[k])) * y[k];
            }

            return sum;
        }

        const double h2 = 1e-4;
        double backward = 0, backwardTangent = 0;
        for (int i = 0; i < inputs; i++)
        {
            if (!c.Live[i])
            {
                continue;
            }

            var grad = new double[data.Inputs[i].Length];
            var gradTangent = new double[data.Inputs[i].Length];
            for (int e = 0; e < grad.Length; e++)
            {
                grad[e] = (S(Moved(0, i, e, h), 0) - S(Moved(0, i, e, -h), 0)) / (2 * h);
                gradTangent[e] = (S(Moved(h2, i, e, h2), h2) - S(Moved(h2, i, e, -h2), h2)
                    - S(Moved(-h2, i, e, h2), -h2) + S(Moved(-h2, i, e, -h2), -h2)) / (4 * h2 * h2);
            }

            backward = Math.Max(backward, RelativeError(engine.Gradients[i]!, grad));
            backwardTangent = Math.Max(backwardTangent, RelativeError(engine.GradientTangents[i]!, gradTangent));
        }

        // The forward value is compared in float32 against double: 1e-5 there, the tolerance for the derivatives.
        return new OpCheckResult(c.Name, "cpu vs double-precision reference", forward, forwardTangent, backward, backwardTangent, ReferenceTolerance,
            forward < 1e-5 && forwardTangent < ReferenceTolerance && backward < ReferenceTolerance && backwardTangent < ReferenceTolerance);
    }

    /// <summary>The case's rules on <paramref name="backend"/> against the same rules on <paramref name="reference"/>, same data.</summary>
    public static OpCheckResult AgainstBackend(IBackend backend, IBackend reference, OpCase c, int seed, double tolerance = BackendTolerance)
    {
        var data = OpCaseData.Create(c, seed);
        OpRuleOutputs expected = Run(reference, c, data);
        OpRuleOutputs actual = Run(backend, c, data);
        double backward = 0, backwardTangent = 0;
        for (int i = 0; i < c.Shapes.Length; i++)
        {
            if (c.Live[i])
            {
                backward = Math.Max(backward, RelativeError(actual.Gradients[i]!, Array.ConvertAll(expected.Gradients[i]!, v => (double)v)));
                backwardTangent = Math.Max(backwardTangent, RelativeError(actual.GradientTangents[i]!, Array.ConvertAll(expected.GradientTangents[i]!, v => (double)v)));
            }
        }

        double forward = RelativeError(actual.Output, Array.ConvertAll(expected.Output, v => (double)v));
        double forwardTangent = RelativeError(actual.OutputTangent, Array.ConvertAll(expected.OutputTangent, v => (double)v));
        return new OpCheckResult(c.Name, $"{backend.Name} vs {reference.Name}", forward, forwardTangent, backward, backwardTangent, tolerance,
            forward < tolerance && forwardTangent < tolerance && backward < tolerance && backwardTangent < tolerance);
    }

    /// <summary>‖a − b‖₂ / ‖b‖₂ (relative to 1e-300 when b is zero); infinite when the lengths differ or a value is not finite.</summary>
    public static double RelativeError(IReadOnlyList<float> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count)
        {
            return double.PositiveInfinity;
        }

        double d = 0, s = 0;
        for (int i = 0; i < b.Count; i++)
        {
            d += (a[i] - b[i]) * (a[i] - b[i]);
            s += b[i] * b[i];
        }

        double error = Math.Sqrt(d) / Math.Max(Math.Sqrt(s), 1e-300);
        return double.IsFinite(error) ? error : double.PositiveInfinity;
    }

    /// <summary>Runs the four rules once on <paramref name="backend"/> (state, when the op has one, at its initial value, not updated).</summary>
    public static OpRuleOutputs Run(IBackend backend, OpCase c, OpCaseData data)
    {
        var owned = new List<DeviceBuffer>();
        DeviceBuffer New(int length)
        {
            var buffer = backend.Allocate(length);
            owned.Add(buffer);
            return buffer;
        }

        DeviceBuffer Up(float[] values)
        {
            var buffer = New(values.Length);
            backend.Upload(values, buffer);
            return buffer;
        }

        float[] Down(DeviceBuffer buffer)
        {
            var values = new float[buffer.Length];
            backend.Download(buffer, values);
            return values;
        }

        var ownedIndices = new List<IndexBuffer>();
        IndexBuffer UpIds(float[] values)
        {
            var ids = new int[values.Length];
            Indices.FromFloats(values, ids, $"{c.Name} ids");
            var buffer = backend.AllocateIndices(ids.Length);
            ownedIndices.Add(buffer);
            backend.Upload(ids, buffer);
            return buffer;
        }

        try
        {
            int inputs = c.Shapes.Length;
            var ctx = new OpContext(backend, inputs);
            for (int i = 0; i < inputs; i++)
            {
                ctx.Inputs[i] = c.Op.IsIndexInput(i) ? new Tensor(UpIds(data.Inputs[i]), c.Shapes[i]) : new Tensor(Up(data.Inputs[i]), c.Shapes[i]);
                ctx.InputTangents[i] = c.Live[i] ? new Tensor(Up(data.Tangents[i]), c.Shapes[i]) : null;
                ctx.InputGradients[i] = c.Live[i] ? new Tensor(New(data.Inputs[i].Length), c.Shapes[i]) : null;
                ctx.InputGradientTangents[i] = c.Live[i] ? new Tensor(New(data.Inputs[i].Length), c.Shapes[i]) : null;
            }

            int[] outShape = c.Op.InferShape(c.Shapes);
            ctx.Output = new Tensor(New(data.OutputGradient.Length), outShape);
            ctx.OutputTangent = new Tensor(New(data.OutputGradient.Length), outShape);
            ctx.OutputGradient = new Tensor(Up(data.OutputGradient), outShape);
            ctx.OutputGradientTangent = new Tensor(Up(data.OutputGradientTangent), outShape);
            int workspace = c.Op.WorkspaceSize(c.Shapes);
            ctx.Workspace = workspace > 0 ? New(workspace) : null;
            int scratch = c.Op.ScratchSize(c.Shapes);
            ctx.Scratch = scratch > 0 ? New(scratch) : null;
            ctx.Mode = c.Mode;
            ctx.State = data.State is null ? null : Up(data.State);
            ctx.UpdateState = false;

            c.Op.Forward(ctx);
            c.Op.ForwardTangent(ctx);
            c.Op.Backward(ctx);
            c.Op.BackwardTangent(ctx);
            return new OpRuleOutputs(
                Down(ctx.Output.Buffer),
                Down(ctx.OutputTangent.Value.Buffer),
                ctx.InputGradients.Select(t => t is { } g ? Down(g.Buffer) : null).ToArray(),
                ctx.InputGradientTangents.Select(t => t is { } g ? Down(g.Buffer) : null).ToArray());
        }
        finally
        {
            foreach (var buffer in owned)
            {
                buffer.Dispose();
            }

            foreach (var buffer in ownedIndices)
            {
                buffer.Dispose();
            }
        }
    }
}

/// <summary>The random inputs, tangents and output adjoints of one op case, made on the host from a seed.</summary>
public sealed record OpCaseData(float[][] Inputs, float[][] Tangents, float[] OutputGradient, float[] OutputGradientTangent, float[]? State)
{
    /// <summary>Fills a case's inputs by their kinds, tangents for live inputs, adjoints R and R2, and the op's initial state.</summary>
    public static OpCaseData Create(OpCase c, int seed)
    {
        var random = new Random(seed);
        static int Count(int[] shape) => shape.Aggregate(1, (a, b) => checked(a * b));
        float[] Normal(int n)
        {
            var values = new float[n];
            for (int i = 0; i < n; i++)
            {
                double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
                values[i] = (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
            }

            return values;
        }

        float[] Fill(OpInputKind kind, int n) => kind switch
        {
            OpInputKind.Gaussian => Normal(n),
            OpInputKind.Distinct => Enumerable.Range(0, n).OrderBy(_ => random.Next()).Select(k => (float)((k - (n / 2.0)) * 0.05)).ToArray(),
            OpInputKind.Labels => Enumerable.Range(0, n).Select(_ => (float)random.Next(c.Classes)).ToArray(),
            OpInputKind.Ids => Enumerable.Range(0, n).Select(k => k % 3 == 0 ? (float)(c.Classes / 2) : random.Next(c.Classes)).ToArray(),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };

        float[][] inputs = c.Shapes.Select((shape, i) => Fill(c.Inputs[i], Count(shape))).ToArray();
        int outputs = Count(c.Op.InferShape(c.Shapes));
        float[] r = Normal(outputs), r2 = Normal(outputs);
        float[][] tangents = c.Shapes.Select((shape, i) => c.Live[i] ? Normal(Count(shape)) : []).ToArray();
        int stateSize = c.Op.StateSize(c.Shapes);
        float[]? state = null;
        if (stateSize > 0)
        {
            state = new float[stateSize];
            c.Op.InitialiseState(state);
        }

        return new OpCaseData(inputs, tangents, r, r2, state);
    }
}

/// <summary>What one run of an op's four rules produced: output, output tangent, and per input its gradient and gradient tangent (null when not live).</summary>
public sealed record OpRuleOutputs(float[] Output, float[] OutputTangent, float[]?[] Gradients, float[]?[] GradientTangents);

/// <summary>Relative errors of one op case's four rules against a reference, and whether all are within tolerance.</summary>
public sealed record OpCheckResult(string Name, string Reference, double Forward, double ForwardTangent, double Backward, double BackwardTangent, double Tolerance, bool Passed);
