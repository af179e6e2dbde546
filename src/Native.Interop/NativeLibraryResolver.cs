using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;

namespace OnePass.Native.Interop;

/// <summary>
/// Finds the CUDA driver, NVRTC, cuBLAS and cuDNN libraries for the bindings in this assembly. Search order: the
/// system loader by bare file name, then <c>$CUDA_PATH</c> and <c>$CUDA_HOME</c> (lib64, lib,
/// targets/x86_64-linux/lib; bin on Windows), then the <c>nvidia/*/lib</c> folders of Python site-packages
/// (from <c>$VIRTUAL_ENV</c>, <c>$CONDA_PREFIX</c>, <c>$PYTHONPATH</c>, the user site and the system dist-packages), then
/// the well-known system CUDA folders. The search itself is a pure function of a
/// <see cref="LibrarySearchEnvironment"/> and a loader so it can be tested without CUDA.
/// The self-contained bundle from the Cake target <c>Publish</c> (linux-x64) ships no CUDA libraries: on the
/// target machine they come from the driver, a CUDA toolkit or pip wheels, found by this search at run time.
/// </summary>
public static class NativeLibraryResolver
{
    /// <summary>Logical name of the CUDA driver API library.</summary>
    public const string CudaDriverName = "cuda";

    /// <summary>Logical name of the NVRTC library.</summary>
    public const string NvrtcName = "nvrtc";

    /// <summary>Logical name of the cuBLAS library.</summary>
    public const string CublasName = "cublas";

    /// <summary>Logical name of the cuDNN 9 library (optional: convolutions fall back to im2col and cuBLAS without it).</summary>
    public const string CudnnName = "cudnn";

    private static readonly ConcurrentDictionary<string, LibrarySearchResult> Cache = new(StringComparer.Ordinal);
    private static int installed;

