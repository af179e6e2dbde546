using OnePass.Training.Graphs;
using OnePass.Training.Models;

namespace OnePass.Training.Checking;

/// <summary>
/// Evaluates a model's loss in double precision from each op's <see cref="Op.ReferenceForward(IReadOnlyList{double[]}, IReadOnlyList{int[]}, ExecutionMode, double[])"/>:
/// the oracle that derivative checks differentiate by central differences. <paramref name="state"/> is the
/// model's flat state (null: its initial state); it is read, never updated.
/// </summary>
public sealed class ReferenceEvaluator(Model model, double[] inputs, double[] targets, int rows, ExecutionMode mode = ExecutionMode.Training, double[]? state = null)
{
    private readonly double[] _state = state ?? Array.ConvertAll(model.InitialState(), x => (double)x);

    /// <summary>The training loss at <paramref name="weights"/> (flat, in the model's parameter order).</summary>
    public double Loss(ReadOnlySpan<double> weights)
    {
        var graph = model.Graph;
        var values = new double[graph.Values.Count][];
        var shapes = new int[graph.Values.Count][];
        foreach (var v in graph.Values)
        {
            shapes[v.Id] = v.Resolve(rows);
        }

        values[model.Input.Id] = inputs;
        values[model.Target.Id] = targets;
        foreach (var p in model.Parameters)
        {
            values[p.Value.Id] = weights.Slice(p.Offset, p.Length).ToArray();
        }

        var stateOf = model.States.ToDictionary(s => s.Node, s => _state.AsSpan(s.Offset, s.Length).ToArray());
        foreach (var node in graph.Nodes)
        {
            var ins = node.Inputs.Select(i => values[i.Id] ?? throw new InvalidOperationException($"value {i} is not computed")).ToArray();
            values[node.Output.Id] = node.Op.ReferenceForward(ins, node.Inputs.Select(i => shapes[i.Id]).ToArray(), mode, stateOf.GetValueOrDefault(node));
        }

        return values[model.Loss.Id][0];
    }
}
