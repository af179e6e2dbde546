using System.Buffers.Binary;

namespace OnePass.Export;

/// <summary>Reads the true labels or targets that predictions are scored against.</summary>
public static class InferenceLabels
{
    /// <summary>Magic number of an IDX file of unsigned bytes with one dimension (labels).</summary>
    public const int IdxLabelMagic = 0x00000801;

    /// <summary>
    /// Reads <paramref name="path"/>: an IDX labels file (raw or gzip-compressed, magic 0x00000801) or a CIFAR-10
    /// binary batch (<c>.bin</c>; the label byte of each record) gives one column of class indices; anything else is read as CSV (one row per example, optional header), giving
    /// class indices in one column or regression targets in one column per model output.
    /// Throws <see cref="InputFormatException"/> naming the file when it is malformed. <paramref name="columns"/>
    /// (a multi-target model's target names) picks a CSV's columns by name, in that order, when it has a header.
    /// </summary>
    public static InferenceBatch Read(string path, IReadOnlyList<string>? columns = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (InferenceInput.IsCifarBatch(path))
        {
            return InferenceInput.ReadCifarLabels(path);
        }

        using (var stream = InferenceInput.OpenMaybeGzip(path))
        {
            Span<byte> header = stackalloc byte[8];
            int got = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            int magic = got >= 4 ? BinaryPrimitives.ReadInt32BigEndian(header) : 0;
            if (magic == InferenceInput.IdxImageMagic)
            {
                throw new InputFormatException(path, "is an IDX image file; labels must be an IDX labels file (magic 0x00000801) or a CSV file");
            }

            if (magic == IdxLabelMagic)
            {
                if (got < 8)
                {
                    throw new InputFormatException(path, "not an IDX labels file (shorter than its 8-byte header)");
                }

                return ReadIdxLabels(stream, path, BinaryPrimitives.ReadInt32BigEndian(header[4..]));
            }
        }

        return InferenceInput.ReadCsv(path, columns is null ? null : new CsvReadOptions(Columns: columns));
    }

    private static InferenceBatch ReadIdxLabels(Stream stream, string path, int count)
    {
        if (count < 0)
        {
            throw new InputFormatException(path, $"invalid IDX label count {count}");
        }

        var bytes = new byte[count];
        int got = stream.ReadAtLeast(bytes, count, throwOnEndOfStream: false);
        if (got < count)
        {
            throw new InputFormatException(path, $"IDX labels file is truncated: expected {count} labels, found {got}");
        }

        var labels = new float[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = bytes[i];
        }

        return new InferenceBatch(labels, count, 1);
    }
}
