using OnePass.Native.Interop;

namespace OnePass.Native.Interop.Tests;

public sealed class NativeLibraryResolverTests
{
    [Fact]
    public void Bare_names_come_first_in_version_order()
    {
        var candidates = NativeLibraryResolver.Candidates("cublas", new FakeFileSystem().Environment());

        Assert.Equal(["libcublas.so.13", "libcublas.so.12", "libcublas.so"], candidates.Take(3));
        Assert.Equal("/usr/local/cuda/lib64/libcublas.so.13", candidates[3]);
    }

    [Fact]
    public void Cuda_path_and_home_precede_python_wheels_which_precede_system_folders()
    {
        var fs = new FakeFileSystem()
            .Variable("CUDA_PATH", "/opt/cuda")
            .Variable("CUDA_HOME", "/opt/cuda-home")
            .Variable("VIRTUAL_ENV", "/venv")
            .Directory("/venv/lib/python3.12/site-packages/nvidia/cublas")
            .Directory("/venv/lib/python3.12/site-packages/nvidia/cuda_nvrtc")
            .Directory("/usr/lib/python3/dist-packages/nvidia/cu13");

        var directories = NativeLibraryResolver.SearchDirectories(fs.Environment());

        Assert.Equal(
            [
                "/opt/cuda/lib64", "/opt/cuda/lib", "/opt/cuda/targets/x86_64-linux/lib",
                "/opt/cuda-home/lib64", "/opt/cuda-home/lib", "/opt/cuda-home/targets/x86_64-linux/lib",
                "/venv/lib/python3.12/site-packages/nvidia/cublas/lib",
                "/venv/lib/python3.12/site-packages/nvidia/cuda_nvrtc/lib",
                "/usr/lib/python3/dist-packages/nvidia/cu13/lib",
                "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/wsl/lib",
            ],
            directories);
    }

    [Fact]
    public void Pythonpath_entries_and_user_site_are_searched()
    {
        var fs = new FakeFileSystem()
            .Variable("PYTHONPATH", "/extra/site:/more")
            .Directory("/extra/site/nvidia/cublas")
            .Directory("/home/user/.local/lib/python3.11/site-packages/nvidia/cuda_nvrtc");

        var sites = NativeLibraryResolver.SitePackages(fs.Environment());
        var directories = NativeLibraryResolver.SearchDirectories(fs.Environment());

        Assert.Equal(["/extra/site", "/more", "/home/user/.local/lib/python3.11/site-packages"], sites.Take(3));
        Assert.Contains("/extra/site/nvidia/cublas/lib", directories);
        Assert.Contains("/home/user/.local/lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib", directories);
    }

    [Fact]
    public void System_loader_hit_stops_the_search()
    {
        var tried = new List<string>();
        var result = NativeLibraryResolver.Search("nvrtc", new FakeFileSystem().Environment(), name =>
        {
            tried.Add(name);
            return name == "libnvrtc.so.12" ? 42 : 0;
        });

        Assert.True(result.Found);
        Assert.Equal(42, result.Handle);
        Assert.Equal("libnvrtc.so.12", result.LoadedFrom);
        Assert.Equal(["libnvrtc.so.13", "libnvrtc.so.12"], tried);
    }

    [Fact]
    public void Full_paths_are_loaded_only_when_the_file_exists()
    {
        var fs = new FakeFileSystem()
            .Variable("CUDA_PATH", "/opt/cuda")
            .File("/opt/cuda/lib/libcublas.so.12");
        var tried = new List<string>();

        var result = NativeLibraryResolver.Search("cublas", fs.Environment(), name =>
        {
            tried.Add(name);
            return name.StartsWith('/') ? 7 : 0;
        });

        Assert.Equal("/opt/cuda/lib/libcublas.so.12", result.LoadedFrom);
        Assert.Equal(["libcublas.so.13", "libcublas.so.12", "libcublas.so", "/opt/cuda/lib/libcublas.so.12"], tried);
        Assert.Contains(result.Attempts, a => a.Candidate == "/opt/cuda/lib64/libcublas.so.13" && a.Outcome == "no such file");
    }

    [Fact]
    public void Failure_message_lists_every_path_and_how_to_fix_it()
    {
        var fs = new FakeFileSystem().Variable("CUDA_PATH", "/opt/cuda").File("/opt/cuda/lib64/libcublas.so.13");
        var result = NativeLibraryResolver.Search("cublas", fs.Environment(), _ => 0);

        var exception = new CudaLibraryNotFoundException(result);

        Assert.False(result.Found);
        foreach (var attempt in result.Attempts)
        {
            Assert.Contains(attempt.Candidate, exception.Message);
        }

        Assert.Contains("libcublas.so.13 (not found by the system loader)", exception.Message);
        Assert.Contains("/opt/cuda/lib64/libcublas.so.13 (failed to load)", exception.Message);
        Assert.Contains("/usr/local/cuda/lib64/libcublas.so (no such file)", exception.Message);
        Assert.Contains("CUDA_PATH", exception.Message);
        Assert.Contains("pip install nvidia-cublas", exception.Message);
        Assert.Equal("libcublas.so.13 not found", exception.ShortReason);
    }

