using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace OnePass.Training.Data;

/// <summary>
/// What the data locators (<see cref="FashionMnistLocator"/>, <see cref="Cifar10Locator"/>, <see cref="PtbLocator"/>,
/// <see cref="UciLocator"/>) share. An instance walks the resolution options for one data set in order (the
/// <c>--data-dir</c> argument, the <c>ONEPASS_DATA</c> environment variable, the user cache folder, a download),
/// records why each one failed, and builds the "not found" error listing them all. The static members are the
/// pieces of a checked download: the user cache folder, an HTTP downloader, SHA-256 digests, and a safe
/// <c>.tar.gz</c> install through a staging folder renamed into place.
/// </summary>
internal sealed class DataLocator
{
    /// <summary>Environment variable naming a data folder (every locator reads the same one).</summary>
    public const string EnvironmentVariable = "ONEPASS_DATA";

    /// <summary>Why there is no user cache folder.</summary>
    public const string NoCacheFolder = "neither XDG_CACHE_HOME nor HOME is set";

    private readonly List<string> attempts = [];
    private readonly string title;
    private readonly Func<string, bool> isComplete;
    private readonly Func<IReadOnlyList<string>, string> describe;

    /// <summary>Starts a resolution.</summary>
    /// <param name="title">The data set as the messages name it, e.g. <c>CIFAR-10</c>.</param>
    /// <param name="isComplete">Whether a folder itself holds the data set.</param>
    /// <param name="describe">Why none of the candidate folders of one option holds it.</param>
    public DataLocator(string title, Func<string, bool> isComplete, Func<IReadOnlyList<string>, string> describe)
    {
        this.title = title;
        this.isComplete = isComplete;
        this.describe = describe;
    }

    /// <summary>Records an option that failed, in its place in the order.</summary>
    public void Add(string attempt) => attempts.Add(attempt);

    /// <summary>
    /// The strict <c>--data-dir</c> option: null (recorded as not set) when <paramref name="dataDir"/> is not given,
    /// the full path of the first complete candidate, or else a <see cref="DataNotFoundException"/>: an explicit
    /// folder without a complete copy is an error, not a reason to use another copy.
    /// </summary>
    /// <param name="dataDir">The <c>--data-dir</c> argument, or null.</param>
    /// <param name="candidates">The folders to search for a given folder.</param>
    /// <param name="fix">The message's last line, saying how to fix it.</param>
    public string? Strict(string? dataDir, Func<string, IReadOnlyList<string>> candidates, string fix)
    {
        if (string.IsNullOrWhiteSpace(dataDir))
        {
            Add("--data-dir argument: not set");
            return null;
        }

        var folders = candidates(dataDir);
        if (FirstComplete(folders) is { } found)
        {
            return found;
        }

        string attempt = $"--data-dir argument {dataDir}: {describe(folders)}";
        throw new DataNotFoundException(
            $"{title} was not found in the folder given with --data-dir: {attempt}{Environment.NewLine}{fix}", [attempt]);
    }

    /// <summary>
    /// One folder option: the full path of the first complete candidate of <paramref name="folder"/>, or null with
    /// the reason recorded (<paramref name="notSet"/> when no folder is given).
    /// </summary>
    public string? Folder(string label, string? folder, Func<string, IReadOnlyList<string>> candidates, string notSet = "not set")
    {
        if (string.IsNullOrWhiteSpace(folder))
        {
            Add($"{label}: {notSet}");
            return null;
        }

        var folders = candidates(folder);
        if (FirstComplete(folders) is { } found)
        {
            return found;
        }

        Add($"{label} {folder}: {describe(folders)}");
        return null;
    }

    /// <summary>The <c>ONEPASS_DATA</c> option, as <see cref="Folder"/>.</summary>
    public string? FromEnvironment(Func<string, string?> getEnvironmentVariable, Func<string, IReadOnlyList<string>> candidates) =>
        Folder($"{EnvironmentVariable} environment variable", getEnvironmentVariable(EnvironmentVariable), candidates);

