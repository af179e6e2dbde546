namespace OnePass.Training.Data;

/// <summary>
/// Finds (or downloads) the Fashion-MNIST files. Resolution order: the <c>--data-dir</c> argument,
/// the <c>ONEPASS_DATA</c> environment variable, the user cache folder
/// (<c>$XDG_CACHE_HOME/onepass/fashion-mnist</c> or <c>~/.cache/onepass/fashion-mnist</c>), the
/// Debian package folder <c>/usr/share/datasets/fashion-mnist</c>, and finally a download of the
/// official files into the user cache folder, checked against known SHA-256 digests.
/// The environment lookup and the downloader are injectable for tests.
/// </summary>
public sealed class FashionMnistLocator
{
    /// <summary>Environment variable naming a data folder.</summary>
    public const string EnvironmentVariable = DataLocator.EnvironmentVariable;

    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package installs the files.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    private static readonly Func<Uri, string, CancellationToken, Task> HttpDownload = DataLocator.HttpDownloader(TimeSpan.FromMinutes(10));

    /// <summary>Base address of the official Fashion-MNIST files (Zalando research).</summary>
    public static Uri OfficialDownloadBase { get; } = new("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/");

    /// <summary>SHA-256 digests (lower-case hex) of the official <c>.gz</c> files, keyed by file name.</summary>
    public static IReadOnlyDictionary<string, string> OfficialSha256 { get; } = new Dictionary<string, string>
    {
        ["train-images-idx3-ubyte.gz"] = "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        ["train-labels-idx1-ubyte.gz"] = "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        ["t10k-images-idx3-ubyte.gz"] = "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        ["t10k-labels-idx1-ubyte.gz"] = "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    };

    /// <summary>Environment lookup (default: the process environment).</summary>
    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>The system folder tried after the cache (default <see cref="DebianDirectory"/>).</summary>
    public string SystemDirectory { get; init; } = DebianDirectory;

    /// <summary>Base address the four <c>.gz</c> files are downloaded from.</summary>
    public Uri DownloadBase { get; init; } = OfficialDownloadBase;

    /// <summary>
    /// Downloads a URI to a file path (default: HTTP GET). Called with a temporary path in the cache
    /// folder; the locator checks the digest and renames the file into place.
    /// </summary>
    public Func<Uri, string, CancellationToken, Task> Downloader { get; init; } = HttpDownload;

    /// <summary>Expected SHA-256 digests of the downloaded files (default <see cref="OfficialSha256"/>).</summary>
    public IReadOnlyDictionary<string, string> ExpectedSha256 { get; init; } = OfficialSha256;

    /// <summary>Whether the last option, downloading, may be tried.</summary>
    public bool AllowDownload { get; init; } = true;

    /// <summary>
    /// Installs the system package (Debian's <c>dataset-fashion-mnist</c>) when no folder holds the files, before
    /// the download is tried; returns null when it installed it, else why not. Null (the default): never install.
    /// </summary>
    public Func<string?>? InstallSystemPackage { get; init; }

    /// <summary>Resolves the Fashion-MNIST folder with the default settings.</summary>
    /// <param name="dataDir">The <c>--data-dir</c> argument, or null.</param>
    /// <returns>A folder holding all four IDX files (raw or <c>.gz</c>).</returns>
    /// <exception cref="DataNotFoundException">Every option failed; the message lists them.</exception>
    public static string Resolve(string? dataDir) => new FashionMnistLocator().Locate(dataDir);

    /// <summary>Whether <paramref name="directory"/> holds all four files (raw or <c>.gz</c>).</summary>
    public static bool IsComplete(string directory) =>
        Directory.Exists(directory) && FashionMnist.FileNames.All(f => FashionMnist.FindFile(directory, f) is not null);

    /// <summary>
    /// The user cache folder: <c>$XDG_CACHE_HOME/onepass/fashion-mnist</c>, or
    /// <c>$HOME/.cache/onepass/fashion-mnist</c>; null when neither variable is set.
    /// </summary>
    public string? CacheDirectory() => DataLocator.CacheDirectory(GetEnvironmentVariable, FashionMnist.Name);

