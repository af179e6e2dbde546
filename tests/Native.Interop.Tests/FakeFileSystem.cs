using OnePass.Native.Interop;

namespace OnePass.Native.Interop.Tests;

/// <summary>An in-memory file system and environment for the library search.</summary>
internal sealed class FakeFileSystem
{
    private readonly HashSet<string> directories = new(StringComparer.Ordinal);
    private readonly HashSet<string> files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> variables = new(StringComparer.Ordinal);

    public FakeFileSystem Directory(string path)
    {
        while (!string.IsNullOrEmpty(path) && path != "/")
        {
            directories.Add(path);
            path = Path.GetDirectoryName(path) ?? "";
        }

        return this;
    }

    public FakeFileSystem File(string path)
    {
        files.Add(path);
        return Directory(Path.GetDirectoryName(path)!);
    }

    public FakeFileSystem Variable(string name, string value)
    {
        variables[name] = value;
        return this;
    }

    public LibrarySearchEnvironment Environment(string? home = "/home/user", bool isWindows = false) => new(
        name => variables.TryGetValue(name, out string? value) ? value : null,
        directories.Contains,
        path => directories.Where(d => Path.GetDirectoryName(d) == path).ToList(),
        files.Contains,
        isWindows,
        home);
}
