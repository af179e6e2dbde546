using System.Globalization;
using OnePass.Training.Graphs;
using OnePass.Training.Graphs.Ops;
using OnePass.Training.Tensors;

namespace OnePass.Training.Models;

/// <summary>Builds multi-layer perceptrons: Linear layers with an activation between them.</summary>
public static class Mlp
{
    /// <summary>
    /// An MLP with the given layer sizes (input first, output last), <paramref name="activation"/> after every
    /// hidden layer, and the given loss. Parameters are named "layer{i}.weight" / "layer{i}.bias".
    /// </summary>
    public static Model Build(IReadOnlyList<int> layerSizes, Activation activation, LossKind loss)
    {
        if (layerSizes.Count < 2)
        {
            throw new ArgumentException($"an MLP needs at least an input and an output size, got [{string.Join(",", layerSizes)}]");
        }

        foreach (int size in layerSizes)
        {
            if (size <= 0)
            {
                throw new ArgumentException($"layer sizes must be positive, got [{string.Join(",", layerSizes)}]");
            }
        }

        var graph = new Graph();
        var bounds = new Dictionary<Value, ParameterInit>();
        var x = graph.AddInput("input", Value.Batch, layerSizes[0]);
        var target = loss == LossKind.CrossEntropy
            ? graph.AddIndexTarget("target", Value.Batch)
            : graph.AddTarget("target", Value.Batch, layerSizes[^1]);
        var h = x;
        for (int i = 1; i < layerSizes.Count; i++)
        {
            int fanIn = layerSizes[i - 1];
            var w = graph.AddParameter($"layer{i}.weight", layerSizes[i], fanIn);
            var b = graph.AddParameter($"layer{i}.bias", layerSizes[i]);
            bounds[w] = bounds[b] = new ParameterInit.Uniform(1f / MathF.Sqrt(fanIn));
            h = graph.Apply(new LinearOp(), $"layer{i}.output", h, w, b);
            if (i < layerSizes.Count - 1)
            {
                h = graph.Apply(new ActivationOp(activation), $"layer{i}.activation", h);
            }
        }

        var lossValue = loss == LossKind.CrossEntropy
            ? graph.Apply(new SoftmaxCrossEntropyOp(), "loss", h, target)
            : graph.Apply(new MeanSquaredErrorOp(), "loss", h, target);
        string sizes = string.Join("-", layerSizes.Select(s => s.ToString(CultureInfo.InvariantCulture)));
        string lossName = loss == LossKind.CrossEntropy ? "cross-entropy" : "mse";
        return new Model(graph, x, target, h, lossValue, loss, $"MLP {sizes}, {activation.ToString().ToLowerInvariant()}, {lossName}", bounds);
    }
}
