using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;

namespace OnePass.Export;

/// <summary>Readers for inference inputs: numeric CSV files, IDX image files and CIFAR-10 binary batch files.</summary>
public static class InferenceInput
{
    /// <summary>Magic number of an IDX file of unsigned bytes with three dimensions (images × rows × cols).</summary>
    public const int IdxImageMagic = 0x00000803;

    /// <summary>Bytes per record of a CIFAR-10 binary batch file: one label byte, then 3 × 32 × 32 pixel bytes.</summary>
    public const int CifarRecordLength = 1 + CifarImageBytes;

    /// <summary>Pixel bytes per CIFAR-10 image: the red, green and blue 32 × 32 planes, each row-major.</summary>
    public const int CifarImageBytes = 3 * 32 * 32;

    /// <summary>Extension of CIFAR-10 binary batch files (data_batch_1.bin … test_batch.bin).</summary>
    public const string CifarExtension = ".bin";

    /// <summary>
    /// Reads a comma-separated file with one example per line. The first line is a header when every one of
    /// its cells is a non-numeric name (or as <paramref name="options"/> declare); anywhere else a non-numeric
    /// or empty cell, a NaN, infinite or out-of-range value (unless allowed), or a row whose length differs
    /// from the first, is an <see cref="InputFormatException"/> naming file, line and column. Blank lines are ignored.
    /// With <see cref="CsvReadOptions.Columns"/> and a header, only those columns are read, in that order.
    /// </summary>
    public static InferenceBatch ReadCsv(string path, CsvReadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= CsvReadOptions.Default;
        using var reader = OpenText(path);
        var values = new List<float>();
        string[]? header = null;
        var width = -1;
        var rows = 0;
        var lineNumber = 0;
        var firstContentLine = true;
        int[]? selected = null;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var cells = line.Split(',');
            if (firstContentLine)
            {
                firstContentLine = false;
                if (options.IsHeader(cells))
                {
                    header = cells.Select(c => c.Trim().Trim('"')).ToArray();
                    width = cells.Length;
                    if (options.Columns is { } wanted)
                    {
                        selected = wanted.Select(name => Array.IndexOf(header, name) is var i and >= 0 ? i
                            : throw new InputFormatException(path, $"the header has no column '{name}'; the model takes {string.Join(", ", wanted)} (in any order; other columns are ignored)", lineNumber)).ToArray();
                    }

                    continue;
                }
            }

            if (width < 0)
            {
                width = cells.Length;
            }
            else if (cells.Length != width)
            {
                throw new InputFormatException(path, $"row has {cells.Length} values, expected {width}", lineNumber);
            }

            for (var k = 0; k < (selected?.Length ?? cells.Length); k++)
            {
                var c = selected is null ? k : selected[k];
                if (!TryParse(cells[c], out var v))
                {
                    var shown = cells[c].Trim();
                    string hint = rows == 0 && header is null && options.Header == CsvHeader.Auto
                        ? " (a header row needs a name in every cell; --header declares one)" : "";
                    throw new InputFormatException(path, (shown.Length == 0 ? "empty cell, expected a number" : $"'{Truncate(shown)}' is not a number") + hint, lineNumber, c + 1);
                }

                if (!float.IsFinite(v) && !options.AllowNonFinite)
                {
                    string shown = Truncate(cells[c].Trim());
                    string what = double.TryParse(shown, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d)
                        ? "is out of float32 range" : "is not a finite number";
                    throw new InputFormatException(path, $"'{shown}' {what} (--allow-nonfinite passes such values through)", lineNumber, c + 1);
                }

                values.Add(v);
            }

            rows++;
        }

        if (rows == 0)
        {
            throw new InputFormatException(path, "no data rows");
        }

