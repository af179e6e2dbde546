using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Models;
using OnePass.Training.Training;

namespace OnePass.Cli.Commands;

/// <summary>Builds the model a configuration describes without reading its data (check and bench run on random inputs).</summary>
internal static class ConfigModels
{
    /// <summary>Loads the configuration with its <c>--set</c> overrides.</summary>
    public static TrainingConfig Load(string path, IEnumerable<string>? overrides) => TrainingConfig.Load(path, overrides);

    /// <summary>The configured model, its input shape taken from model.input_shape when set, else the data set's.</summary>
    public static Model Build(TrainingConfig config)
    {
        var shape = DataShape.OfBuiltIn(config.DataSet)
            ?? (config.Table is { } table ? new DataShape(config.LayerSizes[0], config.LayerSizes[^1], table.Task, null) : null)
            ?? throw new ConfigException($"{config.Source}: dataset '{config.DataSet}' has no known shape");
        if (config.Architecture == "mlp")
        {
            shape = shape with { InputWidth = config.LayerSizes[0] };
        }
        else if (config.InputShape is { } input)
        {
            shape = shape with { InputWidth = input[0] * input[1] * input[2], ImageShape = input };
        }

        try
        {
            return ModelBuilder.Build(Trainer.Spec(config, shape));
        }
        catch (ArgumentException e)
        {
            throw new ConfigException($"{config.Source}: model: {e.Message}");
        }
    }

    /// <summary>
    /// The configuration shrunk for a finite-difference check: MLP layers capped at 16 units (input included),
    /// convolutional models at base width 4 and 16×16 inputs. Values already smaller are kept.
    /// </summary>
    public static TrainingConfig Small(TrainingConfig config)
    {
        var small = config.Clone();
        if (small.Architecture == "mlp")
        {
            for (int i = 0; i < small.LayerSizes.Length - 1; i++)
            {
                small.LayerSizes[i] = Math.Min(small.LayerSizes[i], 16);
            }

            return small;
        }

        var shape = small.InputShape ?? DataShape.OfBuiltIn(small.DataSet)?.ImageShape ?? [1, 16, 16];
        small.InputShape = [shape[0], Math.Min(shape[1], 16), Math.Min(shape[2], 16)];
        int width = small.BaseWidth != 0 ? small.BaseWidth : ModelBuilder.DefaultBaseWidth(small.Architecture);
        small.BaseWidth = Math.Min(width, 4);
        return small;
    }
}
