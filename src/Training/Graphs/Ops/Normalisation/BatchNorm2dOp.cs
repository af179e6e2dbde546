using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs.Ops;

/// <summary>
/// Batch normalisation over the channels of x [N, C, H, W] (or [N, C]), with scale γ [C] and shift β [C], as
/// PyTorch's BatchNorm2d: in training mode y = γ·(x − μ)/√(σ² + ε) + β with the batch's per-channel mean μ and
/// biased variance σ² over N·H·W, every rule differentiating through μ and σ²; in evaluation mode the running
/// statistics stand in for them and the op is affine. State: running mean then running variance (2C floats,
/// initially 0 and 1), updated only by a training forward with <see cref="OpContext.UpdateState"/>:
/// mean ← (1 − m)·mean + m·μ, var ← (1 − m)·var + m·σ²·M/(M − 1), M = N·H·W.
/// </summary>
public sealed class BatchNorm2dOp(float epsilon = 1e-5f, float momentum = 0.1f) : Op
{
    /// <summary>ε added to the variance before the square root.</summary>
    public float Epsilon { get; } = epsilon > 0 ? epsilon : throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "batch norm epsilon must be positive");

    /// <summary>Weight m of the newest batch statistics in the running statistics (PyTorch's convention).</summary>
    public float Momentum { get; } = momentum is >= 0 and <= 1 ? momentum : throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "batch norm momentum must lie in [0, 1]");

    /// <inheritdoc />
    public override string Type => "BatchNorm2d";

    /// <inheritdoc />
    public override int[] InferShape(IReadOnlyList<int[]> s)
    {
        if (s.Count != 3 || s[0].Length < 2 || s[1].Length != 1 || s[2].Length != 1)
        {
            throw ShapeError("expects x [N, C, H, W] (or [N, C]), gamma [C], beta [C]");
        }

        if (s[1][0] != s[0][1] || s[2][0] != s[0][1])
        {
            throw ShapeError($"x has {s[0][1]} channels, gamma has {s[1][0]}, beta has {s[2][0]}");
        }

        return (int[])s[0].Clone();
    }

    /// <inheritdoc />
    public override int WorkspaceSize(IReadOnlyList<int[]> inputShapes) => 2 * inputShapes[0][1];

    /// <inheritdoc />
    public override int StateSize(IReadOnlyList<int[]> inputShapes) => 2 * inputShapes[0][1];

    /// <inheritdoc />
    public override void InitialiseState(Span<float> state)
    {
        int channels = state.Length / 2;
        state[..channels].Fill(0f);
        state[channels..].Fill(1f);
    }

    /// <inheritdoc />
    public override void Forward(OpContext c)
    {
        var (x, gamma, beta, y) = (c.Inputs[0], c.Inputs[1], c.Inputs[2], c.Output);
        var (batch, channels, spatial) = Dimensions(x.Shape);
        var saved = Saved(c);
        if (c.Mode == ExecutionMode.Training)
        {
            if ((long)batch * spatial < 2)
            {
                throw new ArgumentException($"{Type}: training mode needs more than one value per channel (x is [{string.Join(", ", x.Shape)}])");
            }

            var running = c.UpdateState ? c.State ?? throw new InvalidOperationException($"{Type}: asked to update its running statistics but has no state buffer") : null;
            c.Backend.Normalisation.BatchNormTrainingForward(x.Buffer, batch, channels, spatial, gamma.Buffer, beta.Buffer, Epsilon, saved, y.Buffer, running, Momentum);
        }
        else
        {
            var state = c.State ?? throw new InvalidOperationException($"{Type}: evaluation mode needs the running statistics (state), but none was given");
            c.Backend.Normalisation.BatchNormInferenceForward(x.Buffer, batch, channels, spatial, gamma.Buffer, beta.Buffer, state, Epsilon, saved, y.Buffer);
        }
    }

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        // ẏ = γ̇·x̂ + γ·ẋ̂ + β̇; in training mode ẋ̂ = s·(ẋ − mean(ẋ) − x̂·mean(x̂·ẋ)) (through μ and σ), else s·ẋ.
        var (x, gamma) = (c.Inputs[0], c.Inputs[1]);
        var (batch, channels, spatial) = Dimensions(x.Shape);
        c.Backend.Normalisation.BatchNormForwardTangent(x.Buffer, batch, channels, spatial, gamma.Buffer, Saved(c), c.Mode == ExecutionMode.Training,
            c.InputTangents[0]?.Buffer, c.InputTangents[1]?.Buffer, c.InputTangents[2]?.Buffer, c.OutputTangent!.Value.Buffer);
    }

    /// <inheritdoc />
    public override void Backward(OpContext c)
    {
        // x̄ += γs·(ȳ − mean(ȳ) − x̂·mean(ȳ·x̂)) (training) or γs·ȳ (evaluation); γ̄ += Σ ȳ·x̂; β̄ += Σ ȳ.
        if (c.InputGradients[0] is null && c.InputGradients[1] is null && c.InputGradients[2] is null)
        {
            return;
        }

        var (x, gamma) = (c.Inputs[0], c.Inputs[1]);
        var (batch, channels, spatial) = Dimensions(x.Shape);
        c.Backend.Normalisation.BatchNormBackward(x.Buffer, batch, channels, spatial, gamma.Buffer, Saved(c), c.Mode == ExecutionMode.Training,
            c.OutputGradient!.Value.Buffer, c.InputGradients[0]?.Buffer, c.InputGradients[1]?.Buffer, c.InputGradients[2]?.Buffer);
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        // The derivative of Backward along (ẋ, γ̇, R{ȳ}), through x̂, s = 1/σ, γ and the channel means
        // (the derivation is written out in CpuNormalisation's remarks).
        if (c.InputGradientTangents[0] is null && c.InputGradientTangents[1] is null && c.InputGradientTangents[2] is null)
        {
            return;
        }

        var (x, gamma) = (c.Inputs[0], c.Inputs[1]);
        var (batch, channels, spatial) = Dimensions(x.Shape);
        c.Backend.Normalisation.BatchNormBackwardTangent(x.Buffer, batch, channels, spatial, gamma.Buffer, Saved(c), c.Mode == ExecutionMode.Training,
            c.InputTangents[0]?.Buffer, c.InputTangents[1]?.Buffer, c.OutputGradient!.Value.Buffer, c.OutputGradientTangent?.Buffer,
            c.InputGradientTangents[0]?.Buffer, c.InputGradientTangents[1]?.Buffer, c.InputGradientTangents[2]?.Buffer);
    }

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes) =>
        ReferenceForward(inputs, shapes, ExecutionMode.Training, null);

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes, ExecutionMode mode, double[]? state)
    {
        double[] x = inputs[0], gamma = inputs[1], beta = inputs[2];
        var (batch, channels, spatial) = Dimensions(shapes[0]);
        if (mode == ExecutionMode.Evaluation && (state is null || state.Length != 2 * channels))
        {
            throw new ArgumentException($"{Type}: evaluation mode needs {2 * channels} state values (running mean then variance)");
        }

        var y = new double[x.Length];
        int m = batch * spatial;
        for (int c = 0; c < channels; c++)
        {
            double mean, variance;
            if (mode == ExecutionMode.Training)
            {
                mean = 0;
                for (int n = 0; n < batch; n++)
                {
                    for (int i = 0; i < spatial; i++)
                    {
                        mean += x[(((n * channels) + c) * spatial) + i];
                    }
                }

                mean /= m;
                variance = 0;
                for (int n = 0; n < batch; n++)
                {
                    for (int i = 0; i < spatial; i++)
                    {
                        double d = x[(((n * channels) + c) * spatial) + i] - mean;
                        variance += d * d;
                    }
                }

                variance /= m;
            }
            else
            {
                mean = state![c];
                variance = state[channels + c];
            }

            double inverseStd = 1 / Math.Sqrt(variance + Epsilon);
            for (int n = 0; n < batch; n++)
            {
                for (int i = 0; i < spatial; i++)
                {
                    int k = (((n * channels) + c) * spatial) + i;
                    y[k] = (gamma[c] * (x[k] - mean) * inverseStd) + beta[c];
                }
            }
        }

        return y;
    }

    /// <inheritdoc />
    public override string ToOnnx(IOnnxEmitter emitter, IReadOnlyList<string> inputs)
    {
        var state = emitter.State.Span;
        if (state.Length == 0 || state.Length % 2 != 0)
        {
            throw new InvalidOperationException($"{Type}: exporting needs the running statistics (2 per channel); got {state.Length} state values");
        }

        int channels = state.Length / 2;
        string mean = emitter.AddInitializer("running_mean", [channels], state[..channels]);
        string variance = emitter.AddInitializer("running_var", [channels], state[channels..]);

        // ONNX's momentum weighs the old running value (PyTorch's weighs the new one); it only matters in training mode.
        return emitter.AddNode("BatchNormalization", [inputs[0], inputs[1], inputs[2], mean, variance],
            ("epsilon", Epsilon), ("momentum", 1f - Momentum));
    }

    private (int Batch, int Channels, int Spatial) Dimensions(int[] shape)
    {
        if (shape.Length < 2)
        {
            throw ShapeError($"x must be [N, C, ...]; got [{string.Join(", ", shape)}]");
        }

        int spatial = 1;
        for (int i = 2; i < shape.Length; i++)
        {
            spatial *= shape[i];
        }

        return (shape[0], shape[1], spatial);
    }

    private DeviceBuffer Saved(OpContext c) =>
        c.Workspace ?? throw new InvalidOperationException($"{Type}: no workspace (the executor must allocate WorkspaceSize elements)");
}