    /// <summary>
    /// The download option: creates <paramref name="cache"/> and runs <paramref name="download"/> into it. Returns the
    /// full path of the folder it filled, or null with the reason recorded (disabled, no cache folder, or the failure).
    /// </summary>
    /// <param name="allowed">Whether downloading may be tried.</param>
    /// <param name="uri">Where the data comes from, for the messages.</param>
    /// <param name="cache">The user cache folder, or null.</param>
    /// <param name="download">Fills the cache folder; returns the data folder or why it failed.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    public async Task<string?> DownloadAsync(
        bool allowed,
        Uri uri,
        string? cache,
        Func<string, CancellationToken, Task<(string? Folder, string? Failure)>> download,
        CancellationToken cancellationToken)
    {
        if (!allowed)
        {
            Add($"download from {uri}: disabled");
            return null;
        }

        if (cache is null)
        {
            Add($"download from {uri}: no cache folder ({NoCacheFolder})");
            return null;
        }

        string? failure;
        try
        {
            Directory.CreateDirectory(cache);
            failure = null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failure = $"cannot create the cache folder: {e.Message}";
        }

        if (failure is null)
        {
            (string? folder, failure) = await download(cache, cancellationToken).ConfigureAwait(false);
            if (folder is not null)
            {
                return Path.GetFullPath(folder);
            }
        }

        Add($"download from {uri} into {cache}: {failure}");
        return null;
    }

    /// <summary>The error once every option failed: the options tried, numbered, then <paramref name="fix"/>.</summary>
    public DataNotFoundException NotFound(string fix)
    {
        var lines = attempts.Select((a, i) => $"  {i + 1}. {a}");
        string message =
            $"{title} was not found. Tried, in order:{Environment.NewLine}"
            + string.Join(Environment.NewLine, lines) + Environment.NewLine
            + fix;
        return new DataNotFoundException(message, attempts);
    }

    private string? FirstComplete(IReadOnlyList<string> folders) =>
        folders.FirstOrDefault(isComplete) is { } found ? Path.GetFullPath(found) : null;

    /// <summary>
    /// The user cache folder of data set <paramref name="name"/>: <c>$XDG_CACHE_HOME/onepass/NAME</c> (when absolute),
    /// or <c>$HOME/.cache/onepass/NAME</c> (<c>USERPROFILE</c> when <c>HOME</c> is unset); null when none is set.
    /// </summary>
    public static string? CacheDirectory(Func<string, string?> getEnvironmentVariable, string name)
    {
        string? xdg = getEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "onepass", name);
        }

        string? home = getEnvironmentVariable("HOME");
        if (string.IsNullOrWhiteSpace(home))
        {
            home = getEnvironmentVariable("USERPROFILE");
        }

        return string.IsNullOrWhiteSpace(home) ? null : Path.Combine(home, ".cache", "onepass", name);
    }

    /// <summary>What each existing candidate folder lacks of <paramref name="files"/>, or that the first one does not exist.</summary>
    public static string Lacking(IReadOnlyList<string> candidates, IReadOnlyList<string> files)
    {
        if (!Directory.Exists(candidates[0]))
        {
            return "folder does not exist";
        }

        return string.Join(
            "; ",
            candidates.Where(Directory.Exists).Select(folder =>
                $"{folder} lacks {string.Join(", ", files.Where(f => !File.Exists(Path.Combine(folder, f))))}"));
    }

    /// <summary>Whether <paramref name="folder"/> itself holds every one of <paramref name="files"/>.</summary>
    public static bool HoldsAll(string folder, IReadOnlyList<string> files) =>
        Directory.Exists(folder) && files.All(f => File.Exists(Path.Combine(folder, f)));

    /// <summary>A downloader by HTTP GET, with one client (of the given timeout) per call of this method.</summary>
    public static Func<Uri, string, CancellationToken, Task> HttpDownloader(TimeSpan timeout)
    {
        var http = new Lazy<HttpClient>(() => new HttpClient { Timeout = timeout });
        return async (uri, path, cancellationToken) =>
        {
            using var response = await http.Value
                .GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken)
                .ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            await using var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using var target = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
        };
    }

    /// <summary>
    /// Downloads <paramref name="uri"/> to <paramref name="path"/> and, when <paramref name="expectedSha256"/> is set,
    /// checks its digest. Returns null, or why the file is not usable; exceptions of the download pass through.
    /// </summary>
    public static async Task<string?> DownloadCheckedAsync(
        Func<Uri, string, CancellationToken, Task> downloader,
        Uri uri,
        string path,
        string? expectedSha256,
        CancellationToken cancellationToken)
    {
        await downloader(uri, path, cancellationToken).ConfigureAwait(false);
        if (!File.Exists(path))
        {
            return $"downloading {uri} produced no file";
        }

        if (expectedSha256 is null)
        {
            return null;
        }

        string actual = await Sha256HexAsync(path, cancellationToken).ConfigureAwait(false);
        return string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase)
            ? null
            : $"SHA-256 mismatch for {uri}: expected {expectedSha256}, got {actual}";
    }

    /// <summary>The SHA-256 digest of a file, in lower-case hex.</summary>
    public static async Task<string> Sha256HexAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        byte[] hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>
    /// Downloads <paramref name="archive"/> into <paramref name="cache"/> (as a <c>.part</c> file), checks it, unpacks
    /// its known files into a staging folder, checks them and renames the staging folder to
    /// <see cref="DataArchive.Folder"/>. Returns the folder holding the files, or why it failed; on failure nothing
    /// new is left behind.
    /// </summary>
    public static async Task<(string? Folder, string? Failure)> InstallArchiveAsync(
        DataArchive archive, string cache, CancellationToken cancellationToken)
    {
        string id = Guid.NewGuid().ToString("N");
        string part = Path.Combine(cache, $".{archive.FileName}.{id}.part");
        string staging = Path.Combine(cache, $".{archive.Folder}.{id}.part");
        string stagingData = Path.Combine(staging, archive.DataFolder);
        string target = Path.Combine(cache, archive.Folder);
        string targetData = Path.Combine(target, archive.DataFolder);
        try
        {
            string? failure = await DownloadCheckedAsync(archive.Downloader, archive.Uri, part, archive.Sha256, cancellationToken)
                .ConfigureAwait(false);
            if (failure is not null)
            {
                return (null, failure);
            }

            Directory.CreateDirectory(stagingData);
            await ExtractAsync(part, stagingData, archive.EntryFile, cancellationToken).ConfigureAwait(false);
            var missing = archive.Files.Where(f => !File.Exists(Path.Combine(stagingData, f))).ToList();
            if (missing.Count > 0)
            {
                return (null, $"the archive from {archive.Uri} lacks {archive.MissingPrefix}{string.Join(", ", missing)}");
            }

            if (archive.Check is not null && await archive.Check(stagingData, cancellationToken).ConfigureAwait(false) is { } wrong)
            {
                return (null, $"the archive from {archive.Uri} is not the expected one: {wrong}");
            }

            if (Directory.Exists(target))
            {
                if (HoldsAll(targetData, archive.Files))
                {
                    return (targetData, null); // Another process finished first.
                }

                Directory.Delete(target, recursive: true);
            }

            try
            {
                Directory.Move(staging, target);
            }
            catch (IOException) when (HoldsAll(targetData, archive.Files))
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
            return (null, $"downloading or unpacking {archive.Uri} failed: {e.Message}");
        }
        finally
        {
            TryDelete(part);
            TryDeleteDirectory(staging);
        }
    }

    /// <summary>Deletes a file if it exists; a failure is ignored.</summary>
    public static void TryDelete(string path)
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

    /// <summary>
    /// Writes the regular-file entries for which <paramref name="entryFile"/> names a file into
    /// <paramref name="destination"/>. Every other entry is skipped; output paths are built from the names
    /// <paramref name="entryFile"/> returns (known names only), so entry names cannot escape <paramref name="destination"/>.
    /// </summary>
    private static async Task ExtractAsync(
        string archive, string destination, Func<string, string?> entryFile, CancellationToken cancellationToken)
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

            if (entryFile(entry.Name) is not { } name)
            {
                continue;
            }

            await using var output = new FileStream(
                Path.Combine(destination, name), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            await entry.DataStream.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>
/// A <c>.tar.gz</c> archive to install with <see cref="DataLocator.InstallArchiveAsync"/>: where it comes from, how it
/// is checked, and where its files go (<c>CACHE/Folder/DataFolder</c>).
/// </summary>
/// <param name="downloader">Downloads a URI to a file path.</param>
/// <param name="uri">Where the archive is downloaded from.</param>
/// <param name="fileName">The archive's file name (names the temporary download).</param>
/// <param name="sha256">Expected SHA-256 digest of the archive, or null to not check the archive itself.</param>
/// <param name="folder">The folder created in the cache folder (through a staging folder renamed into place).</param>
/// <param name="files">The files to unpack; all must be present.</param>
internal sealed class DataArchive(
    Func<Uri, string, CancellationToken, Task> downloader, Uri uri, string fileName, string? sha256, string folder, IReadOnlyList<string> files)
{
    /// <summary>Downloads a URI to a file path.</summary>
    public Func<Uri, string, CancellationToken, Task> Downloader { get; } = downloader;

    /// <summary>Where the archive is downloaded from.</summary>
    public Uri Uri { get; } = uri;

    /// <summary>The archive's file name (names the temporary download).</summary>
    public string FileName { get; } = fileName;

    /// <summary>Expected SHA-256 digest of the archive, or null to not check the archive itself.</summary>
    public string? Sha256 { get; } = sha256;

    /// <summary>The folder created in the cache folder (through a staging folder renamed into place).</summary>
    public string Folder { get; } = folder;

    /// <summary>The files to unpack; all must be present.</summary>
    public IReadOnlyList<string> Files { get; } = files;

    /// <summary>The subfolder of <see cref="Folder"/> that holds the files ("" for <see cref="Folder"/> itself).</summary>
    public string DataFolder { get; init; } = "";

    /// <summary>Put before the missing names when the archive lacks some.</summary>
    public string MissingPrefix { get; init; } = "";

    /// <summary>Whether more than one leading <c>./</c> is removed from entry names (else at most one).</summary>
    public bool StripEveryDotSlash { get; init; }

    /// <summary>Further checks of the unpacked folder: null when it is the expected data, else what is wrong.</summary>
    public Func<string, CancellationToken, Task<string?>>? Check { get; init; }

    /// <summary>
    /// The file an archive entry name denotes: the name without leading <c>./</c> and the
    /// <c>Folder/DataFolder/</c> prefix must be one of <see cref="Files"/>; null otherwise.
    /// </summary>
    public string? EntryFile(string entryName)
    {
        string name = entryName.Replace('\\', '/');
        while (name.StartsWith("./", StringComparison.Ordinal))
        {
            name = name[2..];
            if (!StripEveryDotSlash)
            {
                break;
            }
        }

        string prefix = DataFolder.Length == 0 ? $"{Folder}/" : $"{Folder}/{DataFolder}/";
        if (name.StartsWith(prefix, StringComparison.Ordinal))
        {
            name = name[prefix.Length..];
        }

        return Files.FirstOrDefault(f => string.Equals(f, name, StringComparison.Ordinal));
    }
}
