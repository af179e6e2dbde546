using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Models;
using OnePass.Training.Training;

namespace OnePass.Cli.Commands;

/// <summary>Builds the model a configuration describes without reading its data (check and bench run on random inputs).</summary>
internal static class ConfigModels
{
    /// <summary>The configured model, its input shape taken from model.input_shape when set, else the data set's.</summary>
    public static Model Build(TrainingConfig config)
    {
        if (config.Architecture == "lstm")
        {
            // The vocabulary: model.vocabulary when set, else the built-in data set's (no data is read).
            var words = config.Vocabulary > 0 ? config.Vocabulary : DataShape.OfBuiltIn(config.DataSet)?.Outputs
                ?? throw new ConfigException($"{config.Source}: model.architecture lstm needs model.vocabulary when dataset '{config.DataSet}' has no known vocabulary");
            return BuildSpec(config, new DataShape(1, words, TaskKind.Classification, null));
        }

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

        return BuildSpec(config, shape);
    }

    private static Model BuildSpec(TrainingConfig config, DataShape shape)
    {
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
    /// convolutional models at base width 4 and 16×16 inputs, language models at vocabulary 11, embedding and hidden
    /// size 5, 2 layers, 4 steps and 3 sequences. Values already smaller are kept.
    /// </summary>
    public static TrainingConfig Small(TrainingConfig config)
    {
        var small = config.Clone();
        if (small.Architecture == "lstm")
        {
            int words = small.Vocabulary > 0 ? small.Vocabulary : DataShape.OfBuiltIn(small.DataSet)?.Outputs ?? 11;
            small.Vocabulary = Math.Max(2, Math.Min(words, 11));
            small.EmbeddingSize = Math.Min(small.EmbeddingSize, 5);
            small.HiddenSize = Math.Min(small.HiddenSize, 5);
            small.Layers = Math.Min(small.Layers, 2);
            small.Steps = Math.Min(small.Steps, 4);
            small.Sequences = Math.Min(small.Sequences, 3);
            return small;
        }

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
