namespace OnePass.Training.Data;

/// <summary>What a model needs to know of a data set: the shape of one example, the outputs and the task.</summary>
public sealed record DataShape(int InputWidth, int Outputs, TaskKind Task, int[]? ImageShape)
{
    /// <summary>
    /// The shape of a built-in data set by name, without reading it (for checks and benchmarks on random
    /// inputs); null for an unknown name.
    /// </summary>
    public static DataShape? OfBuiltIn(string name) => name switch
    {
        FashionMnist.Name => new DataShape(784, 10, TaskKind.Classification, [1, 28, 28]),
        "cifar10" => new DataShape(3072, 10, TaskKind.Classification, [3, 32, 32]),
        "uci-energy" or "uci-kin8nm" => new DataShape(8, 1, TaskKind.Regression, null),
        "uci-power" => new DataShape(4, 1, TaskKind.Regression, null),
        // One token id per position; the reference's vocabulary (the real one is built from the text).
        "ptb" => new DataShape(1, 10_000, TaskKind.Classification, null),
        _ => null,
    };
}
