using OnePass.Training.Models;

namespace OnePass.Training.Checkpoints;

/// <summary>Rebuilds the model a checkpoint was trained as.</summary>
public static class CheckpointModel
{
    /// <summary>
    /// The model described by <paramref name="header"/>: its model spec, or for format-1 headers the MLP of its
    /// layer sizes; throws a <see cref="CheckpointException"/> when the description is malformed.
    /// </summary>
    public static Model Build(CheckpointHeader header, string path)
    {
        var spec = header.Model ?? new ModelSpec
        {
            Architecture = "mlp",
            LayerSizes = header.LayerSizes,
            Activation = header.Activation,
            Loss = header.Loss,
            InputShape = header.LayerSizes is { Length: > 0 } sizes ? [sizes[0]] : [],
            Outputs = header.LayerSizes is { Length: > 0 } s ? s[^1] : 0,
        };
        Model model;
        try
        {
            model = ModelBuilder.Build(spec);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(path, $"describes a model that cannot be built: {e.Message}");
        }

        if (header.InputMean is null || header.InputStd is null || header.InputMean.Length != model.InputWidth || header.InputStd.Length != model.InputWidth)
        {
            throw new CheckpointException(path, $"has input normalisation for {header.InputMean?.Length ?? 0} features; {model.Description} takes {model.InputWidth}");
        }

        // One mean and standard deviation per target, or a single pair for every output (what single-target files hold).
        if (model.LossKind == LossKind.MeanSquaredError
            && (!FitsTargets(header.TargetMean, model.OutputWidth) || !FitsTargets(header.TargetStd, model.OutputWidth) || header.TargetMean!.Length != header.TargetStd!.Length))
        {
            throw new CheckpointException(path, $"has target scaling for {header.TargetMean?.Length ?? 0} targets; {model.Description} predicts {model.OutputWidth}");
        }

        if (header.TargetNames is { } names && names.Length != model.OutputWidth)
        {
            throw new CheckpointException(path, $"names {names.Length} targets; {model.Description} predicts {model.OutputWidth}");
        }

        return model;
    }

    private static bool FitsTargets(float[]? values, int outputs) => values is { Length: > 0 } v && (v.Length == 1 || v.Length == outputs);

    /// <summary>
    /// The model of a loaded checkpoint, checked against its weights and state; throws a
    /// <see cref="CheckpointException"/> when they do not fit or a weight is not finite.
    /// </summary>
    public static Model Build(Checkpoint checkpoint, string path)
    {
        var model = Build(checkpoint.Header, path);
        if (checkpoint.Weights.Length != model.ParameterCount)
        {
            throw new CheckpointException(path, $"holds {checkpoint.Weights.Length} weights; {model.Description} has {model.ParameterCount}");
        }

        if (checkpoint.State.Length != model.StateCount && !(checkpoint.State.Length == 0 && model.StateCount == 0))
        {
            throw new CheckpointException(path, $"holds {checkpoint.State.Length} state values; {model.Description} has {model.StateCount}");
        }

        int bad = Array.FindIndex(checkpoint.Weights, w => !float.IsFinite(w));
        if (bad >= 0)
        {
            var p = model.Parameters.Last(q => q.Offset <= bad);
            throw new CheckpointException(path, $"holds a non-finite weight ({checkpoint.Weights[bad]}) in {p.Name} at index {bad - p.Offset}");
        }

        bad = Array.FindIndex(checkpoint.State, w => !float.IsFinite(w));
        if (bad >= 0)
        {
            throw new CheckpointException(path, $"holds a non-finite state value ({checkpoint.State[bad]}) at index {bad}");
        }

        return model;
    }
}
