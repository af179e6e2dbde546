using OnePass.Training.Graphs;

namespace OnePass.Training.Models;

/// <summary>
/// A trainable model: a graph with one input, one target, a prediction and a scalar training loss, and its
/// weights laid out back to back in one flat vector (so update rules, Neumann series and per-weight
/// hyperparameters work on a single buffer).
/// </summary>
public sealed class Model
{
    /// <summary>Wraps a built graph; every parameter value in it gets a slot in the flat weight vector.</summary>
    public Model(Graph graph, Value input, Value target, Value prediction, Value loss, LossKind lossKind, string description, IReadOnlyDictionary<Value, float> initBounds)
    {
        Graph = graph;
        Input = input;
        Target = target;
        Prediction = prediction;
        Loss = loss;
        LossKind = lossKind;
        Description = description;
        if (loss.Shape is not [1])
        {
            throw new ArgumentException($"the loss must be a scalar, got {loss}");
        }

        var parameters = new List<ParameterInfo>();
        int offset = 0;
        foreach (var value in graph.Values)
        {
            if (value.Kind != ValueKind.Parameter)
            {
                continue;
            }

            int length = value.ElementCount(1);
            parameters.Add(new ParameterInfo(value.Name, value.Shape, offset, length, value, initBounds.TryGetValue(value, out float b) ? b : 0f));
            offset += length;
        }

        Parameters = parameters;
        ParameterCount = offset;
    }

    /// <summary>The graph (training loss included).</summary>
    public Graph Graph { get; }

    /// <summary>Input features [N, inputs].</summary>
    public Value Input { get; }

    /// <summary>Targets: [N, outputs] for regression, class indices [N] for classification.</summary>
    public Value Target { get; }

    /// <summary>The model's output: predictions (regression) or logits (classification).</summary>
    public Value Prediction { get; }

    /// <summary>The scalar training loss.</summary>
    public Value Loss { get; }

    /// <summary>Which loss the model trains with.</summary>
    public LossKind LossKind { get; }

    /// <summary>One line, e.g. "MLP 784-50-10, relu, cross-entropy".</summary>
    public string Description { get; }

    /// <summary>Weight tensors in flat-vector order.</summary>
    public IReadOnlyList<ParameterInfo> Parameters { get; }

    /// <summary>Total number of weights.</summary>
    public int ParameterCount { get; }

    /// <summary>Features per example.</summary>
    public int InputWidth => Input.Shape[^1];

    /// <summary>Outputs per example (classes for classification).</summary>
    public int OutputWidth => Prediction.Shape[^1];

    /// <summary>Fresh weights drawn with <paramref name="seed"/>.</summary>
    public float[] InitialWeights(int seed)
    {
        var random = new Random(seed);
        var weights = new float[ParameterCount];
        foreach (var p in Parameters)
        {
            for (int i = 0; i < p.Length; i++)
            {
                weights[p.Offset + i] = (float)(((random.NextDouble() * 2) - 1) * p.InitBound);
            }
        }

        return weights;
    }
}
