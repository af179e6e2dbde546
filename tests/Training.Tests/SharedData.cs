using OnePass.Training.Data;

namespace OnePass.Training.Tests;

/// <summary>
/// Finds the real data sets that live outside the repository: <c>shared/data</c> beside the
/// checkout (found by walking up from the test binaries) or the folder named by
/// <c>ONEPASS_SHARED_DATA</c>, and the Debian Fashion-MNIST folder.
/// </summary>
internal static class SharedData
{
    public const string EnvironmentVariable = "ONEPASS_SHARED_DATA";

    /// <summary>The folder holding <c>NAME/data.txt</c> for a UCI data set, or null when absent.</summary>
    public static string? UciDirectory(string name)
    {
        string? fromEnv = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            foreach (string candidate in new[]
                     {
                         Path.Combine(fromEnv, "uci", name),
                         Path.Combine(fromEnv, "data", "uci", name),
                     })
            {
                if (File.Exists(Path.Combine(candidate, UciDataSet.DataFileName)))
                {
                    return candidate;
                }
            }
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "data", "uci", name);
            if (File.Exists(Path.Combine(candidate, UciDataSet.DataFileName)))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The Debian Fashion-MNIST folder when it holds all four files, else null.</summary>
    public static string? FashionMnistDirectory() =>
        FashionMnistLocator.IsComplete(FashionMnistLocator.DebianDirectory) ? FashionMnistLocator.DebianDirectory : null;
}
