using System.Diagnostics;
using System.Globalization;
using System.Text;
using OnePass.Cli.Commands;
using OnePass.Export;
using OnePass.Training.Checkpoints;
using OnePass.Training.Configuration;
using OnePass.Training.Data;

namespace OnePass.Cli.Tests;

/// <summary>Runs alone: it redirects the process's stderr while it works.</summary>
[CollectionDefinition(nameof(FuzzCollection), DisableParallelization = true)]
public sealed class FuzzCollection;

/// <summary>
/// Issue 12: a seeded fuzz test, bounded to a few seconds, that mutates valid configuration, UCI, IDX, CSV and
/// checkpoint files (truncation, bit flips, cell replacement) and reads each through the same error mapping the
/// CLI uses (<see cref="CliAction"/>): every case either succeeds with a sane result, or fails with a non-zero
/// code other than 70 and one line on stderr, never a stack trace.
/// </summary>
[Collection(nameof(FuzzCollection))]
public sealed class FuzzTests
{
    private static readonly string[] Garbage = ["", "x", "NaN", "-Infinity", "1e308", "-", "[", "\"", "999999999999", "0x1F", "null", "{a: 1}", "1,2", "\t"];

    [Fact]
    public void MutatedInputsGiveOneLineErrorsNeverExit70()
    {
        string dir = OnePassProcess.TempDir();
        var inv = CultureInfo.InvariantCulture;
        var seedRandom = new Random(12);

        // Valid originals.
        string config = "dataset: uci-energy\nalgorithm: ours-wd-lr-m\nbatch_size: 20\nlr: -2.5\nlr_clip: [-10, 0]\nmodel:\n  layer_sizes: [8, 4, 1]\n  activation: tanh\n";
        string uciData = string.Join("\n", Enumerable.Range(0, 60).Select(_ => string.Join(" ", Enumerable.Range(0, 9).Select(_ => (seedRandom.NextDouble() * 10).ToString("F3", inv))))) + "\n";
        string uciPermutation = string.Join("\n", Enumerable.Range(0, 60).Select(i => ((i * 7) % 60).ToString(inv))) + "\n";
        string csv = "a,b,c\n" + string.Join("\n", Enumerable.Range(0, 10).Select(_ => string.Join(",", Enumerable.Range(0, 3).Select(_ => seedRandom.NextDouble().ToString("F4", inv))))) + "\n";
        byte[] idx = [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2, .. Enumerable.Range(0, 12).Select(i => (byte)(i * 20))];
        string checkpointPath = Path.Combine(dir, "original.ckpt");
        var header = new CheckpointHeader
        {
            OnePassVersion = "0.1.0", DataSet = "uci-energy", Task = "regression", LayerSizes = [3, 2, 1], Activation = "relu", Loss = "mse",
            InputMean = [0f, 0f, 0f], InputStd = [1f, 1f, 1f], Algorithm = "random",
            Hyperparameters = new() { ["lr"] = 0.1 }, Metrics = new() { ["test_loss"] = 0.5 },
        };
        new Checkpoint(header, Enumerable.Range(0, (3 * 2) + 2 + 2 + 1).Select(i => i * 0.1f).ToArray()).Save(checkpointPath);
        byte[] checkpoint = File.ReadAllBytes(checkpointPath);

        var kinds = new (string Name, byte[] Original, Action<string> Read)[]
        {
            ("config.yaml", Encoding.UTF8.GetBytes(config), path => TrainingConfig.Load(path)),
            ("data.txt", Encoding.UTF8.GetBytes(uciData), path =>
            {
                File.WriteAllText(Path.Combine(Path.GetDirectoryName(path)!, UciDataSet.PermutationFileName), uciPermutation);
                var data = UciDataSet.Load(Path.GetDirectoryName(path)!, "energy");
                Assert.All(data.Train.Inputs, v => Assert.True(float.IsFinite(v), "non-finite training input accepted"));
            }),
            ("permutation.txt", Encoding.UTF8.GetBytes(uciPermutation), path =>
            {
                File.WriteAllText(Path.Combine(Path.GetDirectoryName(path)!, UciDataSet.DataFileName), uciData);
                UciDataSet.Load(Path.GetDirectoryName(path)!, "energy");
            }),
            ("input.csv", Encoding.UTF8.GetBytes(csv), path =>
            {
                var batch = InferenceInput.ReadCsv(path);
                Assert.All(batch.Data, v => Assert.True(float.IsFinite(v), "non-finite CSV value accepted"));
                Assert.True(batch.Rows >= 1 && batch.Data.Length == batch.Rows * batch.Width);
            }),
            ("images-idx3-ubyte", idx, path =>
            {
                var batch = InferenceInput.Read(path);
                Assert.True(batch.Data.Length == batch.Rows * batch.Width);
            }),
            ("model.ckpt", checkpoint, path => Checkpoint.Load(path)),
        };

        var random = new Random(20261130);
        var clock = Stopwatch.StartNew();
        int cases = 0;
        var failures = new List<string>();
        var originalError = Console.Error;
        try
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(4) && failures.Count < 5)
            {
                var kind = kinds[random.Next(kinds.Length)];
                byte[] mutated = Mutate(kind.Original, random, out string how);
                string caseDir = Path.Combine(dir, $"case-{cases++}");
                Directory.CreateDirectory(caseDir);
                string path = Path.Combine(caseDir, kind.Name);
                File.WriteAllBytes(path, mutated);
                var stderr = new StringWriter();
                Console.SetError(stderr);
                int code;
                try
                {
                    code = CliAction.Run(_ =>
                    {
                        kind.Read(path);
                        return 0;
                    });
                }
                finally
                {
                    Console.SetError(originalError);
                }

                string err = stderr.ToString().Trim();
                bool ok = code == 0 || (code != 70 && err.Length > 0 && !err.Contains('\n', StringComparison.Ordinal) && !err.Contains("   at ", StringComparison.Ordinal));
                if (!ok)
                {
                    failures.Add($"{kind.Name} ({how}): exit {code}: {err}");
                }
            }
        }
        finally
        {
            Console.SetError(originalError);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} cases broke the contract:\n" + string.Join("\n", failures));
        Assert.True(cases >= 20, $"only {cases} cases ran");
        Directory.Delete(dir, recursive: true);
    }

    private static byte[] Mutate(byte[] original, Random random, out string how)
    {
        switch (random.Next(3))
        {
            case 0:
                int length = random.Next(original.Length);
                how = $"truncated to {length} bytes";
                return original[..length];
            case 1:
                byte[] flipped = (byte[])original.Clone();
                int flips = 1 + random.Next(4);
                var at = new List<int>();
                for (int i = 0; i < flips; i++)
                {
                    int position = random.Next(flipped.Length);
                    flipped[position] ^= (byte)(1 << random.Next(8));
                    at.Add(position);
                }

                how = $"bits flipped at {string.Join(",", at)}";
                return flipped;
            default:
                // Replace one cell (a run of characters between separators) with a garbage token.
                string text = Encoding.UTF8.GetString(original);
                char[] separators = [' ', ',', '\n', ':', '[', ']'];
                int start = random.Next(text.Length);
                while (start > 0 && Array.IndexOf(separators, text[start - 1]) < 0)
                {
                    start--;
                }

                int end = start;
                while (end < text.Length && Array.IndexOf(separators, text[end]) < 0)
                {
                    end++;
                }

                string token = Garbage[random.Next(Garbage.Length)];
                how = $"cell at {start} '{text[start..end]}' replaced by '{token}'";
                return Encoding.UTF8.GetBytes(text[..start] + token + text[end..]);
        }
    }
}
