using OnePass.Training.Graphs;

namespace OnePass.Training.Checking;

/// <summary>How the self-test fills one input of an op case.</summary>
public enum OpInputKind
{
    /// <summary>Standard normal values.</summary>
    Gaussian,

    /// <summary>A shuffled ramp with gaps of 0.05: no ties, so max-pooling's choice is stable under small moves.</summary>
    Distinct,

    /// <summary>Integer class labels in [0, <see cref="OpCase.Classes"/>).</summary>
    Labels,

    /// <summary>Integer token ids in [0, <see cref="OpCase.Classes"/>), every third one the same id (repeats).</summary>
    Ids,
}

/// <summary>
/// One op at fixed input shapes for the op-rule self-test: which inputs carry tangents and adjoints
/// (<paramref name="Live"/>), how each input is filled, and the execution mode.
/// </summary>
public sealed record OpCase(string Name, Op Op, int[][] Shapes, bool[] Live, OpInputKind[] Inputs, int Classes = 0, ExecutionMode Mode = ExecutionMode.Training);
