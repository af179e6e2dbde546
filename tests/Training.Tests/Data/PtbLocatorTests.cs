using System.Security.Cryptography;
using System.Text;
using OnePass.Training.Data;

namespace OnePass.Training.Tests.Data;

public sealed class PtbLocatorTests
{
    private static readonly byte[] TrainText = Encoding.UTF8.GetBytes("the cat sat\non the mat\n");
    private static readonly byte[] ValidText = Encoding.UTF8.GetBytes("the <unk> sat\n");
    private static readonly byte[] TestText = Encoding.UTF8.GetBytes("a cat\n\n");

    /// <summary>Tokens of <see cref="TrainText"/>: 6 words and 2 <c>&lt;eos&gt;</c>.</summary>
    private const int TrainTokens = 8;

    private static Func<string, string?> Env(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value);
        return name => map.GetValueOrDefault(name);
    }

    private static Task NoDownload(Uri uri, string path, CancellationToken token) =>
        throw new InvalidOperationException("no network in tests");

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>The digests of the test's validation and test texts, as the locator checks them after unpacking.</summary>
    private static Dictionary<string, string> TestDigests() => new()
    {
        ["ptb.valid.txt"] = Sha256(ValidText),
        ["ptb.test.txt"] = Sha256(TestText),
    };

    /// <summary>Writes the three small text files into <paramref name="folder"/>.</summary>
    private static void WriteSet(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "ptb.train.txt"), TrainText);
        File.WriteAllBytes(Path.Combine(folder, "ptb.valid.txt"), ValidText);
        File.WriteAllBytes(Path.Combine(folder, "ptb.test.txt"), TestText);
    }

    /// <summary>
    /// A <c>.tgz</c> laid out like Mikolov's: <c>./simple-examples/</c> with <c>data/</c> holding the
    /// three word-level files among others, then <paramref name="extra"/> entries.
    /// </summary>
    private static byte[] SimpleExamplesArchive(byte[]? test = null, bool withTest = true, params (string Name, byte[]? Content)[] extra)
    {
        var entries = new List<(string, byte[]?)>
        {
            ("./simple-examples/", null),
            ("./simple-examples/data/", null),
            ("./simple-examples/data/README", "Data description\n"u8.ToArray()),
            ("./simple-examples/data/ptb.char.train.txt", "t h e _ c a t\n"u8.ToArray()),
            ("./simple-examples/data/ptb.train.txt", TrainText),
            ("./simple-examples/data/ptb.valid.txt", ValidText),
        };
        if (withTest)
        {
            entries.Add(("./simple-examples/data/ptb.test.txt", test ?? TestText));
        }

        entries.Add(("./simple-examples/models/", null));
        entries.Add(("./simple-examples/models/ptb.train.txt", "not the data\n"u8.ToArray()));
        entries.AddRange(extra);
        return Cifar10Files.Archive(entries);
    }

    /// <summary>Every file and folder below <paramref name="root"/>, relative to it, in ordinal order.</summary>
    private static string[] Tree(string root) =>
        Directory.Exists(root)
            ? Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories)
                .Select(p => Path.GetRelativePath(root, p)).Order(StringComparer.Ordinal).ToArray()
            : [];

    /// <summary>A locator that downloads <paramref name="archive"/> and expects the test texts.</summary>
    private static PtbLocator Downloading(Func<string, string?> env, byte[] archive, List<Uri>? requested = null) => new()
    {
        GetEnvironmentVariable = env,
        DownloadUri = new Uri("http://example.invalid/simple-examples.tgz"),
        ExpectedFileSha256 = TestDigests(),
        ExpectedTrainTokens = TrainTokens,
        Downloader = (uri, path, _) =>
        {
            requested?.Add(uri);
            return File.WriteAllBytesAsync(path, archive);
        },
    };

    [Fact]
    public void Resolution_order_is_argument_env_cache()
    {
        using var temp = new TempDirectory();
        string arg = temp.Sub("arg");
        string env = temp.Sub("env");
        string home = temp.Sub("home");
        string cache = Path.Combine(home, ".cache", "onepass", "ptb");
        foreach (string dir in new[] { arg, env, cache })
        {
            WriteSet(dir);
        }

        PtbLocator Locator() => new()
        {
            GetEnvironmentVariable = Env(("ONEPASS_DATA", env), ("HOME", home)),
            Downloader = NoDownload,
        };

        Assert.Equal(arg, Locator().Locate(arg));
        Assert.Equal(env, Locator().Locate(null));
        Assert.Equal(env, Locator().Locate(" "));

        Directory.Delete(env, recursive: true);
        Assert.Equal(cache, Locator().Locate(null));

        // A download puts the files in CACHE/simple-examples/data; the cache is searched there too.
        string data = Path.Combine(cache, "simple-examples", "data");
        Directory.CreateDirectory(data);
        foreach (string f in PennTreebank.FileNames)
        {
            File.Move(Path.Combine(cache, f), Path.Combine(data, f));
        }

        Assert.Equal(data, Locator().Locate(null));
        Assert.Equal(4, PennTreebank.LoadFolder(Locator().Locate(null)).Validation.Length);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ptb")]
    [InlineData("simple-examples/data")]
    [InlineData("ptb/simple-examples/data")]
    public void Argument_and_environment_folders_accept_the_documented_subfolders(string sub)
    {
        using var temp = new TempDirectory();
        string root = Path.Combine(temp.Path, "data");
        string data = Path.Combine(root, sub);
        WriteSet(data);
        var locator = new PtbLocator
        {
            GetEnvironmentVariable = Env(("ONEPASS_DATA", root), ("HOME", temp.Sub("home"))),
            Downloader = NoDownload,
        };

        string expected = Path.GetFullPath(data);
        Assert.Equal(expected, locator.Locate(root));
        Assert.Equal(expected, locator.Locate(null));
        Assert.Equal(TrainTokens, PennTreebank.LoadFolder(locator.Locate(null)).Train.Length);
    }

    [Fact]
    public void Explicit_data_dir_without_the_files_is_an_error_not_a_fallback()
    {
        using var temp = new TempDirectory();
        string env = temp.Sub("env");
        WriteSet(env);
        string arg = temp.Sub("arg");
        WriteSet(arg);
        File.Delete(Path.Combine(arg, "ptb.train.txt"));
        var locator = new PtbLocator
        {
            GetEnvironmentVariable = Env(("ONEPASS_DATA", env)),
            Downloader = NoDownload,
        };

        var e = Assert.Throws<DataNotFoundException>(() => locator.Locate(arg));

        Assert.Single(e.Attempts);
        Assert.Equal($"--data-dir argument {arg}: {arg} lacks ptb.train.txt", e.Attempts[0]);
        Assert.Contains("--data-dir", e.Message);

        // A subfolder that exists is described too.
        string sub = temp.Sub("arg", "ptb");
        File.WriteAllBytes(Path.Combine(sub, "ptb.test.txt"), TestText);
        e = Assert.Throws<DataNotFoundException>(() => locator.Locate(arg));
        Assert.Equal($"--data-dir argument {arg}: {arg} lacks ptb.train.txt; {sub} lacks ptb.train.txt, ptb.valid.txt", e.Attempts[0]);

        string missing = Path.Combine(temp.Path, "nowhere");
        e = Assert.Throws<DataNotFoundException>(() => locator.Locate(missing));
        Assert.Equal($"--data-dir argument {missing}: folder does not exist", e.Attempts[0]);
    }

    [Fact]
    public void Xdg_cache_home_takes_precedence_over_home()
    {
        var locator = new PtbLocator { GetEnvironmentVariable = Env(("XDG_CACHE_HOME", "/x/cache"), ("HOME", "/h")) };
        Assert.Equal(Path.Combine("/x/cache", "onepass", "ptb"), locator.CacheDirectory());

        locator = new PtbLocator { GetEnvironmentVariable = Env(("XDG_CACHE_HOME", "relative"), ("HOME", "/h")) };
        Assert.Equal(Path.Combine("/h", ".cache", "onepass", "ptb"), locator.CacheDirectory());

        Assert.Null(new PtbLocator { GetEnvironmentVariable = Env() }.CacheDirectory());
    }

    [Fact]
    public void When_everything_fails_the_message_lists_every_option_and_the_fixes()
    {
        using var temp = new TempDirectory();
        string home = temp.Sub("home");
        string env = temp.Sub("env");
        File.WriteAllBytes(Path.Combine(env, "ptb.valid.txt"), ValidText);
        var locator = new PtbLocator
        {
            GetEnvironmentVariable = Env(("ONEPASS_DATA", env), ("HOME", home)),
            Downloader = NoDownload,
        };

        var e = Assert.Throws<DataNotFoundException>(() => locator.Locate(null));

        Assert.Equal(4, e.Attempts.Count);
        Assert.Equal("--data-dir argument: not set", e.Attempts[0]);
        Assert.Equal($"ONEPASS_DATA environment variable {env}: {env} lacks ptb.train.txt, ptb.test.txt", e.Attempts[1]);
        Assert.Equal($"user cache folder {Path.Combine(home, ".cache", "onepass", "ptb")}: folder does not exist", e.Attempts[2]);
        Assert.StartsWith("download from " + PtbLocator.OfficialDownloadUri, e.Attempts[3]);
        Assert.Contains("no network in tests", e.Attempts[3]);
        Assert.StartsWith("Penn Treebank was not found. Tried, in order:", e.Message);
        Assert.Contains("  4. download from", e.Message);
        Assert.Contains("pass --data-dir", e.Message);
        Assert.Contains("set ONEPASS_DATA", e.Message);
        Assert.Contains("network access", e.Message);

        // The failed download leaves the (new) cache folder empty.
        Assert.Empty(Tree(Path.Combine(home, ".cache", "onepass", "ptb")));
    }

    [Fact]
    public void Download_can_be_disabled_and_needs_a_cache_folder()
    {
        var locator = new PtbLocator { GetEnvironmentVariable = Env(), Downloader = NoDownload, AllowDownload = false };
        var e = Assert.Throws<DataNotFoundException>(() => locator.Locate(null));
        Assert.Equal($"download from {PtbLocator.OfficialDownloadUri}: disabled", e.Attempts[^1]);
        Assert.Equal("user cache folder: not set (neither XDG_CACHE_HOME nor HOME is set)", e.Attempts[2]);

        locator = new PtbLocator { GetEnvironmentVariable = Env(), Downloader = NoDownload };
        e = Assert.Throws<DataNotFoundException>(() => locator.Locate(null));
        Assert.StartsWith($"download from {PtbLocator.OfficialDownloadUri}: no cache folder", e.Attempts[^1]);
    }

    [Fact]
    public void Checked_download_unpacks_only_the_three_files_into_the_cache_skipping_other_and_escaping_entries()
    {
        using var temp = new TempDirectory();
        byte[] archive = SimpleExamplesArchive(
            extra:
            [
                ("../escaped.txt", [1, 2, 3]),
                ("./simple-examples/data/../../../ptb.train.txt", [4, 5, 6]),
                ("/ptb.valid.txt.x", [7]),
            ]);
        string xdg = temp.Sub("xdg");
        var requested = new List<Uri>();
        var locator = Downloading(Env(("XDG_CACHE_HOME", xdg)), archive, requested);

        string found = locator.Locate(null);

        string cache = Path.Combine(xdg, "onepass", "ptb");
        Assert.Equal(Path.Combine(cache, "simple-examples", "data"), found);
        Assert.Equal([new Uri("http://example.invalid/simple-examples.tgz")], requested);

        // Only the three files, byte for byte; no archive, staging folder or other entry anywhere.
        Assert.Equal(
            [
                "simple-examples",
                Path.Combine("simple-examples", "data"),
                Path.Combine("simple-examples", "data", "ptb.test.txt"),
                Path.Combine("simple-examples", "data", "ptb.train.txt"),
                Path.Combine("simple-examples", "data", "ptb.valid.txt"),
            ],
            Tree(cache));
        Assert.Equal(
            ["xdg", Path.Combine("xdg", "onepass"), Path.Combine("xdg", "onepass", "ptb"),
             .. Tree(cache).Select(p => Path.Combine("xdg", "onepass", "ptb", p))],
            Tree(temp.Path));
        Assert.Equal(TrainText, File.ReadAllBytes(Path.Combine(found, "ptb.train.txt")));
        Assert.Equal(ValidText, File.ReadAllBytes(Path.Combine(found, "ptb.valid.txt")));
        Assert.Equal(TestText, File.ReadAllBytes(Path.Combine(found, "ptb.test.txt")));

        PtbCorpus corpus = PennTreebank.LoadFolder(found);
        Assert.Equal(["the", "cat", "sat", "<eos>", "on", "mat", "<unk>", "a"], corpus.Vocabulary);

        // A second call finds the cache and downloads nothing.
        requested.Clear();
        Assert.Equal(found, locator.Locate(null));
        Assert.Empty(requested);
    }

    [Fact]
    public void Entries_without_the_leading_dot_are_unpacked_too_and_an_incomplete_copy_is_replaced()
    {
        using var temp = new TempDirectory();
        byte[] archive = Cifar10Files.Archive(
        [
            ("simple-examples/data/ptb.train.txt", TrainText),
            ("simple-examples/data/ptb.valid.txt", ValidText),
            ("simple-examples/data/ptb.test.txt", TestText),
        ]);
        string home = temp.Sub("home");
        string data = Path.Combine(home, ".cache", "onepass", "ptb", "simple-examples", "data");
        Directory.CreateDirectory(data);
        File.WriteAllBytes(Path.Combine(data, "ptb.train.txt"), [1, 2, 3]);

        Assert.Equal(data, Downloading(Env(("HOME", home)), archive).Locate(null));

        Assert.Equal(PennTreebank.FileNames.Order(StringComparer.Ordinal), Tree(data));
        Assert.Equal(TrainText, File.ReadAllBytes(Path.Combine(data, "ptb.train.txt")));
    }

    [Fact]
    public void The_official_checks_reject_files_that_are_not_mikolovs_and_leave_nothing()
    {
        using var temp = new TempDirectory();
        string home = temp.Sub("home");
        var locator = new PtbLocator
        {
            GetEnvironmentVariable = Env(("HOME", home)),
            Downloader = (_, path, _) => File.WriteAllBytesAsync(path, SimpleExamplesArchive()),
        };

        var e = Assert.Throws<DataNotFoundException>(() => locator.Locate(null));

        Assert.Contains("is not the expected one: SHA-256 mismatch for ptb.test.txt: expected "
            + PtbLocator.OfficialFileSha256["ptb.test.txt"] + ", got " + Sha256(TestText), e.Attempts[^1]);
        Assert.Empty(Tree(Path.Combine(home, ".cache", "onepass", "ptb")));
        Assert.Null(locator.ExpectedArchiveSha256);
        Assert.Equal(929_589, locator.ExpectedTrainTokens);
    }

    [Fact]
    public void A_changed_test_file_or_training_token_count_is_rejected_and_leaves_nothing()
    {
        using var temp = new TempDirectory();
        string home = temp.Sub("home");
        string cache = Path.Combine(home, ".cache", "onepass", "ptb");

        var e = Assert.Throws<DataNotFoundException>(
            () => Downloading(Env(("HOME", home)), SimpleExamplesArchive(test: "a dog\n\n"u8.ToArray())).Locate(null));
        Assert.Contains("SHA-256 mismatch for ptb.test.txt", e.Attempts[^1]);
        Assert.Empty(Tree(cache));

        var locator = new PtbLocator
        {
            GetEnvironmentVariable = Env(("HOME", home)),
            ExpectedFileSha256 = TestDigests(),
            ExpectedTrainTokens = TrainTokens + 1,
            Downloader = (_, path, _) => File.WriteAllBytesAsync(path, SimpleExamplesArchive()),
        };
        e = Assert.Throws<DataNotFoundException>(() => locator.Locate(null));
        Assert.Contains($"ptb.train.txt holds {TrainTokens} tokens, expected {TrainTokens + 1}", e.Attempts[^1]);
        Assert.Empty(Tree(cache));
    }

    [Fact]
    public void A_pinned_archive_digest_is_checked()
    {
        using var temp = new TempDirectory();
        string home = temp.Sub("home");
        byte[] archive = SimpleExamplesArchive();
        var locator = new PtbLocator
        {
            GetEnvironmentVariable = Env(("HOME", home)),
            ExpectedArchiveSha256 = new string('0', 64),
            ExpectedFileSha256 = TestDigests(),
            ExpectedTrainTokens = TrainTokens,
            Downloader = (_, path, _) => File.WriteAllBytesAsync(path, archive),
        };

        var e = Assert.Throws<DataNotFoundException>(() => locator.Locate(null));
        Assert.Contains($"SHA-256 mismatch for {PtbLocator.OfficialDownloadUri}: expected {new string('0', 64)}, got {Sha256(archive)}", e.Attempts[^1]);
        Assert.Empty(Tree(Path.Combine(home, ".cache", "onepass", "ptb")));

        string found = new PtbLocator
        {
            GetEnvironmentVariable = Env(("HOME", home)),
            ExpectedArchiveSha256 = Sha256(archive).ToUpperInvariant(),
            ExpectedFileSha256 = TestDigests(),
            ExpectedTrainTokens = TrainTokens,
            Downloader = (_, path, _) => File.WriteAllBytesAsync(path, archive),
        }.Locate(null);
        Assert.True(PtbLocator.IsComplete(found));
    }

    [Fact]
    public void An_archive_lacking_a_file_or_corrupt_is_reported_and_leaves_nothing()
    {
        using var temp = new TempDirectory();
        string home = temp.Sub("home");
        string cache = Path.Combine(home, ".cache", "onepass", "ptb");

        var e = Assert.Throws<DataNotFoundException>(
            () => Downloading(Env(("HOME", home)), SimpleExamplesArchive(withTest: false)).Locate(null));
        Assert.Contains("lacks simple-examples/data/ptb.test.txt", e.Attempts[^1]);
        Assert.Empty(Tree(cache));

        e = Assert.Throws<DataNotFoundException>(
            () => Downloading(Env(("HOME", home)), [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]).Locate(null));
        Assert.Contains("unpacking", e.Attempts[^1]);
        Assert.Empty(Tree(cache));

        // An archive whose training file is not UTF-8 is reported, not thrown past the locator.
        byte[] archive = Cifar10Files.Archive(
        [
            ("simple-examples/data/ptb.train.txt", [0xFF, 0x0A]),
            ("simple-examples/data/ptb.valid.txt", ValidText),
            ("simple-examples/data/ptb.test.txt", TestText),
        ]);
        e = Assert.Throws<DataNotFoundException>(() => Downloading(Env(("HOME", home)), archive).Locate(null));
        Assert.Contains("invalid UTF-8", e.Attempts[^1]);
        Assert.Empty(Tree(cache));
    }
}
