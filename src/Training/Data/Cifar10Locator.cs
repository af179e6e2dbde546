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
    public const string EnvironmentVariable = DataLocator.EnvironmentVariable;

    /// <summary>File name of the official archive.</summary>
    public const string ArchiveFileName = "cifar-10-binary.tar.gz";

    /// <summary>
    /// SHA-256 digest (lower-case hex) of the official archive (170 052 171 bytes; its published MD5
    /// is <c>c32a1d4ab5d03f1284b67883e8d87530</c>). The authors publish only the MD5; this digest
    /// is the one several independent data set libraries pin for the same file.
    /// </summary>
    public const string OfficialSha256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd";

    private static readonly Func<Uri, string, CancellationToken, Task> HttpDownload = DataLocator.HttpDownloader(TimeSpan.FromMinutes(20));

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
    public Func<Uri, string, CancellationToken, Task> Downloader { get; init; } = HttpDownload;

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
    public static bool IsComplete(string directory) => DataLocator.HoldsAll(directory, Cifar10.FileNames);

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
    public string? CacheDirectory() => DataLocator.CacheDirectory(GetEnvironmentVariable, Cifar10.Name);

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
        var search = new DataLocator("CIFAR-10", IsComplete, candidates => DataLocator.Lacking(candidates, Cifar10.FileNames));
        string? cache = null;
        string? found =
            search.Strict(
                dataDir,
                Candidates,
                $"To fix: pass --data-dir with a folder holding {string.Join(", ", Cifar10.FileNames)} "
                + $"(or a parent of such a folder named {Cifar10.BatchesFolder} or {Cifar10.Name}), or leave "
                + $"--data-dir out to use {EnvironmentVariable}, the user cache folder or a download.")
            ?? search.FromEnvironment(GetEnvironmentVariable, Candidates)
            ?? search.Folder("user cache folder", cache = CacheDirectory(), c => [c, Path.Combine(c, Cifar10.BatchesFolder)], $"not set ({DataLocator.NoCacheFolder})")
            ?? await search.DownloadAsync(AllowDownload, DownloadUri, cache, InstallAsync, cancellationToken).ConfigureAwait(false);
        return found ?? throw search.NotFound(
            $"To fix: pass --data-dir with a folder holding {string.Join(", ", Cifar10.FileNames)} "
            + $"(the {Cifar10.BatchesFolder} folder of {ArchiveFileName}, or its parent); or set "
            + $"{EnvironmentVariable} to such a folder; or allow network access so the archive can be "
            + "downloaded into the cache folder.");
    }

    /// <summary>
    /// Downloads and verifies the archive, then unpacks the six batch files into a temporary folder
    /// in <paramref name="cache"/> and renames it to <c>cifar-10-batches-bin</c>. Returns that folder,
    /// or why it failed; on failure nothing is left behind. Entries count when named
    /// <c>[./]cifar-10-batches-bin/NAME</c> (or plain <c>NAME</c>), with NAME one of the six batch files.
    /// </summary>
    private Task<(string? Folder, string? Failure)> InstallAsync(string cache, CancellationToken cancellationToken) =>
        DataLocator.InstallArchiveAsync(
            new DataArchive(Downloader, DownloadUri, ArchiveFileName, ExpectedSha256, Cifar10.BatchesFolder, Cifar10.FileNames),
            cache,
            cancellationToken);
}
