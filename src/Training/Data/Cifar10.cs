using System.Runtime.CompilerServices;

namespace OnePass.Training.Data;

/// <summary>
/// Loads CIFAR-10 from the official binary batches (<c>cifar-10-batches-bin</c>). Each record of a
/// batch file is one label byte followed by 3072 pixel bytes: the red, green and blue planes, each
/// 32×32 in row-major order. Inputs are stored per image in that same channel × row × column order
/// and normalised per channel with the customary CIFAR-10 constants
/// (<c>x = (byte / 255 − mean_c) / std_c</c>); the <see cref="Normalisation"/> of the data set is in
/// byte units, so it maps the raw byte 0..255 to the stored value.
/// </summary>
public static class Cifar10
{
    /// <summary>Data set name used in <see cref="DataSet.Name"/>.</summary>
    public const string Name = "cifar10";

    /// <summary>Number of classes.</summary>
    public const int ClassCount = 10;

    /// <summary>Colour channels per image (red, green, blue).</summary>
    public const int Channels = 3;

    /// <summary>Image height and width in pixels.</summary>
    public const int ImageSize = 32;

    /// <summary>Input features per image: <see cref="Channels"/> × 32 × 32.</summary>
    public const int InputWidth = Channels * ImageSize * ImageSize;

    /// <summary>Bytes per record: one label byte and <see cref="InputWidth"/> pixel bytes.</summary>
    public const int RecordLength = 1 + InputWidth;

    /// <summary>The folder the official archive unpacks to.</summary>
    public const string BatchesFolder = "cifar-10-batches-bin";

    /// <summary>Test batch file name.</summary>
    public const string TestFile = "test_batch.bin";

