using System.Globalization;
using System.Text.RegularExpressions;
using OnePass.Training.Configuration;

namespace OnePass.Cli.Tests;

/// <summary>Issue 13 item 6: the main job tunes its hyperparameters, and `train` shows their path.</summary>
public sealed class MainJobCliTests
{
    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{relative} not found above the test binaries");
    }

    [Fact]
    public void TheMainJobsConfigurationTunesLearningRateWeightDecayAndMomentum()
    {
        // build.cake's Train target trains configs/fashion-mnist.yaml unless --config says otherwise.
        Assert.Contains("Argument(\"config\", \"configs/fashion-mnist.yaml\")", File.ReadAllText(RepoFile("build.cake")));
        var config = TrainingConfig.Load(RepoFile(Path.Combine("configs", "fashion-mnist.yaml")), []);
        Assert.Equal("ours-wd-lr-m", config.Algorithm);
    }

    [Fact]
    public void TrainPrintsTheHyperparametersPathAsItGoesAndAtTheEnd()
    {
        string dir = OnePassProcess.TempDir();
        string data = Fixtures.EnergyData(dir);
        string config = Fixtures.EnergyConfig(dir, 40, "algorithm: ours-wd-lr-m\nlr: -2\n");
        string output = Path.Combine(dir, "run");
        var r = OnePassProcess.Run("train", "--config", config, "--data-dir", data, "--out", output, "--backend", "cpu");
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);

        // At the end: every hyperparameter from its initial to its final value.
        string path = r.StdOut.Split('\n').Single(l => l.StartsWith("hyperparameters (initial → final, ours-wd-lr-m): ", StringComparison.Ordinal));
        var inv = CultureInfo.InvariantCulture;
        var moves = Regex.Matches(path, @"(\w+) ([-+.\dE]+) → ([-+.\dE]+)").ToDictionary(
            m => m.Groups[1].Value, m => (From: double.Parse(m.Groups[2].Value, inv), To: double.Parse(m.Groups[3].Value, inv)));
        Assert.Equal(["lr", "momentum", "weight_decay"], moves.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0.01, moves["lr"].From, 6);
        Assert.NotEqual(moves["lr"].From, moves["lr"].To); // the point of the run: it tuned them

        // As it goes: a line every twentieth of the run, each with the hyperparameters at that step.
        string[] periodic = r.StdErr.Split('\n').Where(l => l.StartsWith("  step ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(20, periodic.Length);
        Assert.All(periodic, l => Assert.Matches(@"\| lr=[-+.\dE]+, weight_decay=[-+.\dE]+, momentum=[-+.\dE]+\s*$", l));
        Assert.StartsWith("  step 10/200 ", periodic[0]);
        Assert.StartsWith("  step 200/200 ", periodic[^1]);
        Assert.Single(Directory.GetFiles(output, "events.out.tfevents.*"));
    }
}
