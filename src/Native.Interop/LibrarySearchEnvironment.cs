namespace OnePass.Native.Interop;

/// <summary>
/// What the native library search may look at: environment variables, the file system and the platform. Tests
/// pass fakes; <see cref="System"/> reads the real machine.
/// </summary>
public sealed class LibrarySearchEnvironment
{
    /// <summary>Creates a search environment from its probes.</summary>
    public LibrarySearchEnvironment(
        Func<string, string?> getVariable,
        Func<string, bool> directoryExists,
        Func<string, IEnumerable<string>> listDirectories,
        Func<string, bool> fileExists,
        bool isWindows,
        string? homeDirectory)
    {
        GetVariable = getVariable;
        DirectoryExists = directoryExists;
        ListDirectories = listDirectories;
        FileExists = fileExists;
        IsWindows = isWindows;
        HomeDirectory = homeDirectory;
    }

    /// <summary>Reads an environment variable (null when unset).</summary>
    public Func<string, string?> GetVariable { get; }

    /// <summary>True when a directory exists.</summary>
    public Func<string, bool> DirectoryExists { get; }

    /// <summary>Full paths of the immediate subdirectories of a directory (empty when it does not exist).</summary>
    public Func<string, IEnumerable<string>> ListDirectories { get; }

    /// <summary>True when a file exists.</summary>
    public Func<string, bool> FileExists { get; }

    /// <summary>Whether to use Windows library names and folders.</summary>
    public bool IsWindows { get; }

    /// <summary>The user's home directory, if known.</summary>
    public string? HomeDirectory { get; }

    /// <summary>The real machine.</summary>
    public static LibrarySearchEnvironment System { get; } = new(
        Environment.GetEnvironmentVariable,
        Directory.Exists,
        path =>
        {
            try
            {
                return Directory.Exists(path) ? Directory.GetDirectories(path) : [];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return [];
            }
        },
        File.Exists,
        OperatingSystem.IsWindows(),
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home ? home : null);
}
