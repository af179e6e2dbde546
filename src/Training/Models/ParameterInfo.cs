using OnePass.Training.Graphs;

namespace OnePass.Training.Models;

/// <summary>One weight tensor's place in the model's flat weight vector, and how it is initialised.</summary>
public sealed record ParameterInfo(string Name, int[] Shape, int Offset, int Length, Value Value, ParameterInit Init);
