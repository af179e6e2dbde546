using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using OnePass.Training.Backends;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Optimisation;
using OnePass.Training.Reporting;
using OnePass.Training.Training;

namespace OnePass.Training.Tests.Reporting;

/// <summary>
/// Issue 13 item 4: a train run's TensorBoard event file holds every scalar of its metrics.csv. The file is read
/// back by a reader written here (framing, CRC-32C and protobuf wire format by hand), not by the writer's code.
/// </summary>
public sealed class TensorBoardEventFileTests
{
    // The documented column → tag mapping (README), restated here so that a change to either side shows.
    private static readonly Dictionary<string, string> ExpectedTags = new(StringComparer.Ordinal)
    {
        ["hyper_step"] = "Progress/Hyperparameter_Step",
        ["training_loss"] = "Loss/Training", ["validation_loss"] = "Loss/Validation", ["test_loss"] = "Loss/Test",
        ["training_accuracy"] = "Accuracy/Training", ["validation_accuracy"] = "Accuracy/Validation", ["test_accuracy"] = "Accuracy/Test",
        ["training_perplexity"] = "Perplexity/Training", ["validation_perplexity"] = "Perplexity/Validation", ["test_perplexity"] = "Perplexity/Test",
        ["lr"] = "Hyperparameter/Lr", ["weight_decay"] = "Hyperparameter/Weight_Decay", ["momentum"] = "Hyperparameter/Momentum",
        ["lr.mean"] = "Hyperparameter/Lr/mean", ["lr.min"] = "Hyperparameter/Lr/min", ["lr.q25"] = "Hyperparameter/Lr/q25",
        ["lr.median"] = "Hyperparameter/Lr/median", ["lr.q75"] = "Hyperparameter/Lr/q75", ["lr.max"] = "Hyperparameter/Lr/max",
    };

