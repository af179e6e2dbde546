using OnePass.Native.Interop;

namespace OnePass.Native.Interop.Tests;

public sealed class KernelCacheTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "onepass-kernel-cache-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static readonly string[] Options = ["--std=c++17"];

    [Fact]
    public void Key_is_stable_for_equal_inputs()
    {
        string a = KernelCache.ComputeKey("src", "sm_90", "nvrtc-13.0", Options);
        string b = KernelCache.ComputeKey("src", "sm_90", "nvrtc-13.0", ["--std=c++17"]);

        Assert.Equal(a, b);
        Assert.Equal(64, a.Length);
        Assert.Matches("^[0-9a-f]{64}$", a);
    }

    [Fact]
    public void Key_changes_with_every_input()
    {
        string baseline = KernelCache.ComputeKey("src", "sm_90", "nvrtc-13.0", Options);

        Assert.NotEqual(baseline, KernelCache.ComputeKey("src2", "sm_90", "nvrtc-13.0", Options));
        Assert.NotEqual(baseline, KernelCache.ComputeKey("src", "sm_80", "nvrtc-13.0", Options));
        Assert.NotEqual(baseline, KernelCache.ComputeKey("src", "sm_90", "nvrtc-12.8", Options));
        Assert.NotEqual(baseline, KernelCache.ComputeKey("src", "sm_90", "nvrtc-13.0", ["--std=c++14"]));
        Assert.NotEqual(baseline, KernelCache.ComputeKey("src", "sm_90", "nvrtc-13.0", []));
    }

    [Fact]
    public void Key_fields_cannot_run_into_each_other()
    {
        Assert.NotEqual(
            KernelCache.ComputeKey("ab", "c", "v", []),
            KernelCache.ComputeKey("a", "bc", "v", []));
        Assert.NotEqual(
            KernelCache.ComputeKey("s", "a", "v", ["-x", "-y"]),
            KernelCache.ComputeKey("s", "a", "v", ["-x -y"]));
    }

    [Fact]
    public void Second_request_is_served_from_disk()
    {
        int calls = 0;
        byte[] Compile(string source, string name, string arch, IReadOnlyList<string> options)
        {
            calls++;
            return [1, 2, 3, (byte)source.Length];
        }

        var first = new KernelCache(directory, "nvrtc-13.0", Compile);
        byte[] image = first.GetOrCompile("abc", "k.cu", "sm_90", Options);

        var second = new KernelCache(directory, "nvrtc-13.0", Compile);
        byte[] again = second.GetOrCompile("abc", "k.cu", "sm_90", Options);

        Assert.Equal([1, 2, 3, 3], image);
        Assert.Equal(image, again);
        Assert.Equal(1, calls);
        Assert.Equal(0, second.Compilations);
        Assert.True(File.Exists(first.PathFor(KernelCache.ComputeKey("abc", "sm_90", "nvrtc-13.0", Options))));
        Assert.Empty(Directory.GetFiles(directory, "*.tmp"));
    }

    [Fact]
    public void A_different_compiler_version_recompiles()
    {
        int calls = 0;
        byte[] Compile(string s, string n, string a, IReadOnlyList<string> o) => [(byte)++calls];

        new KernelCache(directory, "nvrtc-12.8", Compile).GetOrCompile("abc", "k.cu", "sm_90", Options);
        byte[] image = new KernelCache(directory, "nvrtc-13.0", Compile).GetOrCompile("abc", "k.cu", "sm_90", Options);

        Assert.Equal(2, calls);
        Assert.Equal([2], image);
    }

    [Fact]
    public void Write_replaces_an_entry_atomically()
    {
        var cache = new KernelCache(directory, "v", (_, _, _, _) => []);
        cache.Write("key", [1, 2, 3]);
        cache.Write("key", [4, 5]);

        Assert.True(cache.TryRead("key", out byte[] image));
        Assert.Equal([4, 5], image);
        Assert.False(cache.TryRead("missing", out _));
        Assert.Single(Directory.GetFiles(directory));
    }

    [Fact]
    public void Compile_failure_propagates_and_caches_nothing()
    {
        var cache = new KernelCache(directory, "v", (_, _, _, _) => throw new CudaException(CudaLibraryKind.Nvrtc, "nvrtcCompileProgram", 6, "log line"));

        var error = Assert.Throws<CudaException>(() => cache.GetOrCompile("bad", "k.cu", "sm_90", Options));

        Assert.Contains("log line", error.Message);
        Assert.False(Directory.Exists(directory) && Directory.GetFiles(directory).Length > 0);
    }

    [Fact]
    public void Default_directory_follows_xdg_then_home()
    {
        Assert.Equal(Path.Combine("/x", "onepass", "kernels"),
            KernelCache.DefaultDirectory(n => n == "XDG_CACHE_HOME" ? "/x" : null, "/home/u", false));
        Assert.Equal(Path.Combine("/home/u", ".cache", "onepass", "kernels"),
            KernelCache.DefaultDirectory(_ => null, "/home/u", false));
        Assert.Equal("/explicit",
            KernelCache.DefaultDirectory(n => n == "ONEPASS_KERNEL_CACHE" ? "/explicit" : "/x", "/home/u", false));
    }
}
