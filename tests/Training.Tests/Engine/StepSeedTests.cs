using OnePass.Training.Backends;
using OnePass.Training.Graphs;
using OnePass.Training.Graphs.Ops;
using OnePass.Training.Models;

namespace OnePass.Training.Tests.Engine;

/// <summary>
/// Per-step randomness: the seed an executor is given before a forward pass is the one every rule sees at that
/// point (forward, tangent, backward and backward-tangent), so a random op draws the same mask in all four; a new
/// step's seed reaches the ops too.
/// </summary>
public sealed class StepSeedTests
{
    [Fact]
    public void EveryRuleAtOnePointSeesTheSeedOfItsForwardPass()
    {
        var recorder = new SeedRecordingOp();
        var graph = new Graph();
        var x = graph.AddInput("x", Value.Batch, 3);
        var target = graph.AddTarget("target", Value.Batch, 2);
        var w = graph.AddParameter("w", 2, 3);
        var b = graph.AddParameter("b", 2);
        var y = graph.Apply(recorder, "recorded", graph.Apply(new LinearOp(), "linear", x, w, b));
        var loss = graph.Apply(new MeanSquaredErrorOp(), "loss", y, target);
        var model = new Model(graph, x, target, y, loss, LossKind.MeanSquaredError, "seeded", new Dictionary<Value, ParameterInit>
        {
            [w] = new ParameterInit.Uniform(0.5f), [b] = new ParameterInit.Uniform(0.5f),
        });

        var backend = new CpuBackend();
        using var executor = new GraphExecutor(model, backend);
        using var weights = backend.Allocate(model.ParameterCount);
        using var gradient = backend.Allocate(model.ParameterCount);
        using var product = backend.Allocate(model.ParameterCount);
        backend.Upload(model.InitialWeights(1), weights);
        executor.SetBatch(new float[6], new float[4], 2);

        executor.Seed = 42;
        executor.Gradient(weights, gradient);
        executor.HessianVectorProduct(weights, product);
        Assert.Equal(["forward:42", "backward:42", "forward tangent:42", "backward tangent:42"], recorder.Seen);

        recorder.Seen.Clear();
        executor.Seed = 43;
        executor.Forward(weights);
        executor.HessianVectorProduct(weights, product);
        Assert.Equal(["forward:43", "forward tangent:43", "backward:43", "backward tangent:43"], recorder.Seen);
    }

    /// <summary>Identity that records the seed each rule sees.</summary>
    private sealed class SeedRecordingOp : Op
    {
        public List<string> Seen { get; } = [];

        public override string Type => "SeedRecording";

        public override int[] InferShape(IReadOnlyList<int[]> inputShapes) => (int[])inputShapes[0].Clone();

        public override void Forward(OpContext context)
        {
            Seen.Add($"forward:{context.Seed}");
            context.Backend.Copy(context.Inputs[0].Buffer, context.Output.Buffer);
        }

        public override void ForwardTangent(OpContext context)
        {
            Seen.Add($"forward tangent:{context.Seed}");
            context.Backend.Copy(context.InputTangents[0]!.Value.Buffer, context.OutputTangent!.Value.Buffer);
        }

        public override void Backward(OpContext context)
        {
            Seen.Add($"backward:{context.Seed}");
            context.Backend.Axpy(1f, context.OutputGradient!.Value.Buffer, context.InputGradients[0]!.Value.Buffer);
        }

        public override void BackwardTangent(OpContext context)
        {
            Seen.Add($"backward tangent:{context.Seed}");
            context.Backend.Axpy(1f, context.OutputGradientTangent!.Value.Buffer, context.InputGradientTangents[0]!.Value.Buffer);
        }

        public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes) => inputs[0];
    }
}
