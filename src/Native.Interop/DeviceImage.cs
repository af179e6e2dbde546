using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace OnePass.Native.Interop;

/// <summary>
/// Reads the kernel entry points out of an NVRTC image without a driver: the <c>.entry</c> directives of PTX text,
/// or the global function symbols of a CUBIN (an ELF64 file for machine EM_CUDA). Lets a machine without a GPU check
/// that a compiled module defines every kernel the backend will look up with <c>cuModuleGetFunction</c>.
/// </summary>
public static partial class DeviceImage
{
    /// <summary>ELF machine number of NVIDIA CUDA images.</summary>
    public const int ElfMachineCuda = 190;

    /// <summary>True when <paramref name="image"/> starts with the ELF magic (a CUBIN rather than PTX).</summary>
    public static bool IsElf(ReadOnlySpan<byte> image) =>
        image.Length >= 4 && image[0] == 0x7F && image[1] == (byte)'E' && image[2] == (byte)'L' && image[3] == (byte)'F';

    /// <summary>The kernel entry points of a PTX or CUBIN image, in the order they appear.</summary>
    public static IReadOnlyList<string> EntryPoints(byte[] image) =>
        IsElf(image) ? CubinFunctions(image) : PtxEntries(PtxText(image));

    /// <summary>PTX bytes as text, without the terminating NUL NVRTC appends.</summary>
    public static string PtxText(byte[] image)
    {
        int length = Array.IndexOf(image, (byte)0);
        return Encoding.UTF8.GetString(image, 0, length < 0 ? image.Length : length);
    }

    /// <summary>The names declared by <c>.entry</c> (kernels) in PTX text, e.g. "fill_f32" from ".visible .entry fill_f32(".</summary>
    public static IReadOnlyList<string> PtxEntries(string ptx) =>
        EntryDirective().Matches(ptx).Select(m => m.Groups[1].Value).ToArray();

    /// <summary>The target of PTX text, e.g. "sm_90" from ".target sm_90"; null when absent.</summary>
    public static string? PtxTarget(string ptx) => TargetDirective().Match(ptx) is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>
    /// The global function symbols of a CUBIN (ELF64, little-endian, machine EM_CUDA): the kernels a module
    /// exports. Throws <see cref="InvalidDataException"/> for anything else.
    /// </summary>
    public static IReadOnlyList<string> CubinFunctions(byte[] image)
    {
        ReadOnlySpan<byte> elf = image;
        if (!IsElf(elf) || elf.Length < 64)
        {
            throw new InvalidDataException("not an ELF image");
        }

        if (elf[4] != 2 || elf[5] != 1)
        {
            throw new InvalidDataException("not a little-endian ELF64 image");
        }

        int machine = BinaryPrimitives.ReadUInt16LittleEndian(elf[18..]);
        if (machine != ElfMachineCuda)
        {
            throw new InvalidDataException($"ELF machine {machine} is not CUDA ({ElfMachineCuda})");
        }

        long sectionTable = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(elf[40..]));
        int sectionSize = BinaryPrimitives.ReadUInt16LittleEndian(elf[58..]);
        int sections = BinaryPrimitives.ReadUInt16LittleEndian(elf[60..]);
        if (sectionSize < 64 || sectionTable < 0 || sectionTable + ((long)sections * sectionSize) > elf.Length)
        {
            throw new InvalidDataException("the ELF section table lies outside the image");
        }

        ReadOnlySpan<byte> Section(ReadOnlySpan<byte> all, int index, out uint type, out int link, out long entrySize)
        {
            ReadOnlySpan<byte> header = all.Slice((int)(sectionTable + ((long)index * sectionSize)), sectionSize);
            type = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            long offset = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(header[24..]));
            long size = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(header[32..]));
            link = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[40..]);
            entrySize = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(header[56..]));
            if (type == 8)
            {
                return [];
            }

            if (offset < 0 || size < 0 || offset + size > all.Length)
            {
                throw new InvalidDataException($"ELF section {index} lies outside the image");
            }

            return all.Slice((int)offset, (int)size);
        }

        var names = new List<string>();
        for (int i = 0; i < sections; i++)
        {
            ReadOnlySpan<byte> symbols = Section(elf, i, out uint type, out int link, out long entrySize);
            const uint symbolTable = 2;
            if (type != symbolTable)
            {
                continue;
            }

            if (entrySize < 24 || link <= 0 || link >= sections)
            {
                throw new InvalidDataException("malformed ELF symbol table");
            }

            ReadOnlySpan<byte> strings = Section(elf, link, out _, out _, out _);
            for (long at = 0; at + entrySize <= symbols.Length; at += entrySize)
            {
                ReadOnlySpan<byte> symbol = symbols.Slice((int)at, (int)entrySize);
                int nameOffset = (int)BinaryPrimitives.ReadUInt32LittleEndian(symbol);
                byte info = symbol[4];
                const int functionType = 2, globalBinding = 1;
                if ((info & 0xF) != functionType || (info >> 4) != globalBinding || nameOffset <= 0 || nameOffset >= strings.Length)
                {
                    continue;
                }

                ReadOnlySpan<byte> rest = strings[nameOffset..];
                int end = rest.IndexOf((byte)0);
                names.Add(Encoding.UTF8.GetString(end < 0 ? rest : rest[..end]));
            }
        }

        return names;
    }

    [GeneratedRegex(@"^\s*(?:\.visible\s+|\.weak\s+)?\.entry\s+([A-Za-z_$][\w$]*)\s*\(", RegexOptions.Multiline)]
    private static partial Regex EntryDirective();

    [GeneratedRegex(@"^\s*\.target\s+([A-Za-z0-9_]+)", RegexOptions.Multiline)]
    private static partial Regex TargetDirective();
}
