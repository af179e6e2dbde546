using System.Formats.Tar;
using System.IO.Compression;
using OnePass.Training.Data;

namespace OnePass.Training.Tests.Data;

/// <summary>Writes small synthetic CIFAR-10 binary batches (and archives of them) for the tests.</summary>
internal static class Cifar10Files
{
    /// <summary>Records per training batch file in the standard synthetic set.</summary>
    public const int PerTrainFile = 30;

    /// <summary>Records in the test batch file of the standard synthetic set.</summary>
    public const int TestCount = 20;

    /// <summary>Global index of the first test image (training images are numbered from 0).</summary>
    public const int FirstTestImage = 1000;

    /// <summary>Pixel byte of image <paramref name="image"/>, channel c, position y·32+x in its plane.</summary>
    public static byte Pixel(int image, int channel, int position) =>
        (byte)((image * 37 + channel * 85 + position * 7 + position / 32 * 3) % 256);

    /// <summary>Label of image <paramref name="image"/>.</summary>
    public static byte Label(int image) => (byte)(image * 3 % 10);

    /// <summary>A batch of images <paramref name="first"/> .. first+count−1 in the official record format.</summary>
    public static byte[] Batch(int first, int count)
    {
        var bytes = new byte[count * Cifar10.RecordLength];
        for (int r = 0; r < count; r++)
        {
            int image = first + r;
            int offset = r * Cifar10.RecordLength;
            bytes[offset] = Label(image);
            for (int c = 0; c < 3; c++)
            {
                for (int p = 0; p < 1024; p++)
                {
                    bytes[offset + 1 + c * 1024 + p] = Pixel(image, c, p);
                }
            }
        }

        return bytes;
    }

    /// <summary>
    /// Writes the six batch files into <paramref name="directory"/>: training file k holds
    /// <c>trainCounts[k]</c> images numbered consecutively from 0 (default 30 each), the test file
    /// <see cref="TestCount"/> images numbered from <see cref="FirstTestImage"/>.
    /// </summary>
    public static void WriteSet(string directory, int[]? trainCounts = null)
    {
        trainCounts ??= [PerTrainFile, PerTrainFile, PerTrainFile, PerTrainFile, PerTrainFile];
        Directory.CreateDirectory(directory);
        int first = 0;
        for (int k = 0; k < 5; k++)
        {
            File.WriteAllBytes(Path.Combine(directory, Cifar10.TrainFiles[k]), Batch(first, trainCounts[k]));
            first += trainCounts[k];
        }

        File.WriteAllBytes(Path.Combine(directory, Cifar10.TestFile), Batch(FirstTestImage, TestCount));
    }

    /// <summary>
    /// A <c>.tar.gz</c> holding the given entries, in order: a name ending in <c>/</c> with null
    /// content is a directory entry, any other name a regular file.
    /// </summary>
    public static byte[] Archive(IEnumerable<(string Name, byte[]? Content)> entries)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Gnu, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                if (content is null)
                {
                    tar.WriteEntry(new GnuTarEntry(TarEntryType.Directory, name));
                }
                else
                {
                    tar.WriteEntry(new GnuTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
                }
            }
        }

        return memory.ToArray();
    }

    /// <summary>
    /// An archive laid out like the official one: a <c>cifar-10-batches-bin/</c> folder with the
    /// six batch files of <paramref name="source"/> and the two text files the official archive has.
    /// </summary>
    public static byte[] OfficialLayoutArchive(string source, params (string Name, byte[]? Content)[] extra)
    {
        var entries = new List<(string, byte[]?)> { ("cifar-10-batches-bin/", null) };
        entries.Add(("cifar-10-batches-bin/batches.meta.txt", "airplane\nautomobile\n"u8.ToArray()));
        entries.AddRange(Cifar10.FileNames.Select(f => ("cifar-10-batches-bin/" + f, (byte[]?)File.ReadAllBytes(Path.Combine(source, f)))));
        entries.Add(("cifar-10-batches-bin/readme.html", "<html></html>"u8.ToArray()));
        entries.AddRange(extra);
        return Archive(entries);
    }
}
