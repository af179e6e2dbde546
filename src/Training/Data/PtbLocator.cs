using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace OnePass.Training.Data;

/// <summary>
/// Finds (or downloads) a Penn Treebank folder: one holding <c>ptb.train.txt</c>,
/// <c>ptb.valid.txt</c> and <c>ptb.test.txt</c>. Resolution order: the <c>--data-dir</c> argument,
/// the <c>ONEPASS_DATA</c> environment variable, the user cache folder
/// (<c>$XDG_CACHE_HOME/onepass/ptb</c> or <c>~/.cache/onepass/ptb</c>), and finally a download of
/// Mikolov's <c>simple-examples.tgz</c> into the cache folder, whose three files are unpacked to
/// <c>CACHE/simple-examples/data</c> and checked (see <see cref="ExpectedFileSha256"/>). For each
/// folder <c>DIR</c> the files are looked for in <c>DIR</c>, <c>DIR/ptb</c>,
/// <c>DIR/simple-examples/data</c> and <c>DIR/ptb/simple-examples/data</c>, in that order. An
/// explicit <c>--data-dir</c> that holds no complete copy is an error, not a reason to use
/// another copy. The environment lookup and the downloader are injectable for tests.
/// </summary>
public sealed class PtbLocator
{
    /// <summary>Environment variable naming a data folder.</summary>
    public const string EnvironmentVariable = "ONEPASS_DATA";

    /// <summary>File name of Mikolov's archive.</summary>
    public const string ArchiveFileName = "simple-examples.tgz";

    /// <summary>The archive's top folder (where a download puts the files, below the cache folder, in its <c>data</c> subfolder).</summary>
    public const string ArchiveFolder = "simple-examples";

    /// <summary>The folder inside <see cref="ArchiveFolder"/> that holds the three text files.</summary>
    public const string DataFolder = "data";

    /// <summary>Tokens of the official <c>ptb.train.txt</c> (one <c>&lt;eos&gt;</c> a line included).</summary>
    public const int OfficialTrainTokens = 929_589;

    private static readonly Lazy<HttpClient> Http = new(() => new HttpClient { Timeout = TimeSpan.FromMinutes(20) });

    /// <summary>Address of Mikolov's archive (RNNLM toolkit page, Brno University of Technology).</summary>
    public static Uri OfficialDownloadUri { get; } = new("http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz");

    /// <summary>
    /// SHA-256 digests (lower-case hex) of the official <c>ptb.valid.txt</c> and <c>ptb.test.txt</c>,
    /// byte for byte the files of the archive.
    /// </summary>
    /// <remarks>
    /// No SHA-256 of <c>simple-examples.tgz</c> itself is published (the author publishes none, and
    /// none was found pinned elsewhere), and the archive is served over plain HTTP. So a download is
    /// checked after unpacking instead: these two digests must match, and <c>ptb.train.txt</c>
    /// (whose digest is not known here either) must hold <see cref="OfficialTrainTokens"/> tokens.
    /// That catches a truncated, corrupt or different archive; it is weaker than a digest for the
    /// training file. Set <see cref="ExpectedArchiveSha256"/> to also pin the archive.
    /// </remarks>
    public static IReadOnlyDictionary<string, string> OfficialFileSha256 { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [PennTreebank.ValidationFile] = "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
        [PennTreebank.TestFile] = "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
    };

    /// <summary>Environment lookup (default: the process environment).</summary>
    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>Address the archive is downloaded from (default <see cref="OfficialDownloadUri"/>).</summary>
    public Uri DownloadUri { get; init; } = OfficialDownloadUri;

    /// <summary>
    /// Downloads a URI to a file path (default: HTTP GET). Called with a temporary path in the cache
    /// folder; the locator checks, unpacks and deletes the file.
    /// </summary>
    public Func<Uri, string, CancellationToken, Task> Downloader { get; init; } = DownloadWithHttpAsync;

    /// <summary>Expected SHA-256 digest of the downloaded archive, or null (the default) to not check the archive itself.</summary>
    public string? ExpectedArchiveSha256 { get; init; }

    /// <summary>
    /// Expected SHA-256 digests of unpacked files, by file name (default <see cref="OfficialFileSha256"/>);
    /// files not named are not checked this way.
    /// </summary>
    public IReadOnlyDictionary<string, string> ExpectedFileSha256 { get; init; } = OfficialFileSha256;

    /// <summary>
    /// Expected token count of the unpacked training file (default <see cref="OfficialTrainTokens"/>),
    /// or null to not count.
    /// </summary>
    public int? ExpectedTrainTokens { get; init; } = OfficialTrainTokens;

    /// <summary>Whether the last option, downloading, may be tried.</summary>
    public bool AllowDownload { get; init; } = true;

    /// <summary>Resolves the Penn Treebank folder with the default settings.</summary>
    /// <param name="dataDir">The <c>--data-dir</c> argument, or null.</param>
    /// <returns>A folder holding the three text files.</returns>
    /// <exception cref="DataNotFoundException">
    /// <paramref name="dataDir"/> holds no complete copy, or every option failed; the message says which.
    /// </exception>
    public static string Resolve(string? dataDir) => new PtbLocator().Locate(dataDir);

