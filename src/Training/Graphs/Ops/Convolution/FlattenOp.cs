namespace OnePass.Training.Graphs.Ops;

/// <summary>Flattens x [N, d1, d2, …] into [N, d1·d2·…] (a copy; the row-major order is unchanged).</summary>
/// <remarks>
/// Flattening is a reshape to [N, −1]; its rules (copies of values, tangents and gradients) are
/// <see cref="ReshapeOp"/>'s, which do not depend on the target shape. Only the shape inference (which keeps the
/// symbolic batch dimension, where a reshape needs a known element count) and the ONNX mapping are its own.
/// </remarks>
public sealed class FlattenOp : Op
{
    private static readonly ReshapeOp Rules = new(-1);

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
    public override void Forward(OpContext c) => Rules.Forward(c);

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c) => Rules.ForwardTangent(c);

    /// <inheritdoc />
    public override void Backward(OpContext c) => Rules.Backward(c);

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c) => Rules.BackwardTangent(c);

    /// <inheritdoc />
    public override string ToOnnx(IOnnxEmitter emitter, IReadOnlyList<string> inputs) =>
        emitter.AddNode("Flatten", inputs, ("axis", 1L));

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes) =>
        Rules.ReferenceForward(inputs, shapes);
}
