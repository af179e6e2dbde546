using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace OnePass.Training.Data;

/// <summary>
/// Finds (or downloads) the CIFAR-10 binary batches. Resolution order: the <c>--data-dir</c>
/// argument, the <c>ONEPASS_DATA</c> environment variable, the user cache folder
/// (<c>$XDG_CACHE_HOME/onepass/cifar10</c> or <c>~/.cache/onepass/cifar10</c>), and finally a
/// download of the official archive into the user cache folder, checked against its SHA-256 digest
/// and unpacked there. For a folder <c>DIR</c> from the argument or the environment variable the
/// six files are looked for in <c>DIR</c>, <c>DIR/cifar-10-batches-bin</c>, <c>DIR/cifar10</c> and
/// <c>DIR/cifar10/cifar-10-batches-bin</c>, in that order; in the cache folder <c>C</c>, in
/// <c>C</c> and <c>C/cifar-10-batches-bin</c> (where a download puts them). An explicit
/// <c>--data-dir</c> that holds no complete copy is an error, not a reason to use another copy.
/// The environment lookup and the downloader are injectable for tests.
/// </summary>
public sealed class Cifar10Locator
{
    /// <summary>Environment variable naming a data folder.</summary>
    public const string EnvironmentVariable = "ONEPASS_DATA";

    /// <summary>File name of the official archive.</summary>
    public const string ArchiveFileName = "cifar-10-binary.tar.gz";

    /// <summary>
    /// SHA-256 digest (lower-case hex) of the official archive (170 052 171 bytes; its published MD5
    /// is <c>c32a1d4ab5d03f1284b67883e8d87530</c>). The authors publish only the MD5; this digest
    /// is the one several independent data set libraries pin for the same file.
    /// </summary>
    public const string OfficialSha256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd";

    private static readonly Lazy<HttpClient> Http = new(() => new HttpClient { Timeout = TimeSpan.FromMinutes(20) });

    /// <summary>Address of the official archive (Alex Krizhevsky, University of Toronto).</summary>
    public static Uri OfficialDownloadUri { get; } = new("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz");

    /// <summary>Environment lookup (default: the process environment).</summary>
    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>Address the archive is downloaded from (default <see cref="OfficialDownloadUri"/>).</summary>
    public Uri DownloadUri { get; init; } = OfficialDownloadUri;

    /// <summary>
    /// Downloads a URI to a file path (default: HTTP GET). Called with a temporary path in the cache
    /// folder; the locator checks the digest, unpacks the archive and deletes it.
    /// </summary>
    public Func<Uri, string, CancellationToken, Task> Downloader { get; init; } = DownloadWithHttpAsync;

    /// <summary>Expected SHA-256 digest of the downloaded archive (default <see cref="OfficialSha256"/>).</summary>
    public string ExpectedSha256 { get; init; } = OfficialSha256;

    /// <summary>Whether the last option, downloading, may be tried.</summary>
    public bool AllowDownload { get; init; } = true;

    /// <summary>Resolves the CIFAR-10 folder with the default settings.</summary>
    /// <param name="dataDir">The <c>--data-dir</c> argument, or null.</param>
    /// <returns>A folder holding the six batch files.</returns>
    /// <exception cref="DataNotFoundException">
    /// <paramref name="dataDir"/> holds no complete copy, or every option failed; the message says which.
    /// </exception>
    public static string Resolve(string? dataDir) => new Cifar10Locator().Locate(dataDir);

    /// <summary>Whether <paramref name="directory"/> itself holds all six batch files.</summary>
    public static bool IsComplete(string directory) =>
        Directory.Exists(directory) && Cifar10.FileNames.All(f => File.Exists(Path.Combine(directory, f)));

    /// <summary>
    /// The folders searched for a data folder <paramref name="directory"/> given as an argument or
    /// in the environment: itself, <c>cifar-10-batches-bin</c>, <c>cifar10</c> and
    /// <c>cifar10/cifar-10-batches-bin</c> below it.
    /// </summary>
    public static IReadOnlyList<string> Candidates(string directory) =>
    [
        directory,
        Path.Combine(directory, Cifar10.BatchesFolder),
        Path.Combine(directory, Cifar10.Name),
        Path.Combine(directory, Cifar10.Name, Cifar10.BatchesFolder),
    ];

