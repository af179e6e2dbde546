using System.Security.Cryptography;
using System.Text;

namespace OnePass.Native.Interop;

/// <summary>
/// Compiles CUDA C source once per (source, architecture, compiler version, options) and keeps the device image
/// on disk, so later runs skip NVRTC. Entries are written atomically (temp file, then rename); an unwritable
/// cache folder only costs a recompile.
/// </summary>
public sealed class KernelCache
{
    private readonly Func<string, string, string, IReadOnlyList<string>, byte[]> compile;

    /// <summary>
    /// Creates a cache in <paramref name="directory"/> whose images come from <paramref name="compile"/>
    /// (source, program name, architecture, options → image) of version <paramref name="compilerVersion"/>.
    /// </summary>
    public KernelCache(string directory, string compilerVersion, Func<string, string, string, IReadOnlyList<string>, byte[]> compile)
    {
        Directory = directory;
        CompilerVersion = compilerVersion;
        this.compile = compile;
    }

    /// <summary>The folder holding cached images.</summary>
    public string Directory { get; }

    /// <summary>The compiler version that is part of every key.</summary>
    public string CompilerVersion { get; }

    /// <summary>How many times this instance called the compiler (cache misses).</summary>
    public int Compilations { get; private set; }

    /// <summary>A cache in the default folder backed by NVRTC on this machine.</summary>
    public static KernelCache CreateDefault() =>
        new(DefaultDirectory(Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), OperatingSystem.IsWindows()),
            "nvrtc-" + NvrtcCompiler.Version(), NvrtcCompiler.Compile);

    /// <summary>
    /// <c>$ONEPASS_KERNEL_CACHE</c> when set; else <c>$XDG_CACHE_HOME/onepass/kernels</c>, else
    /// <c>~/.cache/onepass/kernels</c> (<c>%LOCALAPPDATA%\onepass\kernels</c> on Windows); a temp folder as a last resort.
    /// </summary>
    public static string DefaultDirectory(Func<string, string?> getVariable, string? home, bool isWindows)
    {
        if (getVariable("ONEPASS_KERNEL_CACHE") is { Length: > 0 } explicitFolder)
        {
            return explicitFolder;
        }

        if (isWindows && getVariable("LOCALAPPDATA") is { Length: > 0 } local)
        {
            return Path.Combine(local, "onepass", "kernels");
        }

        if (getVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg)
        {
            return Path.Combine(xdg, "onepass", "kernels");
        }

        return !string.IsNullOrEmpty(home)
            ? Path.Combine(home, ".cache", "onepass", "kernels")
            : Path.Combine(Path.GetTempPath(), "onepass", "kernels");
    }

    /// <summary>
    /// Hex SHA-256 over the length-prefixed UTF-8 fields, so no two different inputs can collide by concatenation.
    /// Option order matters (it does to the compiler too).
    /// </summary>
    public static string ComputeKey(string source, string architecture, string compilerVersion, IReadOnlyList<string> options)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Field(string value)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(value);
            hash.AppendData(BitConverter.GetBytes(bytes.Length));
            hash.AppendData(bytes);
        }

        Field("onepass-kernel-v1");
        Field(source);
        Field(architecture);
        Field(compilerVersion);
        hash.AppendData(BitConverter.GetBytes(options.Count));
        foreach (string option in options)
        {
            Field(option);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The file that holds the image for <paramref name="key"/>.</summary>
    public string PathFor(string key) => Path.Combine(Directory, key + ".bin");

    /// <summary>Reads a cached image; false when absent or unreadable.</summary>
    public bool TryRead(string key, out byte[] image)
    {
        try
        {
            string path = PathFor(key);
            if (File.Exists(path))
            {
                image = File.ReadAllBytes(path);
                return image.Length > 0;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        image = [];
        return false;
    }

    /// <summary>Writes an image atomically: a unique temp file in the cache folder, then a rename over the entry.</summary>
    public void Write(string key, byte[] image)
    {
        System.IO.Directory.CreateDirectory(Directory);
        string path = PathFor(key);
        string temp = Path.Combine(Directory, $".{key}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(image);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>Returns the cached image for these inputs, compiling and storing it on a miss.</summary>
    public byte[] GetOrCompile(string source, string programName, string architecture, IReadOnlyList<string> options)
    {
        string key = ComputeKey(source, architecture, CompilerVersion, options);
        if (TryRead(key, out byte[] cached))
        {
            return cached;
        }

        byte[] image = compile(source, programName, architecture, options);
        Compilations++;
        try
        {
            Write(key, image);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only or full cache folder must not stop training; the next run compiles again.
        }

        return image;
    }
}