        return selected is null
            ? new InferenceBatch(values.ToArray(), rows, width, header)
            : new InferenceBatch(values.ToArray(), rows, selected.Length, options.Columns);
    }

    /// <summary>
    /// Reads an IDX image file (raw or gzip-compressed, magic 0x00000803) and flattens each image
    /// to rows × cols floats holding the raw byte values 0..255; the batch's <see cref="InferenceBatch.Shape"/> is [rows, cols].
    /// </summary>
    public static InferenceBatch ReadIdxImages(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var stream = OpenMaybeGzip(path);
        Span<byte> headerBytes = stackalloc byte[16];
        if (!ReadFully(stream, headerBytes))
        {
            throw new InputFormatException(path, "not an IDX image file (shorter than its 16-byte header)");
        }

        var magic = BinaryPrimitives.ReadInt32BigEndian(headerBytes);
        if (magic != IdxImageMagic)
        {
            throw new InputFormatException(path, $"not an IDX image file (magic 0x{magic:X8}, expected 0x{IdxImageMagic:X8})");
        }

        var count = BinaryPrimitives.ReadInt32BigEndian(headerBytes[4..]);
        var height = BinaryPrimitives.ReadInt32BigEndian(headerBytes[8..]);
        var widthPx = BinaryPrimitives.ReadInt32BigEndian(headerBytes[12..]);
        if (count < 0 || height <= 0 || widthPx <= 0)
        {
            throw new InputFormatException(path, $"invalid IDX dimensions {count} × {height} × {widthPx}");
        }

        var width = (long)height * widthPx;
        var total = count * width;
        if (total > Array.MaxLength)
        {
            throw new InputFormatException(path, $"IDX file too large ({count} images of {height} × {widthPx})");
        }

        var data = new float[total];
        var buffer = new byte[Math.Max(1, Math.Min(total, 1 << 16))];
        long offset = 0;
        while (offset < total)
        {
            var want = (int)Math.Min(buffer.Length, total - offset);
            var got = stream.ReadAtLeast(buffer.AsSpan(0, want), want, throwOnEndOfStream: false);
            for (var i = 0; i < got; i++)
            {
                data[offset + i] = buffer[i];
            }

            offset += got;
            if (got < want)
            {
                throw new InputFormatException(path, $"IDX file is truncated: expected {count} images of {height} × {widthPx} bytes, data ends after {offset} bytes");
            }
        }

        return new InferenceBatch(data, count, (int)width, Shape: [height, widthPx]);
    }

    /// <summary>
    /// Whether <paramref name="path"/> is read as a CIFAR-10 binary batch: its extension is <c>.bin</c>
    /// (any case). Its length must then be a positive multiple of <see cref="CifarRecordLength"/>.
    /// </summary>
    public static bool IsCifarBatch(string path) =>
        string.Equals(Path.GetExtension(path), CifarExtension, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Reads a CIFAR-10 binary batch file (records of 1 label byte + 3072 pixel bytes) into rows of 3072 floats
    /// holding the raw byte values 0..255, channel-major as the file stores them (shape [3, 32, 32]), and the label
    /// of each record. Throws <see cref="InputFormatException"/> when the length is not a positive multiple of 3073
    /// or a label is above 9.
    /// </summary>
    public static (InferenceBatch Images, InferenceBatch Labels) ReadCifarBatch(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var (images, labels) = ReadCifar(path, withImages: true);
        return (images!, labels);
    }

    /// <summary>The labels (one column of class indices 0-9) of a CIFAR-10 binary batch, without its pixels.</summary>
    public static InferenceBatch ReadCifarLabels(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return ReadCifar(path, withImages: false).Labels;
    }

    private static (InferenceBatch? Images, InferenceBatch Labels) ReadCifar(string path, bool withImages)
    {
        long length = CifarLength(path);
        long count = length / CifarRecordLength;
        if ((count * CifarImageBytes) > Array.MaxLength)
        {
            throw new InputFormatException(path, $"CIFAR-10 batch too large ({count} images)");
        }

        var images = withImages ? new float[count * CifarImageBytes] : null;
        var labels = new float[count];
        var record = new byte[CifarRecordLength];
        using var stream = File.OpenRead(path);
        for (long r = 0; r < count; r++)
        {
            stream.ReadExactly(record);
            if (record[0] > 9)
            {
                throw new InputFormatException(path, $"record {r + 1} has label {record[0]}; CIFAR-10 labels are 0-9");
            }

            labels[r] = record[0];
            if (images is null)
            {
                continue;
            }

            var target = images.AsSpan((int)(r * CifarImageBytes), CifarImageBytes);
            for (var i = 0; i < CifarImageBytes; i++)
            {
                target[i] = record[i + 1];
            }
        }

        var imageBatch = images is null ? null : new InferenceBatch(images, (int)count, CifarImageBytes, Shape: [3, 32, 32]);
        return (imageBatch, new InferenceBatch(labels, (int)count, 1));
    }

    /// <summary>The file's length, checked to be a positive multiple of <see cref="CifarRecordLength"/>.</summary>
    internal static long CifarLength(string path)
    {
        long length;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (FileNotFoundException e)
        {
            throw new InputFormatException(path, "file not found", innerException: e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new InputFormatException(path, "file not found", innerException: e);
        }

        if (length == 0 || length % CifarRecordLength != 0)
        {
            throw new InputFormatException(path,
                $"not a CIFAR-10 binary batch: {length} bytes is not a positive multiple of the {CifarRecordLength}-byte record (1 label byte + 3×32×32 pixel bytes)");
        }

        return length;
    }

    /// <summary>
    /// Reads <paramref name="path"/> as a CIFAR-10 binary batch when its extension is <c>.bin</c> (see
    /// <see cref="ReadCifarBatch"/>; the labels are dropped), as IDX when it starts with the IDX image magic
    /// (possibly gzip-compressed), otherwise as CSV.
    /// </summary>
    public static InferenceBatch Read(string path, CsvReadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (IsCifarBatch(path))
        {
            return ReadCifarBatch(path).Images;
        }

        using (var probe = OpenMaybeGzip(path))
        {
            Span<byte> head = stackalloc byte[4];
            if (ReadFully(probe, head) && BinaryPrimitives.ReadInt32BigEndian(head) == IdxImageMagic)
            {
                return ReadIdxImages(path);
            }
        }

        return ReadCsv(path, options);
    }

    private static bool TryParse(string cell, out float value) =>
        float.TryParse(cell.AsSpan().Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";

    private static bool ReadFully(Stream stream, Span<byte> buffer) =>
        stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false) == buffer.Length;

    private static TextReader OpenText(string path) => new StreamReader(OpenMaybeGzip(path));

    internal static Stream OpenMaybeGzip(string path)
    {
        if (Directory.Exists(path))
        {
            throw new InputFormatException(path, "is a folder, not a file");
        }

        FileStream file;
        try
        {
            file = File.OpenRead(path);
        }
        catch (FileNotFoundException e)
        {
            throw new InputFormatException(path, "file not found", innerException: e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new InputFormatException(path, "file not found", innerException: e);
        }

        Span<byte> magic = stackalloc byte[2];
        var n = file.Read(magic);
        file.Position = 0;
        if (n == 2 && magic[0] == 0x1F && magic[1] == 0x8B)
        {
            return new GZipStream(file, CompressionMode.Decompress);
        }

        return file;
    }
}
