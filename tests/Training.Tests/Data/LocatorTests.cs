using System.Security.Cryptography;
using OnePass.Training.Data;

namespace OnePass.Training.Tests.Data;

public sealed class LocatorTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value);
        return name => map.GetValueOrDefault(name);
    }

    private static Task NoDownload(Uri uri, string path, CancellationToken token) =>
        throw new InvalidOperationException("no network in tests");

    private sealed class Folders : IDisposable
    {
        public Folders()
        {
            DataDir = Temp.Sub("arg");
            EnvDir = Temp.Sub("env");
            Home = Temp.Sub("home");
            Cache = Path.Combine(Home, ".cache", "onepass", "fashion-mnist");
            Directory.CreateDirectory(Cache);
            System = Temp.Sub("system");
            foreach (string dir in new[] { DataDir, EnvDir, Cache, System })
            {
                IdxFiles.WriteSet(dir, gzip: true);
            }
        }

        public TempDirectory Temp { get; } = new();

        public string DataDir { get; }

        public string EnvDir { get; }

        public string Home { get; }

        public string Cache { get; }

        public string System { get; }

        public FashionMnistLocator Locator(Func<Uri, string, CancellationToken, Task>? downloader = null) => new()
        {
            GetEnvironmentVariable = Env(("ONEPASS_DATA", EnvDir), ("HOME", Home)),
            SystemDirectory = System,
            Downloader = downloader ?? NoDownload,
        };

        public void Dispose() => Temp.Dispose();
    }

    [Fact]
    public void Fashion_mnist_resolution_order_is_argument_env_cache_system()
    {
        using var f = new Folders();
        Assert.Equal(f.DataDir, f.Locator().Locate(f.DataDir));
        Assert.Equal(f.EnvDir, f.Locator().Locate(null));

        Directory.Delete(f.EnvDir, recursive: true);
        Assert.Equal(f.Cache, f.Locator().Locate(null));

        File.Delete(Path.Combine(f.Cache, FashionMnist.TestLabelsFile + ".gz"));
        Assert.Equal(f.System, f.Locator().Locate(null));

        // An incomplete --data-dir falls through to the next option.
        Assert.Equal(f.System, f.Locator().Locate(f.Temp.Sub("empty")));
    }

    [Fact]
    public void Parent_folder_with_a_fashion_mnist_subfolder_is_accepted()
    {
        using var temp = new TempDirectory();
        string dir = temp.Sub("fashion-mnist");
        IdxFiles.WriteSet(dir, gzip: false);
        var locator = new FashionMnistLocator
        {
            GetEnvironmentVariable = Env(("ONEPASS_DATA", temp.Path)),
            SystemDirectory = temp.Sub("none"),
            Downloader = NoDownload,
        };

        Assert.Equal(dir, locator.Locate(null));
    }

    [Fact]
    public void Xdg_cache_home_takes_precedence_over_home()
    {
        var locator = new FashionMnistLocator { GetEnvironmentVariable = Env(("XDG_CACHE_HOME", "/x/cache"), ("HOME", "/h")) };
        Assert.Equal(Path.Combine("/x/cache", "onepass", "fashion-mnist"), locator.CacheDirectory());

        locator = new FashionMnistLocator { GetEnvironmentVariable = Env(("HOME", "/h")) };
        Assert.Equal(Path.Combine("/h", ".cache", "onepass", "fashion-mnist"), locator.CacheDirectory());
    }

    [Fact]
    public void When_everything_fails_the_message_lists_every_option_and_the_fixes()
    {
        using var temp = new TempDirectory();
        string home = temp.Sub("home");
        string system = Path.Combine(temp.Path, "system");
        var locator = new FashionMnistLocator
        {
            GetEnvironmentVariable = Env(("ONEPASS_DATA", Path.Combine(temp.Path, "env")), ("HOME", home)),
            SystemDirectory = system,
            Downloader = NoDownload,
        };

        var e = Assert.Throws<DataNotFoundException>(() => locator.Locate(Path.Combine(temp.Path, "arg")));

        Assert.Equal(5, e.Attempts.Count);
        Assert.Contains("--data-dir argument " + Path.Combine(temp.Path, "arg"), e.Message);
        Assert.Contains("ONEPASS_DATA environment variable " + Path.Combine(temp.Path, "env"), e.Message);
        Assert.Contains("user cache folder " + Path.Combine(home, ".cache", "onepass", "fashion-mnist"), e.Message);
        Assert.Contains("system folder (Debian package dataset-fashion-mnist) " + system, e.Message);
        Assert.Contains("download from " + FashionMnistLocator.OfficialDownloadBase, e.Message);
        Assert.Contains("no network in tests", e.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
        Assert.Contains("--data-dir", e.Message);
        Assert.Contains("network access", e.Message);
    }

    [Fact]
    public void Download_with_wrong_bytes_fails_the_sha256_check_and_leaves_no_file()
    {
        using var temp = new TempDirectory();
        string home = temp.Sub("home");
        var locator = new FashionMnistLocator
        {
            GetEnvironmentVariable = Env(("HOME", home)),
            SystemDirectory = Path.Combine(temp.Path, "system"),
            Downloader = (uri, path, _) => File.WriteAllBytesAsync(path, [1, 2, 3]),
        };

        var e = Assert.Throws<DataNotFoundException>(() => locator.Locate(null));

        Assert.Contains("SHA-256 mismatch", e.Message);
        Assert.Contains(new Uri(FashionMnistLocator.OfficialDownloadBase, "train-images-idx3-ubyte.gz").ToString(), e.Message);
        Assert.Contains(FashionMnistLocator.OfficialSha256["train-images-idx3-ubyte.gz"], e.Message);
        string cache = Path.Combine(home, ".cache", "onepass", "fashion-mnist");
        Assert.Empty(Directory.GetFiles(cache));
    }

    [Fact]
    public void Download_with_matching_digests_fills_the_cache_and_loads()
    {
        using var temp = new TempDirectory();
        string source = temp.Sub("source");
        IdxFiles.WriteSet(source, gzip: true);
        var hashes = Directory.GetFiles(source).ToDictionary(
            p => Path.GetFileName(p),
            p => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(p))));
        var requested = new List<Uri>();
        var locator = new FashionMnistLocator
        {
            GetEnvironmentVariable = Env(("XDG_CACHE_HOME", temp.Sub("xdg"))),
            SystemDirectory = Path.Combine(temp.Path, "system"),
            DownloadBase = new Uri("http://example.invalid/data/"),
            ExpectedSha256 = hashes,
            Downloader = (uri, path, _) =>
            {
                requested.Add(uri);
                File.Copy(Path.Combine(source, uri.Segments[^1]), path);
                return Task.CompletedTask;
            },
        };

        string found = locator.Locate(null);

        Assert.Equal(Path.Combine(temp.Path, "xdg", "onepass", "fashion-mnist"), found);
        Assert.Equal(4, requested.Count);
        Assert.All(requested, u => Assert.StartsWith("http://example.invalid/data/", u.ToString()));
        Assert.Equal(4, Directory.GetFiles(found).Length);
        Assert.Equal(3, FashionMnist.Load(found, validationCount: 0).Train.Count);

        // A second call finds the cache and downloads nothing.
        requested.Clear();
        Assert.Equal(found, locator.Locate(null));
        Assert.Empty(requested);
    }

    [Fact]
    public void Uci_resolution_accepts_the_folder_itself_or_a_parent_and_prefers_the_argument()
    {
        using var temp = new TempDirectory();
        string direct = temp.Sub("direct");
        string parent = temp.Sub("parent");
        string shared = temp.Sub("shared");
        File.WriteAllText(Path.Combine(direct, "data.txt"), "1 2\n");
        File.WriteAllText(Path.Combine(temp.Sub("parent", "energy"), "data.txt"), "1 2\n");
        File.WriteAllText(Path.Combine(temp.Sub("shared", "uci", "energy"), "data.txt"), "1 2\n");
        var env = Env(("ONEPASS_DATA", shared));

        Assert.Equal(direct, UciLocator.Resolve("energy", direct, env));
        Assert.Equal(Path.Combine(parent, "energy"), UciLocator.Resolve("energy", parent, env));
        Assert.Equal(Path.Combine(shared, "uci", "energy"), UciLocator.Resolve("energy", null, env));
        Assert.Equal(Path.Combine(shared, "uci", "energy"), UciLocator.Resolve("energy", temp.Sub("empty"), env));
    }

    [Fact]
    public void Uci_resolution_failure_lists_the_options()
    {
        using var temp = new TempDirectory();
        string arg = temp.Sub("arg");

        var e = Assert.Throws<DataNotFoundException>(() => UciLocator.Resolve("kin8nm", arg, Env()));

        Assert.Equal(2, e.Attempts.Count);
        Assert.Contains("--data-dir argument " + arg, e.Message);
        Assert.Contains(Path.Combine(arg, "uci", "kin8nm", "data.txt"), e.Message);
        Assert.Contains("ONEPASS_DATA environment variable: not given", e.Message);
        Assert.Contains("set ONEPASS_DATA", e.Message);
    }
}
