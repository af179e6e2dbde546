using System.Security.Cryptography;
using OnePass.Training.Data;

namespace OnePass.Training.Tests.Data;

public sealed class Cifar10LocatorTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value);
        return name => map.GetValueOrDefault(name);
    }

    private static Task NoDownload(Uri uri, string path, CancellationToken token) =>
        throw new InvalidOperationException("no network in tests");

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Every file and folder below <paramref name="root"/>, relative to it.</summary>
    private static string[] Tree(string root) =>
        Directory.Exists(root)
            ? Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories)
                .Select(p => Path.GetRelativePath(root, p)).Order(StringComparer.Ordinal).ToArray()
            : [];

    [Fact]
    public void Resolution_order_is_argument_env_cache()
    {
        using var temp = new TempDirectory();
        string arg = temp.Sub("arg");
        string env = temp.Sub("env");
        string home = temp.Sub("home");
        string cache = Path.Combine(home, ".cache", "onepass", "cifar10");
        foreach (string dir in new[] { arg, env, cache })
        {
            Cifar10Files.WriteSet(dir);
        }

        Cifar10Locator Locator() => new()
        {
            GetEnvironmentVariable = Env(("ONEPASS_DATA", env), ("HOME", home)),
            Downloader = NoDownload,
        };

        Assert.Equal(arg, Locator().Locate(arg));
        Assert.Equal(env, Locator().Locate(null));
        Assert.Equal(env, Locator().Locate(" "));

        Directory.Delete(env, recursive: true);
        Assert.Equal(cache, Locator().Locate(null));

        // The cache may hold the files directly or in cifar-10-batches-bin, where a download puts them.
        string batches = Path.Combine(cache, "cifar-10-batches-bin");
        Directory.CreateDirectory(batches);
        foreach (string f in Cifar10.FileNames)
        {
            File.Move(Path.Combine(cache, f), Path.Combine(batches, f));
        }

        Assert.Equal(batches, Locator().Locate(null));
    }

    [Theory]
    [InlineData("")]
    [InlineData("cifar-10-batches-bin")]
    [InlineData("cifar10")]
    [InlineData("cifar10/cifar-10-batches-bin")]
    public void Argument_and_environment_folders_accept_the_documented_subfolders(string sub)
    {
        using var temp = new TempDirectory();
        string data = Path.Combine(temp.Path, "data", sub);
        Cifar10Files.WriteSet(data);
        var locator = new Cifar10Locator
        {
            GetEnvironmentVariable = Env(("ONEPASS_DATA", Path.Combine(temp.Path, "data")), ("HOME", temp.Sub("home"))),
            Downloader = NoDownload,
        };

        string expected = Path.GetFullPath(data);
        Assert.Equal(expected, locator.Locate(Path.Combine(temp.Path, "data")));
        Assert.Equal(expected, locator.Locate(null));
        Assert.Equal(150 - 5, Cifar10.Load(locator.Locate(null), validationCount: 5).Train.Count);
    }

    [Fact]
    public void Explicit_data_dir_without_the_files_is_an_error_not_a_fallback()
    {
        using var temp = new TempDirectory();
        string env = temp.Sub("env");
        Cifar10Files.WriteSet(env);
        string arg = temp.Sub("arg");
        Cifar10Files.WriteSet(arg);
        File.Delete(Path.Combine(arg, "test_batch.bin"));
        var locator = new Cifar10Locator
        {
            GetEnvironmentVariable = Env(("ONEPASS_DATA", env)),
            Downloader = NoDownload,
        };

        var e = Assert.Throws<DataNotFoundException>(() => locator.Locate(arg));

        Assert.Single(e.Attempts);
        Assert.Contains($"--data-dir argument {arg}: {arg} lacks test_batch.bin", e.Message);
        Assert.DoesNotContain("data_batch_1.bin,", e.Attempts[0]);

        string missing = Path.Combine(temp.Path, "nowhere");
        e = Assert.Throws<DataNotFoundException>(() => locator.Locate(missing));
        Assert.Contains($"--data-dir argument {missing}: folder does not exist", e.Message);
    }

    [Fact]
    public void Xdg_cache_home_takes_precedence_over_home()
    {
        var locator = new Cifar10Locator { GetEnvironmentVariable = Env(("XDG_CACHE_HOME", "/x/cache"), ("HOME", "/h")) };
        Assert.Equal(Path.Combine("/x/cache", "onepass", "cifar10"), locator.CacheDirectory());

        locator = new Cifar10Locator { GetEnvironmentVariable = Env(("HOME", "/h")) };
        Assert.Equal(Path.Combine("/h", ".cache", "onepass", "cifar10"), locator.CacheDirectory());

        Assert.Null(new Cifar10Locator { GetEnvironmentVariable = Env() }.CacheDirectory());
    }

    [Fact]
    public void When_everything_fails_the_message_lists_every_option_and_the_fixes()
    {
        using var temp = new TempDirectory();
        string home = temp.Sub("home");
        string env = temp.Sub("env");
        File.WriteAllBytes(Path.Combine(env, "data_batch_1.bin"), Cifar10Files.Batch(0, 1));
        var locator = new Cifar10Locator
        {
            GetEnvironmentVariable = Env(("ONEPASS_DATA", env), ("HOME", home)),
            Downloader = NoDownload,
        };

        var e = Assert.Throws<DataNotFoundException>(() => locator.Locate(null));

        Assert.Equal(4, e.Attempts.Count);
        Assert.Equal("--data-dir argument: not set", e.Attempts[0]);
        Assert.StartsWith($"ONEPASS_DATA environment variable {env}: {env} lacks data_batch_2.bin,", e.Attempts[1]);
        Assert.Equal($"user cache folder {Path.Combine(home, ".cache", "onepass", "cifar10")}: folder does not exist", e.Attempts[2]);
        Assert.Contains("download from " + Cifar10Locator.OfficialDownloadUri, e.Attempts[3]);
        Assert.Contains("no network in tests", e.Attempts[3]);
        Assert.Contains("--data-dir", e.Message);
        Assert.Contains("set ONEPASS_DATA", e.Message);
        Assert.Contains("network access", e.Message);

        // The failed download leaves the (new) cache folder empty.
        Assert.Empty(Tree(Path.Combine(home, ".cache", "onepass", "cifar10")));
    }

    [Fact]
    public void Download_can_be_disabled()
    {
        using var temp = new TempDirectory();
        var locator = new Cifar10Locator
        {
            GetEnvironmentVariable = Env(("HOME", temp.Sub("home"))),
            Downloader = NoDownload,
            AllowDownload = false,
        };

        var e = Assert.Throws<DataNotFoundException>(() => locator.Locate(null));

        Assert.Equal($"download from {Cifar10Locator.OfficialDownloadUri}: disabled", e.Attempts[^1]);
    }

    [Fact]
    public void Verified_download_is_unpacked_into_the_cache_skipping_other_and_escaping_entries()
    {
        using var temp = new TempDirectory();
        string source = temp.Sub("source");
        Cifar10Files.WriteSet(source);
        byte[] archive = Cifar10Files.OfficialLayoutArchive(
            source,
            ("../escaped.bin", [1, 2, 3]),
            ("cifar-10-batches-bin/../../data_batch_1.bin", [4, 5, 6]),
            ("/absolute.bin", [7, 8, 9]),
            ("other/test_batch.bin", [1]));
        string xdg = temp.Sub("xdg");
        var requested = new List<Uri>();
        var locator = new Cifar10Locator
        {
            GetEnvironmentVariable = Env(("XDG_CACHE_HOME", xdg)),
            DownloadUri = new Uri("http://example.invalid/cifar-10-binary.tar.gz"),
            ExpectedSha256 = Sha256(archive),
            Downloader = (uri, path, _) =>
            {
                requested.Add(uri);
                return File.WriteAllBytesAsync(path, archive);
            },
        };

        string found = locator.Locate(null);

        string cache = Path.Combine(xdg, "onepass", "cifar10");
        Assert.Equal(Path.Combine(cache, "cifar-10-batches-bin"), found);
        Assert.Equal([new Uri("http://example.invalid/cifar-10-binary.tar.gz")], requested);

        // Only the six batch files, byte for byte; no archive, staging folder or stray entry left.
        Assert.Equal(
            ["cifar-10-batches-bin", .. Cifar10.FileNames.Select(f => Path.Combine("cifar-10-batches-bin", f)).Order(StringComparer.Ordinal)],
            Tree(cache));
        string[] outsideSource = Tree(temp.Path)
            .Where(p => p != "source" && !p.StartsWith("source" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .ToArray();
        Assert.Equal(
            ["xdg", Path.Combine("xdg", "onepass"), Path.Combine("xdg", "onepass", "cifar10"),
             .. Tree(cache).Select(p => Path.Combine("xdg", "onepass", "cifar10", p))],
            outsideSource);
        foreach (string f in Cifar10.FileNames)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(source, f)), File.ReadAllBytes(Path.Combine(found, f)));
        }

        Assert.Equal(140, Cifar10.Load(found, validationCount: 10).Train.Count);

        // A second call finds the cache and downloads nothing.
        requested.Clear();
        Assert.Equal(found, locator.Locate(null));
        Assert.Empty(requested);
    }

    [Fact]
    public void Download_replaces_an_incomplete_copy_in_the_cache()
    {
        using var temp = new TempDirectory();
        string source = temp.Sub("source");
        Cifar10Files.WriteSet(source);
        byte[] archive = Cifar10Files.OfficialLayoutArchive(source);
        string home = temp.Sub("home");
        string batches = Path.Combine(home, ".cache", "onepass", "cifar10", "cifar-10-batches-bin");
        Directory.CreateDirectory(batches);
        File.WriteAllBytes(Path.Combine(batches, "data_batch_1.bin"), [1, 2, 3]);
        var locator = new Cifar10Locator
        {
            GetEnvironmentVariable = Env(("HOME", home)),
            ExpectedSha256 = Sha256(archive),
            Downloader = (_, path, _) => File.WriteAllBytesAsync(path, archive),
        };

        Assert.Equal(batches, locator.Locate(null));

        Assert.Equal(Cifar10.FileNames.Order(StringComparer.Ordinal), Tree(batches));
        Assert.Equal(File.ReadAllBytes(Path.Combine(source, "data_batch_1.bin")), File.ReadAllBytes(Path.Combine(batches, "data_batch_1.bin")));
    }

    [Fact]
    public void Download_with_the_wrong_checksum_is_rejected_and_leaves_nothing_in_the_cache()
    {
        using var temp = new TempDirectory();
        string source = temp.Sub("source");
        Cifar10Files.WriteSet(source);
        byte[] archive = Cifar10Files.OfficialLayoutArchive(source);
        string home = temp.Sub("home");
        var locator = new Cifar10Locator
        {
            GetEnvironmentVariable = Env(("HOME", home)),
            Downloader = (_, path, _) => File.WriteAllBytesAsync(path, archive),
        };

        var e = Assert.Throws<DataNotFoundException>(() => locator.Locate(null));

        Assert.Contains("SHA-256 mismatch", e.Message);
        Assert.Contains(Cifar10Locator.OfficialSha256, e.Message);
        Assert.Contains(Sha256(archive), e.Message);
        Assert.Empty(Tree(Path.Combine(home, ".cache", "onepass", "cifar10")));
    }

    [Fact]
    public void Verified_archive_lacking_a_batch_file_is_rejected_and_leaves_nothing()
    {
        using var temp = new TempDirectory();
        string source = temp.Sub("source");
        Cifar10Files.WriteSet(source);
        byte[] archive = Cifar10Files.Archive(
            Cifar10.TrainFiles.Select(f => ("cifar-10-batches-bin/" + f, (byte[]?)File.ReadAllBytes(Path.Combine(source, f)))));
        string home = temp.Sub("home");
        var locator = new Cifar10Locator
        {
            GetEnvironmentVariable = Env(("HOME", home)),
            ExpectedSha256 = Sha256(archive),
            Downloader = (_, path, _) => File.WriteAllBytesAsync(path, archive),
        };

        var e = Assert.Throws<DataNotFoundException>(() => locator.Locate(null));

        Assert.Contains("lacks test_batch.bin", e.Attempts[^1]);
        Assert.Empty(Tree(Path.Combine(home, ".cache", "onepass", "cifar10")));
    }

    [Fact]
    public void Corrupt_archive_with_the_right_digest_is_reported_and_leaves_nothing()
    {
        using var temp = new TempDirectory();
        byte[] archive = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3];
        string home = temp.Sub("home");
        var locator = new Cifar10Locator
        {
            GetEnvironmentVariable = Env(("HOME", home)),
            ExpectedSha256 = Sha256(archive),
            Downloader = (_, path, _) => File.WriteAllBytesAsync(path, archive),
        };

        var e = Assert.Throws<DataNotFoundException>(() => locator.Locate(null));

        Assert.Contains("unpacking", e.Attempts[^1]);
        Assert.Empty(Tree(Path.Combine(home, ".cache", "onepass", "cifar10")));
    }
}
