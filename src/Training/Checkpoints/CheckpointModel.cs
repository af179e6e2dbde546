using OnePass.Training.Models;
using OnePass.Training.Tensors;

namespace OnePass.Training.Checkpoints;

/// <summary>Rebuilds the model a checkpoint was trained as.</summary>
public static class CheckpointModel
{
    /// <summary>The MLP described by <paramref name="header"/>; throws a <see cref="CheckpointException"/> when it is malformed.</summary>
    public static Model Build(CheckpointHeader header, string path)
    {
        if (!Enum.TryParse<Activation>(header.Activation, ignoreCase: true, out var activation))
        {
            throw new CheckpointException(path, $"names an unknown activation '{header.Activation}'");
        }

        var loss = header.Loss switch
        {
            "cross-entropy" => LossKind.CrossEntropy,
            "mse" => LossKind.MeanSquaredError,
            _ => throw new CheckpointException(path, $"names an unknown loss '{header.Loss}'"),
        };
        if (header.LayerSizes.Length < 2 || header.InputMean.Length != header.LayerSizes[0] || header.InputStd.Length != header.LayerSizes[0])
        {
            throw new CheckpointException(path, "has inconsistent layer sizes and input normalisation");
        }

        return Mlp.Build(header.LayerSizes, activation, loss);
    }
}
