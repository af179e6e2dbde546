using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace OnePass.Training.Checkpoints;

/// <summary>
/// Trained weights plus their header, in OnePass's versioned checkpoint format (little-endian):
/// <code>
/// "OPCKPT" (6 bytes ASCII) | format version (int32) | header length in bytes (int32) | header (UTF-8 JSON)
/// | weight count (int32) | weights (float32 × count) | "END!" (4 bytes ASCII)
/// </code>
/// Files are written atomically (a temporary file in the same folder, then a rename), so a killed run leaves
/// either the previous checkpoint or the new one, never half of one.
/// </summary>
public sealed class Checkpoint(CheckpointHeader header, float[] weights)
{
    /// <summary>The format version this build reads and writes.</summary>
    public const int FormatVersion = 1;

    /// <summary>Conventional file name inside a run folder.</summary>
    public const string FileName = "model.ckpt";

    private static readonly byte[] Magic = "OPCKPT"u8.ToArray();
    private static readonly byte[] Trailer = "END!"u8.ToArray();

    /// <summary>The header.</summary>
    public CheckpointHeader Header { get; } = header;

    /// <summary>The flat weight vector, in the model's parameter order.</summary>
    public float[] Weights { get; } = weights;

    /// <summary>Writes the checkpoint to <paramref name="path"/> atomically.</summary>
    public void Save(string path)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + $".tmp-{Environment.ProcessId}";
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(Header);
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            Span<byte> int32 = stackalloc byte[4];
            stream.Write(Magic);
            BinaryPrimitives.WriteInt32LittleEndian(int32, FormatVersion);
            stream.Write(int32);
            BinaryPrimitives.WriteInt32LittleEndian(int32, json.Length);
            stream.Write(int32);
            stream.Write(json);
            BinaryPrimitives.WriteInt32LittleEndian(int32, Weights.Length);
            stream.Write(int32);
            var bytes = new byte[Weights.Length * sizeof(float)];
            for (int i = 0; i < Weights.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), Weights[i]);
            }

            stream.Write(bytes);
            stream.Write(Trailer);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, full, overwrite: true);
    }

    /// <summary>Reads a checkpoint, failing with a <see cref="CheckpointException"/> that says what is wrong.</summary>
    public static Checkpoint Load(string path)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, $"cannot be read ({e.Message})");
        }

        if (data.Length < Magic.Length + 8 || !data.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new CheckpointException(path, "is not a OnePass checkpoint (bad magic bytes)");
        }

        int offset = Magic.Length;
        int version = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset));
        if (version != FormatVersion)
        {
            throw new CheckpointException(path, $"has checkpoint format version {version}; this build of OnePass reads version {FormatVersion}");
        }

        int headerLength = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset + 4));
        offset += 8;
        if (headerLength < 0 || (long)offset + headerLength + 4 > data.Length)
        {
            throw new CheckpointException(path, $"is truncated (header of {headerLength} bytes, file of {data.Length})");
        }

        CheckpointHeader header;
        try
        {
            header = JsonSerializer.Deserialize<CheckpointHeader>(data.AsSpan(offset, headerLength))
                ?? throw new CheckpointException(path, "has an empty header");
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, $"has a corrupt header ({e.Message})");
        }

        offset += headerLength;
        int count = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset));
        offset += 4;
        long expectedEnd = offset + ((long)count * sizeof(float)) + Trailer.Length;
        if (count < 0 || expectedEnd != data.Length || !data.AsSpan(data.Length - Trailer.Length).SequenceEqual(Trailer))
        {
            throw new CheckpointException(path, $"is truncated or corrupt (expected {expectedEnd} bytes for {count} weights, found {data.Length})");
        }

        var weights = new float[count];
        for (int i = 0; i < count; i++)
        {
            weights[i] = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(offset + (i * 4)));
        }

        return new Checkpoint(header, weights);
    }
}