    /// <summary>The five training batch file names, in the order their images are concatenated.</summary>
    public static IReadOnlyList<string> TrainFiles { get; } =
        ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];

    /// <summary>The six batch file names that make up the data set (training batches, then the test batch).</summary>
    public static IReadOnlyList<string> FileNames { get; } = [.. TrainFiles, TestFile];

    /// <summary>Per-channel mean (red, green, blue) of the training pixels scaled to [0, 1].</summary>
    public static IReadOnlyList<double> ChannelMean { get; } = [0.4914, 0.4822, 0.4465];

    /// <summary>Per-channel standard deviation (red, green, blue) of the training pixels scaled to [0, 1].</summary>
    public static IReadOnlyList<double> ChannelStd { get; } = [0.247, 0.243, 0.261];

    /// <summary>
    /// The folder the batch files are read from: <paramref name="directory"/> itself when it holds
    /// any of the six files, else its <c>cifar-10-batches-bin</c> subfolder when that exists, else
    /// <paramref name="directory"/> (so that errors name the files missing there).
    /// </summary>
    public static string ResolveDirectory(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (FileNames.Any(f => File.Exists(Path.Combine(directory, f))))
        {
            return directory;
        }

        string sub = Path.Combine(directory, BatchesFolder);
        return Directory.Exists(sub) ? sub : directory;
    }

    /// <summary>
    /// The normalisation in byte units: for every feature of channel <c>c</c>, mean
    /// <c>255 · ChannelMean[c]</c> and standard deviation <c>255 · ChannelStd[c]</c>.
    /// </summary>
    public static Normalisation ByteNormalisation()
    {
        const int plane = ImageSize * ImageSize;
        var mean = new float[InputWidth];
        var std = new float[InputWidth];
        for (int c = 0; c < Channels; c++)
        {
            mean.AsSpan(c * plane, plane).Fill((float)(255 * ChannelMean[c]));
            std.AsSpan(c * plane, plane).Fill((float)(255 * ChannelStd[c]));
        }

        return new Normalisation(mean, std);
    }

    /// <summary>
    /// Loads the data set. The training batches are concatenated in file order; the last
    /// <paramref name="validationCount"/> of their images form the validation split and the test
    /// batch the test split. A batch file may hold any positive number of records (the official
    /// files hold 10 000 each).
    /// </summary>
    /// <param name="directory">
    /// Folder holding the six <c>.bin</c> files, or a folder with a <c>cifar-10-batches-bin</c>
    /// subfolder holding them.
    /// </param>
    /// <param name="validationCount">Training images held out for validation (default 5 000).</param>
    /// <exception cref="DataFormatException">A file is missing, truncated or holds a label above 9.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="validationCount"/> is negative or leaves no training image.
    /// </exception>
    public static DataSet Load(string directory, int validationCount = 5000)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(validationCount);
        return Load(directory, _ => validationCount);
    }

    /// <summary>
    /// Loads the data set with <paramref name="validationProportion"/> of the training images (rounded) held out
    /// for validation, the last ones in file order (0.1 gives the reference's 45 000 / 5 000).
    /// </summary>
    public static DataSet Load(string directory, double validationProportion)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(validationProportion);
        return Load(directory, total => (int)Math.Round(validationProportion * total));
    }

    private static DataSet Load(string directory, Func<int, int> validationFor)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string folder = ResolveDirectory(directory);

        var paths = FileNames.Select(f => Path.Combine(folder, f)).ToArray();
        foreach (string path in paths)
        {
            if (!File.Exists(path))
            {
                throw new DataFormatException(
                    path, $"file not found (a CIFAR-10 binary folder holds {string.Join(", ", FileNames)}).");
            }
        }

        // Lengths first, so that a truncated file is reported before any work is done.
        var counts = paths.Select(RecordCount).ToArray();
        int trainTotal = 0;
        for (int i = 0; i < TrainFiles.Count; i++)
        {
            trainTotal = checked(trainTotal + counts[i]);
        }

        int validationCount = validationFor(trainTotal);
        if (validationCount >= trainTotal)
        {
            throw new DataFormatException(
                paths[0],
                $"and the other training batches hold {trainTotal} images; a validation split of {validationCount} leaves none for training (validation_proportion sets the split).");
        }

        var normalisation = ByteNormalisation();
        var tables = new float[Channels][];
        for (int c = 0; c < Channels; c++)
        {
            float mean = normalisation.InputMean[c * ImageSize * ImageSize];
            float std = normalisation.InputStd[c * ImageSize * ImageSize];
            tables[c] = new float[256];
            for (int v = 0; v < 256; v++)
            {
                tables[c][v] = (v - mean) / std;
            }
        }

        int trainCount = trainTotal - validationCount;
        int testCount = counts[^1];
        var trainInputs = GC.AllocateUninitializedArray<float>(checked(trainCount * InputWidth));
        var trainTargets = new float[trainCount];
        var validationInputs = GC.AllocateUninitializedArray<float>(checked(validationCount * InputWidth));
        var validationTargets = new float[validationCount];
        var testInputs = GC.AllocateUninitializedArray<float>(checked(testCount * InputWidth));
        var testTargets = new float[testCount];

        // One file at a time through one buffer: the files are read whole, but never all held at once.
        var buffer = GC.AllocateUninitializedArray<byte>(counts.Max() * RecordLength);
        int offset = 0;
        for (int i = 0; i < TrainFiles.Count; i++)
        {
            ReadBatch(paths[i], buffer, counts[i]);
            int first = offset;
            Parallel.For(0, counts[i], r =>
            {
                int g = first + r;
                if (g < trainCount)
                {
                    Convert(buffer, r, tables, trainInputs, trainTargets, g);
                }
                else
                {
                    Convert(buffer, r, tables, validationInputs, validationTargets, g - trainCount);
                }
            });
            offset += counts[i];
        }

        ReadBatch(paths[^1], buffer, testCount);
        Parallel.For(0, testCount, r => Convert(buffer, r, tables, testInputs, testTargets, r));

        return new DataSet(
            Name,
            TaskKind.Classification,
            InputWidth,
            ClassCount,
            new DataSplit(trainInputs, trainTargets, trainCount, InputWidth),
            new DataSplit(validationInputs, validationTargets, validationCount, InputWidth),
            new DataSplit(testInputs, testTargets, testCount, InputWidth),
            normalisation)
        {
            ImageShape = [Channels, ImageSize, ImageSize],
        };
    }

    /// <summary>The number of records in a batch file, from its length, which must be a positive multiple of a record.</summary>
    private static int RecordCount(string path)
    {
        long length;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, $"cannot be read: {e.Message}", e);
        }

        if (length == 0 || length % RecordLength != 0)
        {
            throw new DataFormatException(
                path,
                $"length {length} bytes is not a positive multiple of the {RecordLength}-byte record "
                + $"(1 label byte + {InputWidth} pixel bytes); the file is truncated or not a CIFAR-10 binary batch.");
        }

        if (length / RecordLength > Array.MaxLength / RecordLength)
        {
            throw new DataFormatException(path, $"length {length} bytes is too large for a CIFAR-10 binary batch.");
        }

        return (int)(length / RecordLength);
    }

    /// <summary>Reads the <paramref name="records"/> records of a batch file into <paramref name="buffer"/> and checks the labels.</summary>
    private static void ReadBatch(string path, byte[] buffer, int records)
    {
        int length = records * RecordLength;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            int read = stream.ReadAtLeast(buffer.AsSpan(0, length), length, throwOnEndOfStream: false);
            if (read < length)
            {
                throw new DataFormatException(path, $"ends after {read} of {length} bytes (the file shrank while being read).");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, $"cannot be read: {e.Message}", e);
        }

        for (int r = 0; r < records; r++)
        {
            byte label = buffer[r * RecordLength];
            if (label >= ClassCount)
            {
                throw new DataFormatException(
                    path, $"record {r} (byte offset {(long)r * RecordLength}): label {label} is out of range 0..{ClassCount - 1}.");
            }
        }
    }

    /// <summary>Normalises record <paramref name="record"/> of a batch into row <paramref name="row"/>.</summary>
    /// <remarks>Compiled optimised at once: a data set is loaded once per process, before tiering would help.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Convert(byte[] batch, int record, float[][] tables, float[] inputs, float[] targets, int row)
    {
        const int plane = ImageSize * ImageSize;
        var source = batch.AsSpan(record * RecordLength, RecordLength);
        targets[row] = source[0];
        var destination = inputs.AsSpan(checked(row * InputWidth), InputWidth);
        for (int c = 0; c < Channels; c++)
        {
            float[] table = tables[c];
            var src = source.Slice(1 + c * plane, plane);
            var dst = destination.Slice(c * plane, plane);
            for (int p = 0; p < plane; p++)
            {
                dst[p] = table[src[p]];
            }
        }
    }
}
