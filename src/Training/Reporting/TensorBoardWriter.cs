using System.Buffers.Binary;
using System.Globalization;
using Google.Protobuf;
using OnePass.Training.Reporting.TensorBoardProto;

namespace OnePass.Training.Reporting;

/// <summary>
/// Writes a TensorBoard event file (<c>events.out.tfevents.&lt;unix time&gt;.&lt;host&gt;.&lt;pid&gt;</c>) in a run
/// folder: a <c>file_version: "brain.Event:2"</c> record, then one record per <see cref="Write"/> holding every
/// scalar of that step. Records use TFRecord framing (little-endian uint64 length, masked CRC-32C of the length,
/// the serialised Event, masked CRC-32C of it) and are flushed one by one, so a killed run keeps every record
/// written. The file is created by the first <see cref="Write"/>, and a new writer removes the event files an
/// earlier run left in the same folder (as metrics.csv is overwritten), so that TensorBoard never shows two runs'
/// curves as one.
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    /// <summary>The version string TensorBoard expects in a file's first record.</summary>
    public const string FileVersion = "brain.Event:2";

    /// <summary>The part of an event file's name that TensorBoard looks for.</summary>
    public const string FileNameMarker = "events.out.tfevents.";

    private readonly string _folder;
    private readonly Func<double> _clock;
    private FileStream? _stream;
    private bool _disposed;

    /// <summary>Prepares a writer for <paramref name="folder"/>; <paramref name="clock"/> gives wall time in Unix seconds (default: now).</summary>
    public TensorBoardWriter(string folder, Func<double>? clock = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        _folder = folder;
        _clock = clock ?? (() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
    }

    /// <summary>The event file, once the first record is written; null before.</summary>
    public string? FilePath { get; private set; }

    /// <summary>
    /// Appends one event at <paramref name="step"/> with a scalar per entry (tag → value; written as float32, as
    /// TensorBoard stores scalars). Non-finite values are written as they are: TensorBoard shows them as gaps.
    /// </summary>
    public void Write(long step, IReadOnlyDictionary<string, double> scalars)
    {
        ArgumentNullException.ThrowIfNull(scalars);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var summary = new Summary();
        foreach (var (tag, value) in scalars)
        {
            summary.Value.Add(new Summary.Types.Value { Tag = tag, SimpleValue = (float)value });
        }

        var stream = Open();
        WriteRecord(stream, new Event { WallTime = _clock(), Step = step, Summary = summary });
        stream.Flush();
    }

    /// <summary>
    /// Appends one metrics.csv row: every column with a value, tagged by <see cref="TensorBoardTags.For"/>. The
    /// <c>step</c> column is the event's step rather than a scalar.
    /// </summary>
    public void WriteMetricsRow(long step, IEnumerable<KeyValuePair<string, double?>> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        var scalars = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (column, value) in columns)
        {
            if (value is { } v && column != "step")
            {
                scalars[TensorBoardTags.For(column)] = v;
            }
        }

        Write(step, scalars);
    }

    /// <summary>Pushes what has been written to the operating system (each <see cref="Write"/> already does).</summary>
    public void Flush() => _stream?.Flush();

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _stream?.Dispose();
        _stream = null;
    }

    /// <summary>The CRC-32C (Castagnoli) of <paramref name="data"/>, masked as TFRecord framing stores it.</summary>
    public static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C.Compute(data);
        return unchecked(((crc >> 15) | (crc << 17)) + 0xA282EAD8u);
    }

    private FileStream Open()
    {
        if (_stream is not null)
        {
            return _stream;
        }

        Directory.CreateDirectory(_folder);
        foreach (string old in Directory.EnumerateFiles(_folder, FileNameMarker + "*"))
        {
            File.Delete(old);
        }

        var inv = CultureInfo.InvariantCulture;
        long seconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string host = string.Concat(Environment.MachineName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
        FilePath = Path.Combine(_folder, $"{FileNameMarker}{seconds.ToString("D10", inv)}.{host}.{Environment.ProcessId.ToString(inv)}");
        _stream = new FileStream(FilePath, FileMode.Create, FileAccess.Write, FileShare.Read);
        WriteRecord(_stream, new Event { WallTime = _clock(), FileVersion = FileVersion });
        _stream.Flush();
        return _stream;
    }

    private static void WriteRecord(Stream stream, Event e)
    {
        byte[] data = e.ToByteArray();
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc32C(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc32C(data));
        stream.Write(header);
        stream.Write(data);
        stream.Write(footer);
    }

    // CRC-32C: the reflected Castagnoli polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF.
    private static class Crc32C
    {
        private static readonly uint[] Table = BuildTable();

        public static uint Compute(ReadOnlySpan<byte> data)
        {
            uint crc = 0xFFFFFFFFu;
            foreach (byte b in data)
            {
                crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            }

            return crc ^ 0xFFFFFFFFu;
        }

        private static uint[] BuildTable()
        {
            var table = new uint[256];
            for (uint i = 0; i < 256; i++)
            {
                uint c = i;
                for (int k = 0; k < 8; k++)
                {
                    c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
                }

                table[i] = c;
            }

            return table;
        }
    }
}
