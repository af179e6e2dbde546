using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace OnePass.Training.Checkpoints;

/// <summary>
/// Trained weights, the model's non-parameter state (batch-norm running statistics) and their header, in
/// OnePass's versioned checkpoint format (little-endian). Version 2:
/// <code>
/// "OPCKPT" (6 bytes ASCII) | format version (int32) | header length in bytes (int32) | header (UTF-8 JSON)
/// | weight count (int32) | weights (float32 × count) | state count (int32) | state (float32 × count) | "END!"
/// </code>
/// The header records the SHA-256 of everything between the header and "END!" (<c>payload_sha256</c>),
/// verified on load, so a flipped byte is an error rather than a model that predicts NaN. Version 1 (no state,
/// no checksum) still loads, with a <see cref="Warning"/>. Files are written atomically (a temporary file in the
/// same folder, then a rename), so a killed run leaves either the previous checkpoint or the new one.
/// </summary>
public sealed class Checkpoint(CheckpointHeader header, float[] weights, float[]? state = null)
{
    /// <summary>The format version this build writes (it reads this one and version 1).</summary>
    public const int FormatVersion = 2;

    /// <summary>Conventional file name inside a run folder.</summary>
    public const string FileName = "model.ckpt";

    private static readonly byte[] Magic = "OPCKPT"u8.ToArray();
    private static readonly byte[] Trailer = "END!"u8.ToArray();

    /// <summary>The header.</summary>
    public CheckpointHeader Header { get; } = header;

    /// <summary>The flat weight vector, in the model's parameter order.</summary>
    public float[] Weights { get; } = weights;

    /// <summary>The model's flat non-parameter state (empty for models without any, and for version-1 files).</summary>
    public float[] State { get; } = state ?? [];

    /// <summary>A note for the user about how the file was read (e.g. an old format without a checksum), or null.</summary>
    public string? Warning { get; private init; }

    /// <summary>Writes the checkpoint to <paramref name="path"/> atomically.</summary>
    public void Save(string path)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + $".tmp-{Environment.ProcessId}";
        byte[] payload = new byte[8 + ((Weights.Length + State.Length) * sizeof(float))];
        BinaryPrimitives.WriteInt32LittleEndian(payload, Weights.Length);
        MemoryMarshal.AsBytes(Weights.AsSpan()).CopyTo(payload.AsSpan(4));
        int stateAt = 4 + (Weights.Length * sizeof(float));
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(stateAt), State.Length);
        MemoryMarshal.AsBytes(State.AsSpan()).CopyTo(payload.AsSpan(stateAt + 4));
        var header = Header with { PayloadSha256 = Convert.ToHexStringLower(SHA256.HashData(payload)) };
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                Span<byte> int32 = stackalloc byte[4];
                stream.Write(Magic);
                BinaryPrimitives.WriteInt32LittleEndian(int32, FormatVersion);
                stream.Write(int32);
                BinaryPrimitives.WriteInt32LittleEndian(int32, json.Length);
                stream.Write(int32);
                stream.Write(json);
                stream.Write(payload);
                stream.Write(Trailer);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
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
        if (version is not (1 or FormatVersion))
        {
            throw new CheckpointException(path, $"has checkpoint format version {version}; this build of OnePass reads versions 1 and {FormatVersion}");
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
        int payloadStart = offset;
        float[] weights = ReadFloats(data, ref offset, path, "weights");
        float[] state = version == 1 ? [] : ReadFloats(data, ref offset, path, "state values");
        if (offset + Trailer.Length != data.Length || !data.AsSpan(offset).SequenceEqual(Trailer))
        {
            throw new CheckpointException(path, $"is truncated or corrupt (expected {offset + Trailer.Length} bytes for {weights.Length} weights and {state.Length} state values, found {data.Length})");
        }

        if (version == 1)
        {
            return new Checkpoint(header, weights, state) { Warning = $"{path}: checkpoint format 1 has no checksum; its weights are not verified (training again writes format {FormatVersion})" };
        }

        string actual = Convert.ToHexStringLower(SHA256.HashData(data.AsSpan(payloadStart, offset - payloadStart)));
        if (!string.Equals(actual, header.PayloadSha256, StringComparison.Ordinal))
        {
            throw new CheckpointException(path, $"is corrupt: the weights' SHA-256 is {actual}, the header records {(string.IsNullOrEmpty(header.PayloadSha256) ? "none" : header.PayloadSha256)}");
        }

        return new Checkpoint(header, weights, state);
    }

    private static float[] ReadFloats(byte[] data, ref int offset, string path, string what)
    {
        if ((long)offset + 4 > data.Length)
        {
            throw new CheckpointException(path, $"is truncated before its {what} ({data.Length} bytes)");
        }

        int count = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset));
        offset += 4;
        long end = offset + ((long)count * sizeof(float));
        if (count < 0 || end + 4 > data.Length)
        {
            throw new CheckpointException(path, $"is truncated or corrupt (it announces {count} {what}; the file has {data.Length} bytes)");
        }

        var values = new float[count];
        data.AsSpan(offset, count * sizeof(float)).CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        offset = (int)end;
        return values;
    }
}