    /// <summary>Installs the resolver for this assembly's bindings; later calls do nothing.</summary>
    public static void EnsureInstalled()
    {
        if (Interlocked.Exchange(ref installed, 1) == 0)
        {
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);
        }
    }

    /// <summary>File names tried for a logical library, most specific first.</summary>
    public static IReadOnlyList<string> FileNames(string logicalName, bool isWindows) => (logicalName, isWindows) switch
    {
        (CudaDriverName, false) => ["libcuda.so.1", "libcuda.so"],
        // libnvrtc.so.11.2 is the soname of every NVRTC 11.2-11.8 (Debian's libnvrtc11.2 ships 11.8): enough to compile
        // the kernels anywhere, while what runs them is still bounded by the driver's own minimum version.
        (NvrtcName, false) => ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"],
        (CublasName, false) => ["libcublas.so.13", "libcublas.so.12", "libcublas.so"],
        // Only cuDNN 9: its status codes and the legacy convolution API bound here are 9's (pip: nvidia/cudnn/lib).
        (CudnnName, false) => ["libcudnn.so.9"],
        (CudaDriverName, true) => ["nvcuda.dll"],
        (NvrtcName, true) => ["nvrtc64_130_0.dll", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll"],
        (CublasName, true) => ["cublas64_13.dll", "cublas64_12.dll"],
        (CudnnName, true) => ["cudnn64_9.dll"],
        _ => throw new ArgumentException($"unknown CUDA library '{logicalName}'; expected {CudaDriverName}, {NvrtcName}, {CublasName} or {CudnnName}", nameof(logicalName)),
    };

    /// <summary>Folders searched after the system loader, in order, without duplicates (whether or not they exist).</summary>
    public static IReadOnlyList<string> SearchDirectories(LibrarySearchEnvironment environment)
    {
        var directories = new List<string>();
        void Add(string path)
        {
            if (!directories.Contains(path, StringComparer.Ordinal))
            {
                directories.Add(path);
            }
        }

        foreach (string variable in (string[])["CUDA_PATH", "CUDA_HOME"])
        {
            if (environment.GetVariable(variable) is { Length: > 0 } root)
            {
                if (environment.IsWindows)
                {
                    Add(Path.Combine(root, "bin"));
                    Add(Path.Combine(root, "bin", "x64"));
                }
                else
                {
                    Add(Path.Combine(root, "lib64"));
                    Add(Path.Combine(root, "lib"));
                    Add(Path.Combine(root, "targets", "x86_64-linux", "lib"));
                }
            }
        }

        foreach (string sitePackages in SitePackages(environment))
        {
            string nvidia = Path.Combine(sitePackages, "nvidia");
            foreach (string package in environment.ListDirectories(nvidia).Order(StringComparer.Ordinal))
            {
                Add(Path.Combine(package, environment.IsWindows ? "bin" : "lib"));
            }
        }

        if (!environment.IsWindows)
        {
            Add("/usr/local/cuda/lib64");
            Add("/usr/local/cuda/targets/x86_64-linux/lib");
            Add("/usr/lib/wsl/lib");
        }

        return directories;
    }

    /// <summary>Python site-packages folders that may hold pip-installed NVIDIA wheels, in search order.</summary>
    public static IReadOnlyList<string> SitePackages(LibrarySearchEnvironment environment)
    {
        var result = new List<string>();
        void AddPythonLib(string libRoot, string leaf)
        {
            foreach (string python in environment.ListDirectories(libRoot).Order(StringComparer.Ordinal))
            {
                if (Path.GetFileName(python).StartsWith("python3", StringComparison.Ordinal))
                {
                    string site = Path.Combine(python, leaf);
                    if (!result.Contains(site, StringComparer.Ordinal))
                    {
                        result.Add(site);
                    }
                }
            }
        }

        foreach (string variable in (string[])["VIRTUAL_ENV", "CONDA_PREFIX"])
        {
            if (environment.GetVariable(variable) is { Length: > 0 } prefix)
            {
                if (environment.IsWindows)
                {
                    result.Add(Path.Combine(prefix, "Lib", "site-packages"));
                }
                else
                {
                    AddPythonLib(Path.Combine(prefix, "lib"), "site-packages");
                }
            }
        }

        if (environment.GetVariable("PYTHONPATH") is { Length: > 0 } pythonPath)
        {
            char separator = environment.IsWindows ? ';' : ':';
            foreach (string entry in pythonPath.Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!result.Contains(entry, StringComparer.Ordinal))
                {
                    result.Add(entry);
                }
            }
        }

        if (!environment.IsWindows)
        {
            if (environment.HomeDirectory is { Length: > 0 } home)
            {
                AddPythonLib(Path.Combine(home, ".local", "lib"), "site-packages");
            }

            AddPythonLib("/usr/local/lib", "dist-packages");
            AddPythonLib("/usr/local/lib", "site-packages");
            AddPythonLib("/usr/lib", "dist-packages");
        }

        return result;
    }

    /// <summary>
    /// Every candidate for a logical library in order: bare file names for the system loader first, then each
    /// file name in each search folder.
    /// </summary>
    public static IReadOnlyList<string> Candidates(string logicalName, LibrarySearchEnvironment environment)
    {
        IReadOnlyList<string> names = FileNames(logicalName, environment.IsWindows);
        var candidates = new List<string>(names);
        foreach (string directory in SearchDirectories(environment))
        {
            foreach (string name in names)
            {
                candidates.Add(Path.Combine(directory, name));
            }
        }

        return candidates;
    }

    /// <summary>
    /// Searches for a logical library. <paramref name="load"/> gets a bare name or a full path and returns a handle
    /// (zero on failure). Full paths are only handed to the loader when the file exists. Never throws for a
    /// missing library: inspect <see cref="LibrarySearchResult.Found"/>.
    /// </summary>
    public static LibrarySearchResult Search(string logicalName, LibrarySearchEnvironment environment, Func<string, nint> load)
    {
        var attempts = new List<LibrarySearchAttempt>();
        foreach (string candidate in Candidates(logicalName, environment))
        {
            bool bare = !candidate.Contains('/') && !candidate.Contains('\\');
            if (!bare && !environment.FileExists(candidate))
            {
                attempts.Add(new LibrarySearchAttempt(candidate, "no such file"));
                continue;
            }

            nint handle = load(candidate);
            if (handle != 0)
            {
                attempts.Add(new LibrarySearchAttempt(candidate, "loaded"));
                return new LibrarySearchResult(logicalName, handle, candidate, attempts);
            }

            attempts.Add(new LibrarySearchAttempt(candidate, bare ? "not found by the system loader" : "failed to load"));
        }

        return new LibrarySearchResult(logicalName, 0, null, attempts);
    }

    /// <summary>Searches (once per process) for a logical library on this machine.</summary>
    public static LibrarySearchResult Find(string logicalName) =>
        Cache.GetOrAdd(logicalName, name => Search(name, LibrarySearchEnvironment.System, path => NativeLibrary.TryLoad(path, out nint handle) ? handle : 0));

    /// <summary>Loads a logical library on this machine or throws <see cref="CudaLibraryNotFoundException"/>.</summary>
    public static nint Load(string logicalName)
    {
        LibrarySearchResult result = Find(logicalName);
        return result.Found ? result.Handle : throw new CudaLibraryNotFoundException(result);
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName is CudaDriverName or NvrtcName or CublasName or CudnnName ? Load(libraryName) : 0;
}