    /// <summary>Whether <paramref name="directory"/> itself holds the three text files.</summary>
    public static bool IsComplete(string directory) =>
        Directory.Exists(directory) && PennTreebank.FileNames.All(f => File.Exists(Path.Combine(directory, f)));

    /// <summary>
    /// The folders searched for a folder <paramref name="directory"/>: itself, <c>ptb</c>,
    /// <c>simple-examples/data</c> and <c>ptb/simple-examples/data</c> below it.
    /// </summary>
    public static IReadOnlyList<string> Candidates(string directory) =>
    [
        directory,
        Path.Combine(directory, PennTreebank.Name),
        Path.Combine(directory, ArchiveFolder, DataFolder),
        Path.Combine(directory, PennTreebank.Name, ArchiveFolder, DataFolder),
    ];

    /// <summary>
    /// The user cache folder: <c>$XDG_CACHE_HOME/onepass/ptb</c> (when absolute), or
    /// <c>$HOME/.cache/onepass/ptb</c> (<c>USERPROFILE</c> when <c>HOME</c> is unset); null when none is set.
    /// </summary>
    public string? CacheDirectory()
    {
        string? xdg = GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "onepass", PennTreebank.Name);
        }

        string? home = GetEnvironmentVariable("HOME");
        if (string.IsNullOrWhiteSpace(home))
        {
            home = GetEnvironmentVariable("USERPROFILE");
        }

        return string.IsNullOrWhiteSpace(home) ? null : Path.Combine(home, ".cache", "onepass", PennTreebank.Name);
    }

    /// <summary>Synchronous form of <see cref="LocateAsync"/>.</summary>
    /// <param name="dataDir">The <c>--data-dir</c> argument, or null.</param>
    /// <param name="cancellationToken">Cancels a download.</param>
    public string Locate(string? dataDir, CancellationToken cancellationToken = default) =>
        LocateAsync(dataDir, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Resolves the Penn Treebank folder, downloading into the cache as the last resort.</summary>
    /// <param name="dataDir">The <c>--data-dir</c> argument, or null.</param>
    /// <param name="cancellationToken">Cancels a download.</param>
    /// <returns>The full path of a folder holding the three text files.</returns>
    /// <exception cref="DataNotFoundException">
    /// <paramref name="dataDir"/> holds no complete copy, or every option failed; the message says which.
    /// </exception>
    public async Task<string> LocateAsync(string? dataDir, CancellationToken cancellationToken = default)
    {
        string files = string.Join(", ", PennTreebank.FileNames);
        if (!string.IsNullOrWhiteSpace(dataDir))
        {
            var candidates = Candidates(dataDir);
            string? found = candidates.FirstOrDefault(IsComplete);
            if (found is not null)
            {
                return Path.GetFullPath(found);
            }

            string attempt = $"--data-dir argument {dataDir}: {WhatIsMissing(candidates)}";
            throw new DataNotFoundException(
                $"Penn Treebank was not found in the folder given with --data-dir: {attempt}{Environment.NewLine}"
                + $"To fix: pass --data-dir with a folder holding {files} (or a parent of such a folder named "
                + $"{PennTreebank.Name} or {ArchiveFolder}/{DataFolder}); or name the files of each split in the "
                + $"configuration; or leave --data-dir out to use {EnvironmentVariable}, the user cache folder or a download.",
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
            string? found = candidates.FirstOrDefault(IsComplete);
            if (found is not null)
            {
                return Path.GetFullPath(found);
            }

            attempts.Add($"{EnvironmentVariable} environment variable {env}: {WhatIsMissing(candidates)}");
        }

        string? cache = CacheDirectory();
        if (cache is null)
        {
            attempts.Add("user cache folder: not set (neither XDG_CACHE_HOME nor HOME is set)");
        }
        else
        {
            var candidates = Candidates(cache);
            string? found = candidates.FirstOrDefault(IsComplete);
            if (found is not null)
            {
                return Path.GetFullPath(found);
            }

            attempts.Add($"user cache folder {cache}: {WhatIsMissing(candidates)}");
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

        string message =
            $"Penn Treebank was not found. Tried, in order:{Environment.NewLine}"
            + string.Join(Environment.NewLine, attempts.Select((a, i) => $"  {i + 1}. {a}")) + Environment.NewLine
            + $"To fix: pass --data-dir with a folder holding {files} (the {ArchiveFolder}/{DataFolder} folder of "
            + $"{ArchiveFileName}, or a parent of it); or set {EnvironmentVariable} to such a folder; or name the files "
            + "of each split in the configuration; or allow network access so the archive can be downloaded into the "
            + "cache folder.";
        throw new DataNotFoundException(message, attempts);
    }

    /// <summary>What the existing candidate folders lack, or that the first one does not exist.</summary>
    private static string WhatIsMissing(IReadOnlyList<string> candidates)
    {
        if (!Directory.Exists(candidates[0]))
        {
            return "folder does not exist";
        }

        return string.Join(
            "; ",
            candidates.Where(Directory.Exists).Select(folder =>
                $"{folder} lacks {string.Join(", ", PennTreebank.FileNames.Where(f => !File.Exists(Path.Combine(folder, f))))}"));
    }

    /// <summary>
    /// Downloads the archive, checks it (when <see cref="ExpectedArchiveSha256"/> is set), unpacks the
    /// three text files into a staging folder in <paramref name="cache"/>, checks them and renames the
    /// staging folder to <c>simple-examples</c>. Returns the data folder, or why it failed; on failure
    /// nothing new is left behind.
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
        string staging = Path.Combine(cache, $".{ArchiveFolder}.{id}.part");
        string stagingData = Path.Combine(staging, DataFolder);
        string target = Path.Combine(cache, ArchiveFolder);
        string targetData = Path.Combine(target, DataFolder);
        try
        {
            await Downloader(DownloadUri, archive, cancellationToken).ConfigureAwait(false);
            if (!File.Exists(archive))
            {
                return (null, $"downloading {DownloadUri} produced no file");
            }

            if (ExpectedArchiveSha256 is not null)
            {
                string actual = await Sha256HexAsync(archive, cancellationToken).ConfigureAwait(false);
                if (!string.Equals(actual, ExpectedArchiveSha256, StringComparison.OrdinalIgnoreCase))
                {
                    return (null, $"SHA-256 mismatch for {DownloadUri}: expected {ExpectedArchiveSha256}, got {actual}");
                }
            }

            Directory.CreateDirectory(stagingData);
            await ExtractAsync(archive, stagingData, cancellationToken).ConfigureAwait(false);
            var missing = PennTreebank.FileNames.Where(f => !File.Exists(Path.Combine(stagingData, f))).ToList();
            if (missing.Count > 0)
            {
                return (null, $"the archive from {DownloadUri} lacks {ArchiveFolder}/{DataFolder}/{string.Join(", ", missing)}");
            }

            string? wrong = await CheckFilesAsync(stagingData, cancellationToken).ConfigureAwait(false);
            if (wrong is not null)
            {
                return (null, $"the archive from {DownloadUri} is not the expected one: {wrong}");
            }

            if (Directory.Exists(target))
            {
                if (IsComplete(targetData))
                {
                    return (targetData, null); // Another process finished first.
                }

                Directory.Delete(target, recursive: true);
            }

            try
            {
                Directory.Move(staging, target);
            }
            catch (IOException) when (IsComplete(targetData))
            {
                // Another process moved its copy into place between the check and the move.
            }

            return (targetData, null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or UnauthorizedAccessException
                                      or TaskCanceledException or InvalidOperationException
                                      or InvalidDataException or FormatException or DataFormatException)
        {
            return (null, $"downloading or unpacking {DownloadUri} failed: {e.Message}");
        }
        finally
        {
            TryDelete(archive);
            TryDeleteDirectory(staging);
        }
    }

    /// <summary>Checks the unpacked files against the expected digests and training token count; null when all match.</summary>
    private async Task<string?> CheckFilesAsync(string folder, CancellationToken cancellationToken)
    {
        foreach (var (name, expected) in ExpectedFileSha256.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            string path = Path.Combine(folder, name);
            if (!File.Exists(path))
            {
                return $"{name} is missing";
            }

            string actual = await Sha256HexAsync(path, cancellationToken).ConfigureAwait(false);
            if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
            {
                return $"SHA-256 mismatch for {name}: expected {expected}, got {actual}";
            }
        }

        if (ExpectedTrainTokens is int tokens)
        {
            int actual = PennTreebank.CountTokens(Path.Combine(folder, PennTreebank.TrainFile));
            if (actual != tokens)
            {
                return $"{PennTreebank.TrainFile} holds {actual} tokens, expected {tokens}";
            }
        }

        return null;
    }

    /// <summary>
    /// Writes the regular-file entries named <c>[./]simple-examples/data/NAME</c> (or plain
    /// <c>NAME</c>), with NAME one of the three text files, into <paramref name="destination"/>. Every
    /// other entry is skipped; output paths are built from the known names only, so entry names cannot
    /// escape <paramref name="destination"/>.
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

            string? name = TextFileName(entry.Name);
            if (name is null)
            {
                continue;
            }

            await using var output = new FileStream(
                Path.Combine(destination, name), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            await entry.DataStream.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The text file an archive entry name denotes, or null when it is not one of the three.</summary>
    private static string? TextFileName(string entryName)
    {
        string name = entryName.Replace('\\', '/');
        while (name.StartsWith("./", StringComparison.Ordinal))
        {
            name = name[2..];
        }

        string prefix = $"{ArchiveFolder}/{DataFolder}/";
        if (name.StartsWith(prefix, StringComparison.Ordinal))
        {
            name = name[prefix.Length..];
        }

        return PennTreebank.FileNames.FirstOrDefault(f => string.Equals(f, name, StringComparison.Ordinal));
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
