namespace OnePass.Export;

/// <summary>Row-major float examples read for inference.</summary>
/// <param name="Data">Rows × Width values, row-major.</param>
/// <param name="Rows">Number of examples.</param>
/// <param name="Width">Features per example.</param>
/// <param name="ColumnNames">Header names when the source had a header row, otherwise null.</param>
public sealed record InferenceBatch(float[] Data, int Rows, int Width, IReadOnlyList<string>? ColumnNames = null);