    /// <summary>
    /// The user cache folder: <c>$XDG_CACHE_HOME/onepass/cifar10</c>, or
    /// <c>$HOME/.cache/onepass/cifar10</c>; null when neither variable is set.
    /// </summary>
    public string? CacheDirectory()
    {
        string? xdg = GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "onepass", Cifar10.Name);
        }

        string? home = GetEnvironmentVariable("HOME");
        if (string.IsNullOrWhiteSpace(home))
        {
            home = GetEnvironmentVariable("USERPROFILE");
        }

        return string.IsNullOrWhiteSpace(home) ? null : Path.Combine(home, ".cache", "onepass", Cifar10.Name);
    }

    /// <summary>Synchronous form of <see cref="LocateAsync"/>.</summary>
    public string Locate(string? dataDir, CancellationToken cancellationToken = default) =>
        LocateAsync(dataDir, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Resolves the CIFAR-10 folder, downloading into the cache as the last resort.</summary>
    /// <param name="dataDir">The <c>--data-dir</c> argument, or null.</param>
    /// <param name="cancellationToken">Cancels a download.</param>
    /// <returns>A folder holding the six batch files.</returns>
    /// <exception cref="DataNotFoundException">
    /// <paramref name="dataDir"/> holds no complete copy, or every option failed; the message says which.
    /// </exception>
    public async Task<string> LocateAsync(string? dataDir, CancellationToken cancellationToken = default)
    {
        if (!string.IsNullOrWhiteSpace(dataDir))
        {
            var candidates = Candidates(dataDir);
            string? complete = candidates.FirstOrDefault(IsComplete);
            if (complete is not null)
            {
                return Path.GetFullPath(complete);
            }

            string attempt = $"--data-dir argument {dataDir}: {Describe(candidates)}";
            throw new DataNotFoundException(
                $"CIFAR-10 was not found in the folder given with --data-dir: {attempt}{Environment.NewLine}"
                + $"To fix: pass --data-dir with a folder holding {string.Join(", ", Cifar10.FileNames)} "
                + $"(or a parent of such a folder named {Cifar10.BatchesFolder} or {Cifar10.Name}), or leave "
                + $"--data-dir out to use {EnvironmentVariable}, the user cache folder or a download.",
                [attempt]);
        }

        var attempts = new List<string> { "--data-dir argument: not set" };
        string? env = GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(env))
        {
            attempts.Add($"{EnvironmentVariable} environment variable: not set");
        }
        else
        {
            var candidates = Candidates(env);
            string? complete = candidates.FirstOrDefault(IsComplete);
            if (complete is not null)
            {
                return Path.GetFullPath(complete);
            }

            attempts.Add($"{EnvironmentVariable} environment variable {env}: {Describe(candidates)}");
        }

        string? cache = CacheDirectory();
        if (cache is null)
        {
            attempts.Add("user cache folder: not set (neither XDG_CACHE_HOME nor HOME is set)");
        }
        else
        {
            string[] candidates = [cache, Path.Combine(cache, Cifar10.BatchesFolder)];
            string? complete = candidates.FirstOrDefault(IsComplete);
            if (complete is not null)
            {
                return Path.GetFullPath(complete);
            }

            attempts.Add($"user cache folder {cache}: {Describe(candidates)}");
        }

        if (!AllowDownload)
        {
            attempts.Add($"download from {DownloadUri}: disabled");
        }
        else if (cache is null)
        {
            attempts.Add($"download from {DownloadUri}: no cache folder (neither XDG_CACHE_HOME nor HOME is set)");
        }
        else
        {
            var (folder, failure) = await TryDownloadAsync(cache, cancellationToken).ConfigureAwait(false);
            if (folder is not null)
            {
                return Path.GetFullPath(folder);
            }

            attempts.Add($"download from {DownloadUri} into {cache}: {failure}");
        }

        var lines = attempts.Select((a, i) => $"  {i + 1}. {a}");
        string message =
            $"CIFAR-10 was not found. Tried, in order:{Environment.NewLine}"
            + string.Join(Environment.NewLine, lines) + Environment.NewLine
            + $"To fix: pass --data-dir with a folder holding {string.Join(", ", Cifar10.FileNames)} "
            + $"(the {Cifar10.BatchesFolder} folder of {ArchiveFileName}, or its parent); or set "
            + $"{EnvironmentVariable} to such a folder; or allow network access so the archive can be "
            + "downloaded into the cache folder.";
        throw new DataNotFoundException(message, attempts);
    }

    /// <summary>Why none of <paramref name="candidates"/> qualifies: what each existing one lacks.</summary>
    private static string Describe(IReadOnlyList<string> candidates)
    {
        if (!Directory.Exists(candidates[0]))
        {
            return "folder does not exist";
        }

        var parts = new List<string>();
        foreach (string folder in candidates.Where(Directory.Exists))
        {
            var missing = Cifar10.FileNames.Where(f => !File.Exists(Path.Combine(folder, f)));
            parts.Add($"{folder} lacks {string.Join(", ", missing)}");
        }

        return string.Join("; ", parts);
    }

    /// <summary>
    /// Downloads and verifies the archive, then unpacks the six batch files into a temporary folder
    /// in <paramref name="cache"/> and renames it to <c>cifar-10-batches-bin</c>. Returns that folder,
    /// or why it failed; on failure nothing is left behind.
    /// </summary>
    private async Task<(string? Folder, string? Failure)> TryDownloadAsync(string cache, CancellationToken cancellationToken)
    {
        try
        {
            Directory.CreateDirectory(cache);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"cannot create the cache folder: {e.Message}");
        }

        string id = Guid.NewGuid().ToString("N");
        string archive = Path.Combine(cache, $".{ArchiveFileName}.{id}.part");
        string staging = Path.Combine(cache, $".{Cifar10.BatchesFolder}.{id}.part");
        string target = Path.Combine(cache, Cifar10.BatchesFolder);
        try
        {
            await Downloader(DownloadUri, archive, cancellationToken).ConfigureAwait(false);
            if (!File.Exists(archive))
            {
                return (null, $"downloading {DownloadUri} produced no file");
            }

            string actual = await Sha256HexAsync(archive, cancellationToken).ConfigureAwait(false);
            if (!string.Equals(actual, ExpectedSha256, StringComparison.OrdinalIgnoreCase))
            {
                return (null, $"SHA-256 mismatch for {DownloadUri}: expected {ExpectedSha256}, got {actual}");
            }

            Directory.CreateDirectory(staging);
            await ExtractAsync(archive, staging, cancellationToken).ConfigureAwait(false);
            var missing = Cifar10.FileNames.Where(f => !File.Exists(Path.Combine(staging, f))).ToList();
            if (missing.Count > 0)
            {
                return (null, $"the archive from {DownloadUri} lacks {string.Join(", ", missing)}");
            }

            if (Directory.Exists(target))
            {
                if (IsComplete(target))
                {
                    return (target, null); // Another process finished first.
                }

                Directory.Delete(target, recursive: true);
            }

            try
            {
                Directory.Move(staging, target);
            }
            catch (IOException) when (IsComplete(target))
            {
                // Another process renamed its copy into place between the check and the move.
            }

            return (target, null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or UnauthorizedAccessException
                                      or TaskCanceledException or InvalidOperationException
                                      or InvalidDataException or FormatException)
        {
            return (null, $"downloading or unpacking {DownloadUri} failed: {e.Message}");
        }
        finally
        {
            TryDelete(archive);
            TryDeleteDirectory(staging);
        }
    }

    /// <summary>
    /// Writes the regular-file entries named <c>cifar-10-batches-bin/NAME</c> (or plain <c>NAME</c>),
    /// with NAME one of the six batch files, into <paramref name="destination"/>. Every other entry
    /// is skipped; output paths are built from the known names only, so entry names cannot escape
    /// <paramref name="destination"/>.
    /// </summary>
    private static async Task ExtractAsync(string archive, string destination, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        await using var gzip = new GZipStream(file, CompressionMode.Decompress);
        await using var tar = new TarReader(gzip);
        while (await tar.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
            {
                continue;
            }

            string? name = BatchFileName(entry.Name);
            if (name is null)
            {
                continue;
            }

            await using var output = new FileStream(
                Path.Combine(destination, name), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            await entry.DataStream.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The batch file an entry name denotes, or null when it is not one of the six.</summary>
    private static string? BatchFileName(string entryName)
    {
        string name = entryName.Replace('\\', '/');
        if (name.StartsWith("./", StringComparison.Ordinal))
        {
            name = name[2..];
        }

        string prefix = Cifar10.BatchesFolder + "/";
        if (name.StartsWith(prefix, StringComparison.Ordinal))
        {
            name = name[prefix.Length..];
        }

        return Cifar10.FileNames.FirstOrDefault(f => string.Equals(f, name, StringComparison.Ordinal));
    }

    private static async Task<string> Sha256HexAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        byte[] hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash);
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (File.Exists(path))
            {
                File.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stray .part file is harmless.
        }
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stray staging folder is harmless.
        }
    }

    private static async Task DownloadWithHttpAsync(Uri uri, string path, CancellationToken cancellationToken)
    {
        using var response = await Http.Value
            .GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken)
            .ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        await using var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var target = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
    }
}
