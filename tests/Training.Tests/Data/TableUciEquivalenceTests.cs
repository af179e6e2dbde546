using OnePass.Training.Backends;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Optimisation;
using OnePass.Training.Training;

namespace OnePass.Training.Tests.Data;

/// <summary>
/// configs/uci-*.yaml read the reference's data.txt + permutation.txt through the table loader; on the shared energy
/// and kin8nm folders they must give exactly what the built-in uci-* loader gives: splits, normalised arrays,
/// normalisation, and the same final test loss for the same seed and configuration.
/// </summary>
public sealed class TableUciEquivalenceTests
{
    private static string RepoConfig(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "configs", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"configs/{name} not found above the test binaries");
    }

    // The folder holding uci/NAME/ (what --data-dir or ONEPASS_DATA names for the table configurations).
    private static string SharedRoot(string name) => Path.GetDirectoryName(Path.GetDirectoryName(SharedData.UciDirectory(name)!)!)!;

    private static void AssertSame(DataSet expected, DataSet actual)
    {
        foreach (var (e, a) in new[] { (expected.Train, actual.Train), (expected.Validation, actual.Validation), (expected.Test, actual.Test) })
        {
            Assert.Equal(e.Count, a.Count);
            Assert.Equal(e.Inputs, a.Inputs);
            Assert.Equal(e.Targets, a.Targets);
        }

        Assert.Equal(expected.Normalisation.InputMean, actual.Normalisation.InputMean);
        Assert.Equal(expected.Normalisation.InputStd, actual.Normalisation.InputStd);
        Assert.Equal(expected.Normalisation.TargetMean, actual.Normalisation.TargetMean);
        Assert.Equal(expected.Normalisation.TargetStd, actual.Normalisation.TargetStd);
        Assert.Equal(expected.Task, actual.Task);
        Assert.Equal(expected.OutputWidth, actual.OutputWidth);
    }

    [RequiresSharedDataFact("energy")]
    public void Table_energy_config_gives_the_uci_loaders_arrays() => SameArrays("energy");

    [RequiresSharedDataFact("kin8nm")]
    public void Table_kin8nm_config_gives_the_uci_loaders_arrays() => SameArrays("kin8nm");

    private static void SameArrays(string name)
    {
        string root = SharedRoot(name);
        var table = TrainingConfig.Load(RepoConfig($"uci-{name}.yaml"));
        Assert.Equal($"table:uci-{name}", table.DataSet);
        AssertSame(DataSetLoader.Load(new TrainingConfig { DataSet = $"uci-{name}" }, root), DataSetLoader.Load(table, root));

        // --data-dir may also name uci/ or uci/NAME/ itself, as for the built-in names.
        AssertSame(DataSetLoader.Load(table, root), DataSetLoader.Load(table, Path.Combine(root, "uci")));
        AssertSame(DataSetLoader.Load(table, root), DataSetLoader.Load(table, SharedData.UciDirectory(name)));

        // A top-level validation_proportion splits both the same way.
        var named = new TrainingConfig { DataSet = $"uci-{name}", ValidationProportion = 0.3 };
        var tableP = TrainingConfig.Load(RepoConfig($"uci-{name}.yaml"), ["validation_proportion=0.3"]);
        AssertSame(DataSetLoader.Load(named, root), DataSetLoader.Load(tableP, root));
    }

    [RequiresSharedDataFact("energy")]
    public void Table_energy_trains_to_the_same_final_test_loss_as_uci_energy()
    {
        string root = SharedRoot("energy");
        string[] sets = ["hyperparameter_steps=30", "algorithm=ours-wd-lr-m", "seed=3"];
        var table = TrainingConfig.Load(RepoConfig("uci-energy.yaml"), sets);
        var named = table.Clone();
        named.Set("dataset=uci-energy");

        double Train(TrainingConfig config)
        {
            using var backend = new CpuBackend();
            using var optimiser = HyperOptimiserFactory.Create(config);
            var summary = new Trainer(config, DataSetLoader.Load(config, root), backend, null).Run(optimiser);
            Assert.False(summary.Diverged);
            return summary.Final.TestLoss;
        }

        double expected = Train(named);
        Assert.Equal(expected, Train(table));
        Assert.True(double.IsFinite(expected) && expected > 0);
    }

    [Fact]
    public void The_eight_uci_configs_carry_the_reference_split_sizes()
    {
        var expected = new Dictionary<string, (int Test, int Validation)>
        {
            ["boston"] = (51, 91), ["concrete"] = (103, 185), ["energy"] = (76, 78), ["kin8nm"] = (819, 1475),
            ["naval"] = (1193, 2148), ["power"] = (957, 1722), ["wine"] = (160, 288), ["yacht"] = (31, 55),
        };
        foreach (var (name, sizes) in expected)
        {
            var config = TrainingConfig.Load(RepoConfig($"uci-{name}.yaml"));
            var t = config.Table!;
            Assert.Equal((sizes.Test, sizes.Validation), (t.TestSize!.Value, t.ValidationSize!.Value));
            Assert.Equal($"uci/{name}/data.txt", t.Path);
            Assert.Equal($"uci/{name}/permutation.txt", t.Permutation);
            Assert.Equal(config.LayerSizes[0].ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(t.Target));
            Assert.Equal(TaskKind.Regression, t.Task);
        }
    }
}
