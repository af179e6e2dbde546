namespace OnePass.Cli.Tests;

/// <summary>
/// Issue 12 items 9 and 11: inputs that used to give no error, an unclear one or exit 70 ("internal error") each give
/// one line naming the file, field or value, and a non-zero exit code other than 70.
/// </summary>
public sealed class InputErrorTests
{
    private const string Base = "dataset: uci-energy\nhyperparameter_steps: 2\nnetwork_weight_steps: 2\nmodel:\n  layer_sizes: [8, 4, 1]\n";

    public static TheoryData<string, string> BadConfigurations() => new()
    {
        { "dataset: uci-energy\nlr_clip: [-10, 0\nhyperparameter_steps: 2\n", "not valid YAML" },
        { "? [a, b]\n: 1\ndataset: uci-energy\n", "a key must be a plain name" },
        { "dataset: uci-energy\nmodel:\n  layer_sizes: [8, 2e9, 1]\n", "model.layer_sizes [8, 2000000000, 1] has 20000000001 weights" },
        { "dataset: uci-energy\nlr: \"0.01\"\n", "key 'lr' (line 2) must be a number, got the quoted string '0.01'" },
        { "dataset: uci-energy\nbatch_size: '50'\n", "must be an integer, got the quoted string '50'" },
        { Base + "validation_proportion: 0.999\n", "validation_proportion 0.999 leaves 1 training rows, fewer than the minimum of 10" },
    };

    [Theory]
    [MemberData(nameof(BadConfigurations))]
    public void BadConfigurationIsOneLineNeverExit70(string yaml, string expected)
    {
        string dir = OnePassProcess.TempDir();
        string data = Fixtures.EnergyData(dir);
        string config = Path.Combine(dir, "c.yaml");
        File.WriteAllText(config, yaml);
        var r = OnePassProcess.Run("train", "--config", config, "--data-dir", data, "--out", Path.Combine(dir, "out"), "--backend", "cpu");
        Fixtures.AssertOneLineError(r, expected);
        Assert.Equal(1, r.ExitCode);
    }

    [Fact]
    public void ConfigurationPathThatIsAFolderIsNamed()
    {
        string dir = OnePassProcess.TempDir();
        var r = OnePassProcess.Run("train", "--config", dir, "--backend", "cpu");
        Fixtures.AssertOneLineError(r, $"configuration file '{dir}' is a folder, not a file");
    }

    [Fact]
    public void EmptyConfigurationWarnsThatEveryKeyTakesItsDefault()
    {
        string dir = OnePassProcess.TempDir();
        string config = Path.Combine(dir, "c.yaml");
        File.WriteAllText(config, "");
        var r = OnePassProcess.Run("train", "--config", config, "--data-dir", Path.Combine(dir, "nowhere"), "--out", Path.Combine(dir, "out"), "--backend", "cpu");
        Assert.Contains("c.yaml is empty: every key takes its default", r.StdErr);
        Assert.NotEqual(70, r.ExitCode);
    }

    [Fact]
    public void BatchLargerThanTheTrainingSplitIsWarnedAndClamped()
    {
        string dir = OnePassProcess.TempDir();
        string data = Fixtures.EnergyData(dir);
        string config = Path.Combine(dir, "c.yaml");
        File.WriteAllText(config, Base + "batch_size: 100000\n");
        var r = OnePassProcess.Run("train", "--config", config, "--data-dir", data, "--out", Path.Combine(dir, "out"), "--backend", "cpu");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("warning: batch_size 100000 is larger than the", r.StdErr);
    }

    [Fact]
    public void HugeDataValueIsADataErrorNamingTheCell()
    {
        string dir = OnePassProcess.TempDir();
        string data = Fixtures.EnergyData(dir);
        string[] lines = File.ReadAllLines(Path.Combine(data, "data.txt"));
        lines[4] = "1e308" + lines[4][lines[4].IndexOf(' ', StringComparison.Ordinal)..];
        File.WriteAllLines(Path.Combine(data, "data.txt"), lines);
        string config = Path.Combine(dir, "c.yaml");
        File.WriteAllText(config, Base);
        var r = OnePassProcess.Run("train", "--config", config, "--data-dir", data, "--out", Path.Combine(dir, "out"), "--backend", "cpu");
        Fixtures.AssertOneLineError(r, "data.txt: line 5, column 1: '1e308' is beyond the float32 range");
    }
}
