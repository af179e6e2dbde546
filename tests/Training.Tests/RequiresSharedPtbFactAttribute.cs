namespace OnePass.Training.Tests;

/// <summary>
/// Finds the shared Penn Treebank folder (<c>shared/data/ptb</c> beside the checkout, found by
/// walking up from the test binaries, or <c>ptb</c> / <c>data/ptb</c> below the folder named by
/// <c>ONEPASS_SHARED_DATA</c>). It holds only <c>ptb.valid.txt</c> and <c>ptb.test.txt</c>.
/// </summary>
internal static class SharedPtb
{
    /// <summary>The folder holding the shared <c>ptb.valid.txt</c> and <c>ptb.test.txt</c>, or null when absent.</summary>
    public static string? Directory()
    {
        string? fromEnv = Environment.GetEnvironmentVariable(SharedData.EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            foreach (string candidate in new[] { Path.Combine(fromEnv, "ptb"), Path.Combine(fromEnv, "data", "ptb") })
            {
                if (HoldsFiles(candidate))
                {
                    return candidate;
                }
            }
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "data", "ptb");
            if (HoldsFiles(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool HoldsFiles(string folder) =>
        File.Exists(Path.Combine(folder, "ptb.valid.txt")) && File.Exists(Path.Combine(folder, "ptb.test.txt"));
}

/// <summary>
/// A fact that is skipped, with the reason, when the shared Penn Treebank validation and test files
/// are absent (checked at test discovery).
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class RequiresSharedPtbFactAttribute : FactAttribute
{
    public RequiresSharedPtbFactAttribute()
    {
        if (SharedPtb.Directory() is null)
        {
            Skip = "The real Penn Treebank files are absent: no shared/data/ptb/ptb.valid.txt and ptb.test.txt in a "
                + $"parent folder of the test binaries, and {SharedData.EnvironmentVariable} does not point at a folder "
                + "with ptb/ holding them.";
        }
    }
}
