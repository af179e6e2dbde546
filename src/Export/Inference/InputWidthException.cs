namespace OnePass.Export;

/// <summary>The input rows do not have the number of features the model expects.</summary>
public sealed class InputWidthException : ArgumentException
{
    /// <summary>Creates the exception for an expected and an actual feature count.</summary>
    public InputWidthException(int expected, int actual)
        : base($"model expects {expected} features per row, the input has {actual}")
    {
        Expected = expected;
        Actual = actual;
    }

    /// <summary>Features per row the model expects.</summary>
    public int Expected { get; }

    /// <summary>Features per row the input has.</summary>
    public int Actual { get; }
}
