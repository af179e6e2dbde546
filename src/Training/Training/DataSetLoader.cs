using OnePass.Training.Configuration;
using OnePass.Training.Data;

namespace OnePass.Training.Training;

/// <summary>Finds and loads the data set a configuration names.</summary>
public static class DataSetLoader
{
    /// <summary>The fewest rows a training or validation split may have.</summary>
    public const int MinimumSplitRows = 10;

    /// <summary>Loads <see cref="TrainingConfig.DataSet"/>, searching <paramref name="dataDir"/> first.</summary>
    public static DataSet Load(TrainingConfig config, string? dataDir)
    {
        var data = LoadSplits(config, dataDir);
        foreach (var (split, rows) in new[] { ("training", data.Train.Count), ("validation", data.Validation.Count) })
        {
            if (rows < MinimumSplitRows)
            {
                string cause = config.ValidationProportion is { } p
                    ? $"validation_proportion {p.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} leaves"
                    : "the data set has";
                throw new ConfigException($"{config.Source}: {cause} {rows} {split} rows, fewer than the minimum of {MinimumSplitRows}");
            }
        }

        return data;
    }

    private static DataSet LoadSplits(TrainingConfig config, string? dataDir)
    {
        if (config.DataSet == FashionMnist.Name)
        {
            string dir = Locate(config.DataSet, dataDir);
            int validation = config.ValidationProportion is { } p ? (int)Math.Round(p * 60000) : 10000;
            var images = FashionMnist.Load(dir, validation);
            images.Folder = dir;
            return images;
        }

        if (config.DataSet == Cifar10.Name)
        {
            string dir = Cifar10Locator.Resolve(dataDir);
            int validation = config.ValidationProportion is { } p ? (int)Math.Round(p * 50000) : 5000;
            return Cifar10.Load(dir, validation);
        }

        if (config.DataSet.StartsWith("uci-", StringComparison.Ordinal))
        {
            string name = config.DataSet["uci-".Length..];
            string dir = Locate(config.DataSet, dataDir);
            int? validation = null;
            if (config.ValidationProportion is { } p)
            {
                int rows = File.ReadLines(Path.Combine(dir, UciDataSet.DataFileName)).Count(l => !string.IsNullOrWhiteSpace(l));
                validation = (int)Math.Round(p * UciDataSet.DefaultSplit(name, rows).TrainValidation);
            }

            var data = UciDataSet.Load(dir, name, validation);
            data.Folder = dir;
            return data;
        }

        throw new ConfigException($"unknown dataset '{config.DataSet}'");
    }

    /// <summary>
    /// The folder holding data set <paramref name="dataSet"/>. A folder named explicitly — <paramref name="dataDir"/>,
    /// else <c>ONEPASS_DATA</c> — must hold it (itself or in its data-set subfolder): otherwise the error names what
    /// is missing there, instead of silently falling back to another copy.
    /// </summary>
    public static string Locate(string dataSet, string? dataDir, Func<string, string?>? getEnvironmentVariable = null)
    {
        getEnvironmentVariable ??= Environment.GetEnvironmentVariable;
        string? explicitDir = string.IsNullOrWhiteSpace(dataDir) ? getEnvironmentVariable(UciLocator.EnvironmentVariable) : dataDir;
        string label = string.IsNullOrWhiteSpace(dataDir) ? $"{UciLocator.EnvironmentVariable}={explicitDir}" : $"--data-dir '{dataDir}'";
        bool isExplicit = !string.IsNullOrWhiteSpace(explicitDir);
        if (dataSet == FashionMnist.Name)
        {
            if (isExplicit && !FashionMnistLocator.IsComplete(explicitDir!) && !FashionMnistLocator.IsComplete(Path.Combine(explicitDir!, FashionMnist.Name)))
            {
                string missing = !Directory.Exists(explicitDir)
                    ? "the folder does not exist"
                    : "missing " + string.Join(", ", FashionMnist.FileNames.Where(f => FashionMnist.FindFile(explicitDir!, f) is null).Select(f => f + "[.gz]"))
                      + $" (and no complete {FashionMnist.Name}/ subfolder)";
                throw new DataNotFoundException($"{label} does not hold Fashion-MNIST: {missing}", [missing]);
            }

            return FashionMnistLocator.Resolve(explicitDir);
        }

        string name = dataSet.StartsWith("uci-", StringComparison.Ordinal) ? dataSet["uci-".Length..] : dataSet;
        if (isExplicit)
        {
            string[] candidates = [explicitDir!, Path.Combine(explicitDir!, name), Path.Combine(explicitDir!, "uci", name)];
            if (!candidates.Any(c => File.Exists(Path.Combine(c, UciDataSet.DataFileName))))
            {
                string missing = !Directory.Exists(explicitDir)
                    ? "the folder does not exist"
                    : $"no {UciDataSet.DataFileName} in it, in {name}/ or in uci/{name}/";
                throw new DataNotFoundException($"{label} does not hold {dataSet}: {missing}", [missing]);
            }
        }

        return UciLocator.Resolve(name, explicitDir, _ => null);
    }
}
