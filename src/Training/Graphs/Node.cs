namespace OnePass.Training.Graphs;

/// <summary>One application of an op: its input values and the value it produces.</summary>
public sealed class Node
{
    internal Node(int id, Op op, Value[] inputs, Value output)
    {
        Id = id;
        Op = op;
        Inputs = inputs;
        Output = output;
    }

    /// <summary>Position in the graph's topological order.</summary>
    public int Id { get; }

    /// <summary>The operation.</summary>
    public Op Op { get; }

    /// <summary>Input values, in the op's order.</summary>
    public IReadOnlyList<Value> Inputs { get; }

    /// <summary>The single output value.</summary>
    public Value Output { get; }
}