    [Fact]
    public void Driver_failure_message_points_at_the_gpu_driver()
    {
        var result = NativeLibraryResolver.Search("cuda", new FakeFileSystem().Environment(), _ => 0);

        var message = new CudaLibraryNotFoundException(result).Message;

        Assert.StartsWith("Could not load the CUDA driver library (libcuda)", message);
        Assert.Contains("libcuda.so.1 (not found by the system loader)", message);
        Assert.Contains("NVIDIA GPU driver", message);
    }

    [Fact]
    public void Windows_uses_dll_names_and_bin_folders()
    {
        var fs = new FakeFileSystem().Variable("CUDA_PATH", @"C:\CUDA");

        var candidates = NativeLibraryResolver.Candidates("nvrtc", fs.Environment(home: null, isWindows: true));

        Assert.Equal(["nvrtc64_130_0.dll", "nvrtc64_120_0.dll"], candidates.Take(2));
        Assert.Contains(Path.Combine(@"C:\CUDA", "bin", "nvrtc64_130_0.dll"), candidates);
        Assert.DoesNotContain(candidates, c => c.StartsWith("/usr", StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_logical_name_is_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => NativeLibraryResolver.FileNames("cufft", false));
        Assert.Contains("cuda, nvrtc, cublas or cudnn", error.Message);
    }

    [Fact]
    public void Cudnn_is_looked_for_as_version_9_only()
    {
        Assert.Equal(["libcudnn.so.9"], NativeLibraryResolver.FileNames(NativeLibraryResolver.CudnnName, isWindows: false));
        Assert.Equal(["cudnn64_9.dll"], NativeLibraryResolver.FileNames(NativeLibraryResolver.CudnnName, isWindows: true));
    }

    [Fact]
    public void Cudnn_is_found_in_the_pip_wheel_folder()
    {
        var fs = new FakeFileSystem()
            .Variable("VIRTUAL_ENV", "/venv")
            .Directory("/venv/lib/python3.12/site-packages/nvidia/cublas")
            .Directory("/venv/lib/python3.12/site-packages/nvidia/cudnn")
            .File("/venv/lib/python3.12/site-packages/nvidia/cudnn/lib/libcudnn.so.9");
        var tried = new List<string>();

        var result = NativeLibraryResolver.Search("cudnn", fs.Environment(), name =>
        {
            tried.Add(name);
            return name.StartsWith('/') ? 9 : 0;
        });

        Assert.True(result.Found);
        Assert.Equal("/venv/lib/python3.12/site-packages/nvidia/cudnn/lib/libcudnn.so.9", result.LoadedFrom);
        Assert.Equal(["libcudnn.so.9", "/venv/lib/python3.12/site-packages/nvidia/cudnn/lib/libcudnn.so.9"], tried);
        Assert.Contains(result.Attempts, a => a.Candidate == "/venv/lib/python3.12/site-packages/nvidia/cublas/lib/libcudnn.so.9" && a.Outcome == "no such file");
    }

    [Fact]
    public void Cudnn_under_cuda_path_and_the_system_folders_is_found_like_cublas()
    {
        var candidates = NativeLibraryResolver.Candidates("cudnn", new FakeFileSystem().Variable("CUDA_PATH", "/opt/cuda").Environment());

        Assert.Equal("libcudnn.so.9", candidates[0]);
        Assert.Contains("/opt/cuda/lib64/libcudnn.so.9", candidates);
        Assert.Contains("/usr/local/cuda/lib64/libcudnn.so.9", candidates);
        Assert.Contains("/usr/lib/wsl/lib/libcudnn.so.9", candidates);
    }

    [Fact]
    public void Cudnn_failure_message_says_how_to_install_it_and_what_happens_without_it()
    {
        var result = NativeLibraryResolver.Search("cudnn", new FakeFileSystem().Environment(), _ => 0);

        var exception = new CudaLibraryNotFoundException(result);

        Assert.StartsWith("Could not load the cuDNN 9 library (libcudnn)", exception.Message);
        Assert.Contains("pip install nvidia-cudnn-cu12", exception.Message);
        Assert.Contains("im2col", exception.Message);
        Assert.Equal("libcudnn.so.9 not found", exception.ShortReason);
    }

    [Fact]
    public void Nvrtc_11_2_soname_is_tried_after_the_newer_ones()
    {
        IReadOnlyList<string> names = NativeLibraryResolver.FileNames(NativeLibraryResolver.NvrtcName, isWindows: false);

        Assert.Equal(["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"], names);
    }
}
