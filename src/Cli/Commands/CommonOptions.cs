using System.CommandLine;
using OnePass.Training.Backends;
using OnePass.Training.Tensors;

namespace OnePass.Cli.Commands;

/// <summary>Options several commands share, and the backend choice they imply.</summary>
internal static class CommonOptions
{
    public static Option<string> Backend() => new("--backend")
    {
        Description = "Compute backend: auto (CUDA when a GPU and its libraries are present, else CPU), cpu or cuda",
        DefaultValueFactory = _ => "auto",
    };

    public static Option<string?> DataDir() => new("--data-dir")
    {
        Description = "Folder holding the data set (searched before ONEPASS_DATA, the user cache and system folders)",
    };

    public static IBackend CreateBackend(string choice) => BackendFactory.Create(choice, line => Console.Error.WriteLine($"onepass: {line}"));
}
