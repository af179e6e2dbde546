using OnePass.Training.Data;

namespace OnePass.Training.Tests;

/// <summary>
/// A fact that is skipped, with the reason, when Debian's Fashion-MNIST files are absent (checked at
/// test discovery).
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class RequiresFashionMnistFactAttribute : FactAttribute
{
    public RequiresFashionMnistFactAttribute()
    {
        if (SharedData.FashionMnistDirectory() is null)
        {
            Skip = $"Fashion-MNIST is absent: {FashionMnistLocator.DebianDirectory} does not hold the four IDX files "
                + "(apt-get install dataset-fashion-mnist).";
        }
    }
}
