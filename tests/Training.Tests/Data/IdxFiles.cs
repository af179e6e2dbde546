using System.Buffers.Binary;
using System.IO.Compression;
using OnePass.Training.Data;

namespace OnePass.Training.Tests.Data;

/// <summary>Writes small synthetic IDX files for the tests.</summary>
internal static class IdxFiles
{
    public static byte[] Images(int count, int rows, int columns, Func<int, int, byte> pixel, int magic = 0x00000803)
    {
        var bytes = new byte[16 + count * rows * columns];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), columns);
        int width = rows * columns;
        for (int i = 0; i < count; i++)
        {
            for (int p = 0; p < width; p++)
            {
                bytes[16 + i * width + p] = pixel(i, p);
            }
        }

        return bytes;
    }

    public static byte[] Labels(byte[] labels, int magic = 0x00000801)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), labels.Length);
        labels.CopyTo(bytes, 8);
        return bytes;
    }

    public static byte[] Gzip(byte[] data)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return memory.ToArray();
    }

    /// <summary>Pixel value of image i, pixel p in the standard synthetic set.</summary>
    public static byte Pixel(int i, int p) => (byte)(i * 40 + p * 10);

    /// <summary>
    /// Writes a complete set: 3 training images (2×2) and 2 test images, raw or gzip
    /// (gzip files get the .gz suffix).
    /// </summary>
    public static void WriteSet(string directory, bool gzip)
    {
        void Write(string name, byte[] content)
        {
            if (gzip)
            {
                File.WriteAllBytes(Path.Combine(directory, name + ".gz"), Gzip(content));
            }
            else
            {
                File.WriteAllBytes(Path.Combine(directory, name), content);
            }
        }

        Write(FashionMnist.TrainImagesFile, Images(3, 2, 2, Pixel));
        Write(FashionMnist.TrainLabelsFile, Labels([1, 9, 0]));
        Write(FashionMnist.TestImagesFile, Images(2, 2, 2, (i, p) => (byte)(200 + i + p)));
        Write(FashionMnist.TestLabelsFile, Labels([4, 5]));
    }
}
