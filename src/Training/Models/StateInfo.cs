using OnePass.Training.Graphs;

namespace OnePass.Training.Models;

/// <summary>One node's non-parameter state (e.g. batch-norm running statistics) in the model's flat state vector.</summary>
public sealed record StateInfo(string Name, Node Node, int Offset, int Length);
