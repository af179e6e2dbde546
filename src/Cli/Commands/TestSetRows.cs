using OnePass.Export;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Training;

namespace OnePass.Cli.Commands;

/// <summary>A data set's test split as raw rows (what an exported model takes) and its labels in original units.</summary>
internal static class TestSetRows
{
    public static (InferenceBatch Rows, InferenceBatch Labels) Read(string name, string? dataDir)
    {
        TrainingConfig? config = null;
        if (name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
        {
            // A training configuration: its data set, split as that configuration splits it (a table's split depends on it).
            config = TrainingConfig.Load(name);
            if (config.Table is null)
            {
                return Read(config.DataSet, dataDir);
            }
        }

        if (name == FashionMnist.Name)
        {
            // The IDX files themselves: exact pixel values 0..255, no round trip through normalisation.
            string dir = DataSetLoader.Locate(name, dataDir);
            Console.WriteLine($"data: {name} from {dir}");
            var images = InferenceInput.ReadIdxImages(Find(dir, FashionMnist.TestImagesFile));
            var labels = InferenceLabels.Read(Find(dir, FashionMnist.TestLabelsFile));
            if (labels.Rows != images.Rows)
            {
                throw new UserInputException($"{dir}: {images.Rows} test images but {labels.Rows} test labels");
            }

            return (images, labels);
        }

        if (name == Cifar10.Name)
        {
            // The test batch itself: exact pixel values 0..255 and its labels, without loading the training batches.
            string batch = Path.Combine(Cifar10.ResolveDirectory(Cifar10Locator.Resolve(dataDir)), Cifar10.TestFile);
            var (images, labels) = InferenceInput.ReadCifarBatch(batch);
            return (images, labels);
        }

        if (config is null)
        {
            config = new TrainingConfig { DataSet = name };
            config.Validate();
        }

        var data = DataSetLoader.Load(config, dataDir);
        Console.WriteLine($"data: {config.DataSet} from {data.Folder}");
        var test = data.Test;
        var norm = data.Normalisation;

        // DataSet keeps normalised values; undo the normalisation to get the raw rows the model is served.
        var raw = new float[test.Inputs.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            int f = i % test.InputWidth;
            raw[i] = (test.Inputs[i] * norm.InputStd[f]) + norm.InputMean[f];
        }

        var targets = data.Task == TaskKind.Regression
            ? norm.DenormaliseTargets(test.Targets)
            : (float[])test.Targets.Clone();
        return (new InferenceBatch(raw, test.Count, test.InputWidth), new InferenceBatch(targets, test.Count, test.TargetWidth));
    }

    private static string Find(string dir, string file) =>
        FashionMnist.FindFile(dir, file) ?? throw new UserInputException($"{Path.Combine(dir, file)} (or .gz) does not exist");
}
