using System.Buffers.Binary;
using System.IO.Compression;

namespace OnePass.Training.Data;

/// <summary>Reads unsigned-byte IDX files (the MNIST container format), raw or gzip-compressed.</summary>
internal static class IdxReader
{
    /// <summary>Magic number of a rank-3 unsigned-byte IDX file (images).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of a rank-1 unsigned-byte IDX file (labels).</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>Reads an images file: <c>count × rows × columns</c> bytes.</summary>
    public static IdxImages ReadImages(string path)
    {
        using var stream = Open(path, out bool gzip);
        var header = ReadHeader(stream, 16, ImagesMagic, path, gzip);
        int count = ReadDimension(header, 4, "image count", path);
        int rows = ReadDimension(header, 8, "row count", path);
        int columns = ReadDimension(header, 12, "column count", path);
        long size = (long)count * rows * columns;
        if (size > Array.MaxLength)
        {
            throw new DataFormatException(path, $"declares {count} × {rows} × {columns} = {size} pixels, more than one array can hold.");
        }

        var pixels = new byte[size];
        ReadExactly(stream, pixels, header.Length, header.Length + size, path, gzip);
        CheckAtEnd(stream, header.Length + size, path, gzip);
        return new IdxImages(pixels, count, rows, columns);
    }

    /// <summary>Reads a labels file: one byte per label.</summary>
    public static byte[] ReadLabels(string path)
    {
        using var stream = Open(path, out bool gzip);
        var header = ReadHeader(stream, 8, LabelsMagic, path, gzip);
        int count = ReadDimension(header, 4, "label count", path);
        var labels = new byte[count];
        ReadExactly(stream, labels, header.Length, header.Length + (long)count, path, gzip);
        CheckAtEnd(stream, header.Length + (long)count, path, gzip);
        return labels;
    }

    /// <summary>Whether the file starts with the gzip magic bytes 1f 8b.</summary>
    public static bool IsGzip(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[2];
        return file.ReadAtLeast(magic, 2, throwOnEndOfStream: false) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    }

    private static Stream Open(string path, out bool gzip)
    {
        if (!File.Exists(path))
        {
            throw new DataFormatException(path, $"file not found (expected the file at {path}).");
        }

        try
        {
            gzip = IsGzip(path);
            var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return gzip ? new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16) : file;
        }
        catch (IOException e)
        {
            throw new DataFormatException(path, $"cannot be read: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new DataFormatException(path, $"cannot be read: {e.Message}", e);
        }
    }

    /// <summary>
    /// Fills <paramref name="buffer"/>; <paramref name="offset"/> and <paramref name="end"/> are the
    /// positions (in the decompressed content) of the buffer's start and end, for the message.
    /// </summary>
    private static void ReadExactly(Stream stream, byte[] buffer, long offset, long end, string path, bool gzip)
    {
        int read;
        try
        {
            read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, $"corrupt gzip data after about {offset} decompressed bytes: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new DataFormatException(path, $"cannot be read: {e.Message}", e);
        }

        if (read < buffer.Length)
        {
            string what = gzip ? "truncated gzip data: the decompressed content" : "truncated file: it";
            throw new DataFormatException(path, $"{what} ends after {offset + read} of {end} bytes.");
        }
    }

    private static void CheckAtEnd(Stream stream, long expected, string path, bool gzip)
    {
        Span<byte> one = stackalloc byte[1];
        int extra;
        try
        {
            extra = stream.Read(one);
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, $"corrupt gzip data after {expected} decompressed bytes: {e.Message}", e);
        }

        if (extra != 0)
        {
            string what = gzip ? "decompressed content" : "file";
            throw new DataFormatException(path, $"the {what} has extra data after the {expected} bytes its header declares.");
        }
    }

    /// <summary>Reads and checks the magic number first, so a wrong file type is named as such.</summary>
    private static byte[] ReadHeader(Stream stream, int length, int magic, string path, bool gzip)
    {
        var header = new byte[length];
        var first = new byte[4];
        ReadExactly(stream, first, 0, length, path, gzip);
        CheckMagic(first, magic, path);
        first.CopyTo(header, 0);
        var rest = new byte[length - 4];
        ReadExactly(stream, rest, 4, length, path, gzip);
        rest.CopyTo(header, 4);
        return header;
    }

    private static void CheckMagic(byte[] header, int expected, string path)
    {
        int found = BinaryPrimitives.ReadInt32BigEndian(header);
        if (found != expected)
        {
            string hint = found switch
            {
                ImagesMagic => " (this is an images file)",
                LabelsMagic => " (this is a labels file)",
                _ => string.Empty,
            };
            throw new DataFormatException(
                path, $"wrong magic number: expected 0x{expected:X8}, found 0x{found:X8}{hint}.");
        }
    }

    private static int ReadDimension(byte[] header, int offset, string what, string path)
    {
        int value = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(offset));
        if (value < 0 || (value == 0 && what != "image count" && what != "label count"))
        {
            throw new DataFormatException(path, $"invalid {what} {value} in the header.");
        }

        return value;
    }
}