    [Theory]
    [InlineData("ours-wd-lr-m", false)]
    [InlineData("ours-wd-hdlr-m", true)]
    [InlineData("random", false)]
    public void TheEventFileHoldsEveryScalarOfMetricsCsv(string algorithm, bool classification)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"onepass-tensorboard-{Guid.NewGuid():N}");
        try
        {
            var data = Synthetic(classification);
            var config = new TrainingConfig
            {
                DataSet = "uci-energy", Algorithm = algorithm, HyperparameterSteps = 6, NetworkWeightSteps = 3, BatchSize = 8, LogEvery = 2,
                Lr = -1.5, LrClip = [-10, 0], LayerSizes = [3, 6, classification ? 3 : 1],
            };
            using var backend = new CpuBackend();
            using var optimiser = HyperOptimiserFactory.Create(config);
            var summary = new Trainer(config, data, backend, dir).Run(optimiser);
            Assert.False(summary.Diverged, summary.Message);

            string[] header = AssertEventFileHoldsMetricsCsv(dir);
            if (algorithm == "ours-wd-hdlr-m")
            {
                Assert.Contains("lr.q25", header);
            }

            if (classification)
            {
                Assert.Contains("test_accuracy", header);
            }
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, true);
            }
        }
    }

    [Fact]
    public void ALanguageModelsEventFileHoldsItsPerplexities()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"onepass-tensorboard-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(dir);
            var random = new Random(3);
            string[] words = ["the", "cat", "a", "dog", "sees", "likes", "ball", "tree"];
            string Text(int lines) => string.Concat(Enumerable.Range(0, lines).Select(_ =>
                string.Join(' ', Enumerable.Range(0, 4).Select(_ => words[random.Next(words.Length)])) + " .\n"));
            File.WriteAllText(Path.Combine(dir, "train.txt"), Text(200));
            File.WriteAllText(Path.Combine(dir, "heldout.txt"), Text(100));
            string path = Path.Combine(dir, "lm.yaml");
            File.WriteAllText(path, """
                dataset:
                  kind: text
                  name: tiny
                  train_file: train.txt
                  validation_file: heldout.txt
                  test_file: heldout.txt
                  validation_line_share: 0.5
                algorithm: ours-wd-lr-m
                network_weight_steps: 3
                hyperparameter_steps: 4
                batch_size: 5
                log_every: 2
                model:
                  architecture: lstm
                  embedding_size: 4
                  hidden_size: 6
                  layers: 1
                  sequences: 2
                  steps: 5
                """);
            var config = TrainingConfig.Load(path);
            string run = Path.Combine(dir, "run");
            using var backend = new CpuBackend();
            using var optimiser = HyperOptimiserFactory.Create(config);
            var summary = new Trainer(config, DataSetLoader.Load(config, null), backend, run).Run(optimiser);
            Assert.False(summary.Diverged, summary.Message);
            Assert.Contains("test_perplexity", AssertEventFileHoldsMetricsCsv(run));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ARunKilledAfterAWriteLeavesEveryRecordReadableAndANewRunReplacesTheOldFile()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"onepass-tensorboard-{Guid.NewGuid():N}");
        try
        {
            var writer = new TensorBoardWriter(dir, () => 1234.5);
            Assert.Empty(Directory.Exists(dir) ? Directory.GetFiles(dir) : []);
            writer.Write(7, new Dictionary<string, double> { ["Loss/Test"] = 0.25, ["Zero"] = 0 });
            // Not disposed: the record must already be in the file, as it would be if the process were killed now.
            var events = ReadEventFile(writer.FilePath!);
            Assert.Equal(2, events.Count);
            Assert.Equal(1234.5, events[1].WallTime);
            Assert.Equal(7, events[1].Step);
            Assert.Equal(0.25f, events[1].Values["Loss/Test"]);
            Assert.Equal(0f, events[1].Values["Zero"]); // a 0 is written, not dropped as a proto3 default
            string first = writer.FilePath!;
            writer.Dispose();

            using var again = new TensorBoardWriter(dir);
            again.Write(0, new Dictionary<string, double> { ["x"] = 1 });
            Assert.Equal([again.FilePath!], Directory.GetFiles(dir, "events.out.tfevents.*"));
            Assert.False(File.Exists(first) && first != again.FilePath);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ACorruptedByteFailsTheChecksum()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"onepass-tensorboard-{Guid.NewGuid():N}");
        try
        {
            using (var writer = new TensorBoardWriter(dir))
            {
                writer.Write(1, new Dictionary<string, double> { ["Loss/Training"] = 1.5 });
            }

            string path = Directory.GetFiles(dir).Single();
            byte[] bytes = File.ReadAllBytes(path);
            bytes[^6] ^= 0x01; // inside the last record's data
            File.WriteAllBytes(path, bytes);
            Assert.Throws<InvalidDataException>(() => ReadEventFile(path));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void TheChecksumIsCrc32CWithTensorFlowsMask()
    {
        // CRC-32C of "123456789" is 0xE3069283 (the standard check value).
        Assert.Equal(0xE3069283u, Crc32C(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(Mask(0xE3069283u), TensorBoardWriter.MaskedCrc32C(Encoding.ASCII.GetBytes("123456789")));
    }

    // Reads the run folder's one event file with the reader below and checks it against metrics.csv: an event per
    // row at the row's step, holding exactly the row's non-empty cells under their documented tags. Returns the header.
    private static string[] AssertEventFileHoldsMetricsCsv(string dir)
    {
        string[] files = Directory.GetFiles(dir, "events.out.tfevents.*");
        Assert.Single(files);
        var events = ReadEventFile(files[0]);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Empty(events[0].Values);
        var byStep = events.Skip(1).ToDictionary(e => e.Step, e => e.Values);

        string[] lines = File.ReadAllLines(Path.Combine(dir, "metrics.csv"));
        string[] header = lines[0].Split(',');
        Assert.Equal(lines.Length - 1, byStep.Count);
        int scalars = 0;
        foreach (string line in lines.Skip(1))
        {
            string[] cells = line.Split(',');
            long step = long.Parse(cells[0], CultureInfo.InvariantCulture);
            Assert.True(byStep.TryGetValue(step, out var values), $"no event at step {step}");
            int present = 0;
            for (int c = 1; c < header.Length; c++)
            {
                if (cells[c].Length == 0)
                {
                    continue;
                }

                present++;
                Assert.True(ExpectedTags.TryGetValue(header[c], out string? tag), $"metrics.csv column '{header[c]}' has no documented tag");
                Assert.True(values.TryGetValue(tag, out float actual), $"step {step}: tag {tag} ({header[c]}) missing");
                double expected = double.Parse(cells[c], CultureInfo.InvariantCulture);
                // The CSV keeps 7 significant digits (relative error up to 5e-7), the event file a float32 (6e-8).
                Assert.True(Math.Abs(actual - expected) <= 1e-6 * Math.Abs(expected), $"step {step} {tag}: {actual} vs {expected}");
                scalars++;
            }

            Assert.Equal(present, values.Count);
        }

        Assert.True(scalars >= (lines.Length - 1) * 5, $"only {scalars} scalars compared");
        return header;
    }

    private static DataSet Synthetic(bool classification)
    {
        var random = new Random(11);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] Targets(int n) => classification ? Enumerable.Range(0, n).Select(_ => (float)random.Next(3)).ToArray() : Rand(n);
        DataSplit Split(int rows) => new(Rand(rows * 3), Targets(rows), rows, 3, 1);
        return new DataSet("synthetic", classification ? TaskKind.Classification : TaskKind.Regression, 3, classification ? 3 : 1,
            Split(40), Split(16), Split(16), new Normalisation(new float[3], [1, 1, 1]));
    }

    private sealed record EventRecord(double WallTime, long Step, string? FileVersion, Dictionary<string, float> Values);

    // TFRecord framing: uint64 length, masked CRC-32C of those 8 bytes, the data, masked CRC-32C of the data.
    private static List<EventRecord> ReadEventFile(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        var events = new List<EventRecord>();
        int at = 0;
        while (at < file.Length)
        {
            if (file.Length - at < 12)
            {
                throw new InvalidDataException($"truncated record header at byte {at}");
            }

            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(at));
            if (BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8)) != Mask(Crc32C(file.AsSpan(at, 8))))
            {
                throw new InvalidDataException($"length checksum mismatch at byte {at}");
            }

            at += 12;
            if ((ulong)(file.Length - at) < length + 4)
            {
                throw new InvalidDataException($"truncated record at byte {at}");
            }

            var data = file.AsSpan(at, (int)length);
            if (BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + (int)length)) != Mask(Crc32C(data)))
            {
                throw new InvalidDataException($"data checksum mismatch at byte {at}");
            }

            events.Add(ParseEvent(data));
            at += (int)length + 4;
        }

        return events;
    }

    // Event: 1 wall_time (double), 2 step (int64), 3 file_version (string), 5 summary (Summary).
    private static EventRecord ParseEvent(ReadOnlySpan<byte> data)
    {
        double wall = 0;
        long step = 0;
        string? version = null;
        var values = new Dictionary<string, float>(StringComparer.Ordinal);
        var reader = new Wire(data.ToArray());
        while (!reader.AtEnd)
        {
            var (field, type) = reader.Key();
            switch (field, type)
            {
                case (1, 1): wall = BitConverter.Int64BitsToDouble((long)reader.Fixed64()); break;
                case (2, 0): step = (long)reader.Varint(); break;
                case (3, 2): version = Encoding.UTF8.GetString(reader.Bytes()); break;
                case (5, 2): ParseSummary(reader.Bytes(), values); break;
                default: reader.Skip(type); break;
            }
        }

        return new EventRecord(wall, step, version, values);
    }

    // Summary: 1 repeated Value; Value: 1 tag (string), 2 simple_value (float).
    private static void ParseSummary(byte[] data, Dictionary<string, float> values)
    {
        var summary = new Wire(data);
        while (!summary.AtEnd)
        {
            var (field, type) = summary.Key();
            if ((field, type) != (1, 2))
            {
                summary.Skip(type);
                continue;
            }

            var value = new Wire(summary.Bytes());
            string? tag = null;
            float? simple = null;
            while (!value.AtEnd)
            {
                var (f, t) = value.Key();
                switch (f, t)
                {
                    case (1, 2): tag = Encoding.UTF8.GetString(value.Bytes()); break;
                    case (2, 5): simple = BitConverter.Int32BitsToSingle((int)value.Fixed32()); break;
                    default: value.Skip(t); break;
                }
            }

            Assert.NotNull(tag);
            Assert.True(simple.HasValue, $"tag {tag} has no simple_value");
            Assert.True(values.TryAdd(tag!, simple!.Value), $"tag {tag} twice in one event");
        }
    }

    private sealed class Wire(byte[] data)
    {
        private int _at;

        public bool AtEnd => _at >= data.Length;

        public (int Field, int Type) Key()
        {
            ulong key = Varint();
            return ((int)(key >> 3), (int)(key & 7));
        }

        public ulong Varint()
        {
            ulong result = 0;
            for (int shift = 0; ; shift += 7)
            {
                byte b = data[_at++];
                result |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return result;
                }
            }
        }

        public ulong Fixed64()
        {
            ulong v = BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(_at));
            _at += 8;
            return v;
        }

        public uint Fixed32()
        {
            uint v = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(_at));
            _at += 4;
            return v;
        }

        public byte[] Bytes()
        {
            int n = (int)Varint();
            byte[] b = data.AsSpan(_at, n).ToArray();
            _at += n;
            return b;
        }

        public void Skip(int type)
        {
            switch (type)
            {
                case 0: Varint(); break;
                case 1: _at += 8; break;
                case 2: Bytes(); break;
                case 5: _at += 4; break;
                default: throw new InvalidDataException($"wire type {type}");
            }
        }
    }

    // Bit by bit (no table), so that it shares nothing with the writer's table-driven CRC.
    private static uint Crc32C(ReadOnlySpan<byte> bytes)
    {
        uint crc = ~0u;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int i = 0; i < 8; i++)
            {
                crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
            }
        }

        return ~crc;
    }

    private static uint Mask(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + 0xA282EAD8u);
}
