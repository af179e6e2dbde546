namespace OnePass.Export;

/// <summary>The input rows do not have the number of features the model expects.</summary>
public sealed class InputWidthException : ArgumentException
{
    /// <summary>
    /// Creates the exception for an expected and an actual feature count, with the example shapes when known
    /// (e.g. [3, 32, 32] for the model, [28, 28] for an IDX file), which the message then names.
    /// </summary>
    public InputWidthException(int expected, int actual, IReadOnlyList<int>? expectedShape = null, IReadOnlyList<int>? actualShape = null)
        : base(Describe(expected, actual, expectedShape, actualShape))
    {
        Expected = expected;
        Actual = actual;
    }

    /// <summary>Features per row the model expects.</summary>
    public int Expected { get; }

    /// <summary>Features per row the input has.</summary>
    public int Actual { get; }

    /// <summary>
    /// The one-line message: "model expects 3072 features per row (3×32×32), the input has 784 features per row (28×28)",
    /// or for plain rows "model expects 8 features per row, the input has 9".
    /// </summary>
    public static string Describe(int expected, int actual, IReadOnlyList<int>? expectedShape = null, IReadOnlyList<int>? actualShape = null)
    {
        string model = InferenceBatch.DescribeWidth(expected, expectedShape);
        string input = expectedShape is { Count: > 1 } || actualShape is { Count: > 1 } ? InferenceBatch.DescribeWidth(actual, actualShape) : actual.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return $"model expects {model}, the input has {input}";
    }
}
