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
    public const string EnvironmentVariable = DataLocator.EnvironmentVariable;

    /// <summary>File name of Mikolov's archive.</summary>
    public const string ArchiveFileName = "simple-examples.tgz";

    /// <summary>The archive's top folder (where a download puts the files, below the cache folder, in its <c>data</c> subfolder).</summary>
    public const string ArchiveFolder = "simple-examples";

    /// <summary>The folder inside <see cref="ArchiveFolder"/> that holds the three text files.</summary>
    public const string DataFolder = "data";

    /// <summary>Tokens of the official <c>ptb.train.txt</c> (one <c>&lt;eos&gt;</c> a line included).</summary>
    public const int OfficialTrainTokens = 929_589;

    private static readonly Func<Uri, string, CancellationToken, Task> HttpDownload = DataLocator.HttpDownloader(TimeSpan.FromMinutes(20));

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
    public Func<Uri, string, CancellationToken, Task> Downloader { get; init; } = HttpDownload;

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
    public static bool IsComplete(string directory) => DataLocator.HoldsAll(directory, PennTreebank.FileNames);

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
    public string? CacheDirectory() => DataLocator.CacheDirectory(GetEnvironmentVariable, PennTreebank.Name);

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
        var search = new DataLocator("Penn Treebank", IsComplete, candidates => DataLocator.Lacking(candidates, PennTreebank.FileNames));
        string? cache = null;
        string? found =
            search.Strict(
                dataDir,
                Candidates,
                $"To fix: pass --data-dir with a folder holding {files} (or a parent of such a folder named "
                + $"{PennTreebank.Name} or {ArchiveFolder}/{DataFolder}); or name the files of each split in the "
                + $"configuration; or leave --data-dir out to use {EnvironmentVariable}, the user cache folder or a download.")
            ?? search.FromEnvironment(GetEnvironmentVariable, Candidates)
            ?? search.Folder("user cache folder", cache = CacheDirectory(), Candidates, $"not set ({DataLocator.NoCacheFolder})")
            ?? await search.DownloadAsync(AllowDownload, DownloadUri, cache, InstallAsync, cancellationToken).ConfigureAwait(false);
        return found ?? throw search.NotFound(
            $"To fix: pass --data-dir with a folder holding {files} (the {ArchiveFolder}/{DataFolder} folder of "
            + $"{ArchiveFileName}, or a parent of it); or set {EnvironmentVariable} to such a folder; or name the files "
            + "of each split in the configuration; or allow network access so the archive can be downloaded into the "
            + "cache folder.");
    }

    /// <summary>
    /// Downloads the archive, checks it (when <see cref="ExpectedArchiveSha256"/> is set), unpacks the
    /// three text files into a staging folder in <paramref name="cache"/>, checks them and renames the
    /// staging folder to <c>simple-examples</c>. Returns the data folder, or why it failed; on failure
    /// nothing new is left behind. Entries count when named <c>[./]simple-examples/data/NAME</c> (or plain
    /// <c>NAME</c>), with NAME one of the three text files.
    /// </summary>
    private Task<(string? Folder, string? Failure)> InstallAsync(string cache, CancellationToken cancellationToken) =>
        DataLocator.InstallArchiveAsync(
            new DataArchive(Downloader, DownloadUri, ArchiveFileName, ExpectedArchiveSha256, ArchiveFolder, PennTreebank.FileNames)
            {
                DataFolder = DataFolder,
                MissingPrefix = $"{ArchiveFolder}/{DataFolder}/",
                StripEveryDotSlash = true,
                Check = CheckFilesAsync,
            },
            cache,
            cancellationToken);

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

            string actual = await DataLocator.Sha256HexAsync(path, cancellationToken).ConfigureAwait(false);
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
}
