namespace OnePass.Training.Tests;

/// <summary>
/// A fact that is skipped, with the reason, when the shared UCI data set is absent (checked at
/// test discovery).
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class RequiresSharedDataFactAttribute : FactAttribute
{
    public RequiresSharedDataFactAttribute(string name = "energy")
    {
        if (SharedData.UciDirectory(name) is null)
        {
            Skip = $"The real UCI data set '{name}' is absent: no shared/data/uci/{name}/data.txt in a parent folder "
                + $"of the test binaries, and {SharedData.EnvironmentVariable} does not point at one.";
        }
    }
}
