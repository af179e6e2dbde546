namespace OnePass.Training.Data;

/// <summary>The contents of an IDX images file.</summary>
internal sealed record IdxImages(byte[] Pixels, int Count, int Rows, int Columns);