    /// <summary>Synchronous form of <see cref="LocateAsync"/>.</summary>
    public string Locate(string? dataDir, CancellationToken cancellationToken = default) =>
        LocateAsync(dataDir, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Resolves the Fashion-MNIST folder, downloading into the cache as the last resort.</summary>
    /// <param name="dataDir">The <c>--data-dir</c> argument, or null.</param>
    /// <param name="cancellationToken">Cancels a download.</param>
    /// <returns>A folder holding all four IDX files (raw or <c>.gz</c>).</returns>
    /// <exception cref="DataNotFoundException">Every option failed; the message lists them.</exception>
    public async Task<string> LocateAsync(string? dataDir, CancellationToken cancellationToken = default)
    {
        var search = new DataLocator("Fashion-MNIST", IsComplete, candidates => Describe(candidates[0]));
        IReadOnlyList<string> FolderOrSubfolder(string folder) => [folder, Path.Combine(folder, FashionMnist.Name)];
        IReadOnlyList<string> FolderOnly(string folder) => [folder];

        string? cache = CacheDirectory();
        string? found = search.Folder("--data-dir argument", dataDir, FolderOrSubfolder)
            ?? search.FromEnvironment(GetEnvironmentVariable, FolderOrSubfolder)
            ?? search.Folder("user cache folder", cache, FolderOnly)
            ?? search.Folder("system folder (Debian package dataset-fashion-mnist)", SystemDirectory, FolderOnly);
        if (found is not null)
        {
            return found;
        }

        if (InstallSystemPackage is not null)
        {
            string? failure = InstallSystemPackage();
            if (failure is null && IsComplete(SystemDirectory))
            {
                return Path.GetFullPath(SystemDirectory);
            }

            search.Add($"install the Debian package {DebianPackageInstaller.FashionMnistPackage}: {failure ?? $"installed, but {SystemDirectory} is still incomplete ({Describe(SystemDirectory)})"}");
        }

        return await search.DownloadAsync(AllowDownload, DownloadBase, cache, TryDownloadAsync, cancellationToken).ConfigureAwait(false)
            ?? throw search.NotFound(
                "To fix: pass --data-dir with a folder holding "
                + string.Join(", ", FashionMnist.FileNames.Select(f => f + "[.gz]"))
                + $"; or set {EnvironmentVariable} to such a folder; or install the Debian package "
                + "(apt-get install dataset-fashion-mnist); or allow network access so the files can be downloaded into the cache folder.");
    }

    private static string Describe(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return "folder does not exist";
        }

        var missing = FashionMnist.FileNames.Where(f => FashionMnist.FindFile(folder, f) is null);
        return "missing " + string.Join(", ", missing.Select(f => f + "[.gz]"));
    }

    /// <summary>Downloads the missing files into <paramref name="cache"/>; returns that folder, or why it failed.</summary>
    private async Task<(string? Folder, string? Failure)> TryDownloadAsync(string cache, CancellationToken cancellationToken)
    {
        foreach (string name in FashionMnist.FileNames)
        {
            if (FashionMnist.FindFile(cache, name) is not null)
            {
                continue;
            }

            string fileName = name + ".gz";
            var uri = new Uri(DownloadBase, fileName);
            if (!ExpectedSha256.TryGetValue(fileName, out string? expected))
            {
                return (null, $"no known SHA-256 digest for {fileName}; refusing to use an unchecked download");
            }

            string temp = Path.Combine(cache, $".{fileName}.{Guid.NewGuid():N}.part");
            try
            {
                string? failure = await DataLocator.DownloadCheckedAsync(Downloader, uri, temp, expected, cancellationToken)
                    .ConfigureAwait(false);
                if (failure is not null)
                {
                    return (null, failure);
                }

                File.Move(temp, Path.Combine(cache, fileName), overwrite: true);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or UnauthorizedAccessException
                                          or TaskCanceledException or InvalidOperationException)
            {
                return (null, $"downloading {uri} failed: {e.Message}");
            }
            finally
            {
                DataLocator.TryDelete(temp);
            }
        }

        return (cache, null);
    }
}
