using OnePass.Training.Configuration;
using OnePass.Training.Data;

namespace OnePass.Training.Training;

/// <summary>Finds and loads the data set a configuration names.</summary>
public static class DataSetLoader
{
    /// <summary>Loads <see cref="TrainingConfig.DataSet"/>, searching <paramref name="dataDir"/> first.</summary>
    public static DataSet Load(TrainingConfig config, string? dataDir)
    {
        if (config.DataSet == FashionMnist.Name)
        {
            string dir = FashionMnistLocator.Resolve(dataDir);
            int validation = config.ValidationProportion is { } p ? (int)Math.Round(p * 60000) : 10000;
            return FashionMnist.Load(dir, validation);
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
            string dir = UciLocator.Resolve(name, dataDir);
            int? validation = null;
            if (config.ValidationProportion is { } p)
            {
                int rows = File.ReadLines(Path.Combine(dir, UciDataSet.DataFileName)).Count(l => !string.IsNullOrWhiteSpace(l));
                validation = (int)Math.Round(p * UciDataSet.DefaultSplit(name, rows).TrainValidation);
            }

            var data = UciDataSet.Load(dir, name, validation);
            return data;
        }

        throw new ConfigException($"unknown dataset '{config.DataSet}'");
    }
}
