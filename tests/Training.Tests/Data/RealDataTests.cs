using System.Diagnostics;
using OnePass.Training.Data;

namespace OnePass.Training.Tests.Data;

public sealed class RealDataTests
{
    [RequiresSharedDataFact("energy")]
    public void Energy_has_the_published_split_sizes_and_is_normalised()
    {
        string dir = SharedData.UciDirectory("energy")!;
        DataSet data = UciDataSet.Load(UciLocator.Resolve("energy", dir), "energy");

        Assert.Equal(8, data.InputWidth);
        Assert.Equal(614, data.Train.Count);
        Assert.Equal(78, data.Validation.Count);
        Assert.Equal(76, data.Test.Count);
        var trainValidation = data.Train.Targets.Concat(data.Validation.Targets).Select(v => (double)v).ToArray();
        Assert.Equal(0, trainValidation.Average(), 4);
        Assert.Equal(1, Math.Sqrt(trainValidation.Average(v => v * v)), 4);
    }

    [RequiresSharedDataFact("kin8nm")]
    public void Kin8nm_has_the_published_split_sizes()
    {
        DataSet data = UciDataSet.Load(SharedData.UciDirectory("kin8nm")!, "kin8nm");
        Assert.Equal((5898, 1475, 819), (data.Train.Count, data.Validation.Count, data.Test.Count));
    }

    /// <summary>
    /// The shared power/permutation.txt (as found when this test was written) repeats 41 indices,
    /// so it is not a permutation; the loader must refuse it, naming the first repeat. Should the
    /// file be corrected, the published split sizes are checked instead.
    /// </summary>
    [RequiresSharedDataFact("power")]
    public void Power_loads_with_the_published_split_sizes_or_its_defective_permutation_is_reported()
    {
        string dir = SharedData.UciDirectory("power")!;
        string permutationPath = Path.Combine(dir, UciDataSet.PermutationFileName);
        var firstLine = new Dictionary<string, int>();
        (int Line, string Index, int First)? repeat = null;
        string[] lines = File.ReadAllLines(permutationPath);
        for (int i = 0; i < lines.Length && repeat is null; i++)
        {
            string index = lines[i].Trim();
            if (index.Length == 0)
            {
                continue;
            }

            if (firstLine.TryGetValue(index, out int first))
            {
                repeat = (i + 1, index, first);
            }
            else
            {
                firstLine[index] = i + 1;
            }
        }

        if (repeat is { } r)
        {
            var e = Assert.Throws<DataFormatException>(() => UciDataSet.Load(dir, "power"));
            Assert.Equal(permutationPath, e.FilePath);
            Assert.Contains($"line {r.Line}: index {r.Index} is repeated (first on line {r.First})", e.Message);
            return;
        }

        DataSet data = UciDataSet.Load(dir, "power");
        Assert.Equal(4, data.InputWidth);
        Assert.Equal((6889, 1722, 957), (data.Train.Count, data.Validation.Count, data.Test.Count));
    }

    [RequiresFashionMnistFact]
    public void Fashion_mnist_loads_with_the_standard_splits()
    {
        var clock = Stopwatch.StartNew();
        DataSet data = FashionMnist.Load(SharedData.FashionMnistDirectory()!);
        clock.Stop();

        Assert.Equal(784, data.InputWidth);
        Assert.Equal(10, data.OutputWidth);
        Assert.Equal((50000, 10000, 10000), (data.Train.Count, data.Validation.Count, data.Test.Count));
        foreach (var split in new[] { data.Train, data.Validation, data.Test })
        {
            Assert.All(split.Targets, t => Assert.InRange(t, 0f, 9f));
            Assert.Equal(10, split.Targets.Distinct().Count());
        }

        // Fashion-MNIST pixels: mean about 73 and std about 90 in byte units.
        Assert.InRange(data.Normalisation.InputMean[0], 60f, 85f);
        Assert.InRange(data.Normalisation.InputStd[0], 80f, 100f);
        Assert.Equal(0.0, data.Train.Inputs.Average(v => (double)v), 3);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"Loading took {clock.Elapsed}.");
    }
}
