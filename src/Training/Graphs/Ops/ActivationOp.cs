using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs.Ops;

/// <summary>An elementwise activation y = f(x): ReLU, tanh or sigmoid.</summary>
public sealed class ActivationOp(Activation function) : Op
{
    /// <summary>The activation function.</summary>
    public Activation Function { get; } = function;

    /// <inheritdoc />
    public override string Type => Function.ToString();

    /// <inheritdoc />
    public override int[] InferShape(IReadOnlyList<int[]> s) =>
        s.Count == 1 ? (int[])s[0].Clone() : throw ShapeError("expects one input");

    /// <inheritdoc />
    public override void Forward(OpContext c) =>
        c.Backend.ActivationForward(Function, c.Inputs[0].Buffer, c.Output.Buffer);

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        if (c.InputTangents[0] is { } xt)
        {
            c.Backend.ActivationForwardTangent(Function, c.Inputs[0].Buffer, c.Output.Buffer, xt.Buffer, c.OutputTangent!.Value.Buffer);
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
            c.Backend.ActivationBackward(Function, c.Inputs[0].Buffer, c.Output.Buffer, c.OutputGradient!.Value.Buffer, dx.Buffer);
        }
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        if (c.InputGradientTangents[0] is { } dxt && c.OutputGradientTangent is { } dyt)
        {
            c.Backend.ActivationBackwardTangent(Function, c.Inputs[0].Buffer, c.Output.Buffer, c.InputTangents[0]?.Buffer,
                c.OutputGradient!.Value.Buffer, dyt.Buffer, dxt.Buffer);
        }
    }

    /// <inheritdoc />
    public override string ToOnnx(IOnnxEmitter emitter, IReadOnlyList<string> inputs) =>
        emitter.AddNode(Function.ToString(), inputs);

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes) =>
        Array.ConvertAll(inputs[0], x => Function switch
        {
            Activation.Relu => Math.Max(x, 0),
            Activation.Tanh => Math.Tanh(x),
            Activation.Sigmoid => 1 / (1 + Math.Exp(-x)),
            _ => throw new NotSupportedException(Function.ToString()),
        });
}
