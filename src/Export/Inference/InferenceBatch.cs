namespace OnePass.Export;

/// <summary>Row-major float examples read for inference.</summary>
/// <param name="Data">Rows × Width values, row-major.</param>
/// <param name="Rows">Number of examples.</param>
/// <param name="Width">Features per example.</param>
/// <param name="ColumnNames">Header names when the source had a header row, otherwise null.</param>
/// <param name="Shape">
/// Shape of one example when the source has one (e.g. [28, 28] for an IDX image file, [3, 32, 32] for CIFAR-10);
/// its product is <paramref name="Width"/>. Null for plain rows of features.
/// </param>
public sealed record InferenceBatch(float[] Data, int Rows, int Width, IReadOnlyList<string>? ColumnNames = null, int[]? Shape = null)
{
    /// <summary>
    /// "3072 features per row (3×32×32)": a row width, with the example shape when it has more than one dimension.
    /// </summary>
    public static string DescribeWidth(int width, IReadOnlyList<int>? shape) =>
        shape is { Count: > 1 } ? $"{width} features per row ({string.Join("×", shape)})" : $"{width} features per row";
}
