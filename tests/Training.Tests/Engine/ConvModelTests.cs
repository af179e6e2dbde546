using System.Text.Json;
using OnePass.Training.Backends;
using OnePass.Training.Checking;
using OnePass.Training.Checkpoints;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Graphs;
using OnePass.Training.Models;
using OnePass.Training.Optimisation;
using OnePass.Training.Tensors;
using OnePass.Training.Training;

namespace OnePass.Training.Tests.Engine;

/// <summary>
/// The convolutional models end to end: the inference executor against the training executor, the derivative
/// check on a ResNet-18, and the trainer on a small in-memory image data set.
/// </summary>
public sealed class ConvModelTests
{
    private static Model TinyResNet() =>
        ModelBuilder.Build(new ModelSpec { Architecture = "resnet18", InputShape = [3, 16, 16], Outputs = 4, Loss = "cross-entropy", BaseWidth = 2 });

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    public void InferenceExecutorEqualsTheTrainingExecutorInEvaluationModeAndReusesBuffers(int rows)
    {
        var model = TinyResNet();
        using var backend = new CpuBackend();
        var random = new Random(40 + rows);
        using var weights = backend.Allocate(model.ParameterCount);
        backend.Upload(model.InitialWeights(7), weights);
        using var graph = new GraphExecutor(model, backend);

        // Move the running statistics off their initial values, so that evaluation mode reads non-trivial state.
        for (int k = 0; k < 3; k++)
        {
            var (tx, ty) = DerivativeCheck.RandomBatch(model, 4, random);
            graph.SetBatch(tx, ty, 4);
            graph.Forward(weights, updateState: true);
        }

        var (inputs, targets) = DerivativeCheck.RandomBatch(model, rows, random);
        graph.Mode = ExecutionMode.Evaluation;
        graph.SetBatch(inputs, targets, rows);
        graph.Forward(weights);
        float expectedLoss = graph.ReadLoss();
        var expectedLogits = new float[rows * model.OutputWidth];
        backend.Download(graph.PredictionBuffer, expectedLogits);

        using var inference = new InferenceExecutor(model, backend) { State = graph.State };
        Assert.Equal(ExecutionMode.Evaluation, inference.Mode);

        // Twice: a second run on the same plan must not see leftovers of the first in its reused buffers.
        for (int run = 0; run < 2; run++)
        {
            inference.Run(weights, inputs, targets, rows);
            Assert.True(Close(inference.ReadLoss(), expectedLoss), $"run {run}: inference loss {inference.ReadLoss()}, training executor {expectedLoss}");
            var logits = new float[rows * model.OutputWidth];
            backend.Download(inference.PredictionBuffer, logits);
            for (int i = 0; i < logits.Length; i++)
            {
                Assert.True(Close(logits[i], expectedLogits[i]), $"run {run}: logit {i} is {logits[i]}, training executor {expectedLogits[i]}");
            }
        }

        // Buffer reuse: the plan holds far less than every activation side by side. Scratch (the largest im2col
        // matrix) and workspaces are not activations, so they are added to the allowance rather than hidden in it.
        long activations = model.ActivationElementsPerRow * rows;
        long scratch = 0, workspaces = 0;
        foreach (var node in model.Graph.Nodes)
        {
            int[][] shapes = node.Inputs.Select(v => v.Resolve(rows)).ToArray();
            scratch = Math.Max(scratch, node.Op.ScratchSize(shapes));
            workspaces += node.Op.WorkspaceSize(shapes);
        }

        long allocated = inference.AllocatedElements;
        Assert.True(allocated > 0);
        Assert.True(allocated - scratch < 0.6 * activations,
            $"inference executor holds {allocated} elements ({scratch} of them scratch); all activations side by side are {activations} (workspaces {workspaces})");
    }

    [Fact]
    public void DerivativeCheckPassesOnResNet18InTrainingAndEvaluationMode()
    {
        // As `onepass check --config configs/cifar10-resnet18.yaml --set model.input_shape=[3,16,16] --seed 0` (shrunk to base width 4).
        var model = ModelBuilder.Build(new ModelSpec { Architecture = "resnet18", InputShape = [3, 16, 16], Outputs = 10, Loss = "cross-entropy", BaseWidth = 4 });
        using var backend = new CpuBackend();
        foreach (var mode in new[] { ExecutionMode.Training, ExecutionMode.Evaluation })
        {
            var result = DerivativeCheck.Run(model, backend, rows: 3, seed: 0, mode: mode);
            Assert.True(result.Passed, $"{mode}: {result}");
            Assert.Equal(mode, result.Mode);
        }
    }

    [Fact]
    public void TrainerRunsAConvModelEndToEndAndKeepsItsRunningStatistics()
    {
        var data = PatternImages(seed: 9);
        string dir = Path.Combine(Path.GetTempPath(), $"onepass-cnn-{Guid.NewGuid():N}");
        try
        {
            var config = CnnConfig("ours-wd-lr-m");
            using var backend = new CpuBackend();
            using var optimiser = HyperOptimiserFactory.Create(config);
            var summary = new Trainer(config, data, backend, dir).Run(optimiser);

            Assert.False(summary.Diverged, summary.Message);
            Assert.Equal(config.HyperparameterSteps * config.NetworkWeightSteps, summary.WeightSteps);
            Assert.True(double.IsFinite(summary.Final.TestLoss));
            Assert.True(summary.Final.TrainingLoss < summary.Initial.TrainingLoss,
                $"training loss went from {summary.Initial.TrainingLoss} to {summary.Final.TrainingLoss} on a learnable pattern");

            var model = Trainer.BuildModel(config, data);
            var checkpoint = Checkpoint.Load(Path.Combine(dir, Checkpoint.FileName));
            Assert.Equal(model.ParameterCount, checkpoint.Weights.Length);
            Assert.Equal(model.StateCount, checkpoint.State.Length);
            Assert.NotEmpty(checkpoint.State);
            Assert.All(checkpoint.State, s => Assert.True(float.IsFinite(s)));
            Assert.NotEqual(model.InitialState(), checkpoint.State);
            Assert.Equal("cnn", checkpoint.Header.Model?.Architecture);

            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
            var spec = json.RootElement.GetProperty("model_spec");
            Assert.Equal("cnn", spec.GetProperty("architecture").GetString());
            Assert.Equal(2, spec.GetProperty("base_width").GetInt32());
            Assert.Equal([1, 8, 8], spec.GetProperty("input_shape").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, true);
            }
        }
    }

    [Fact]
    public void PerWeightLearningRatesTrainAConvModel()
    {
        var data = PatternImages(seed: 10);
        var config = CnnConfig("ours-wd-hdlr-m");
        using var backend = new CpuBackend();
        using var optimiser = HyperOptimiserFactory.Create(config);
        var summary = new Trainer(config, data, backend, null).Run(optimiser);

        Assert.False(summary.Diverged, summary.Message);
        Assert.True(double.IsFinite(summary.Final.TestLoss));
        Assert.Contains("lr.median", summary.Hyperparameters.Keys);
        Assert.True(summary.Hyperparameters["lr.min"] < summary.Hyperparameters["lr.max"], "per-weight learning rates did not spread");
    }

    private static TrainingConfig CnnConfig(string algorithm) => new()
    {
        DataSet = "fashion-mnist", Algorithm = algorithm, Seed = 1, Architecture = "cnn", BaseWidth = 2,
        HyperparameterSteps = 4, NetworkWeightSteps = 3, BatchSize = 10, HyperparameterRollbackDistance = 3,
        LogEvery = 2, Lr = -1, WeightDecay = -4, Momentum = 0, HyperLr = 0.05,
    };

    // 1×8×8 images of 3 classes: a bright 3×3 patch at the top left, the centre or the bottom right, on noise.
    private static DataSet PatternImages(int seed)
    {
        var random = new Random(seed);
        DataSplit Split(int count)
        {
            var x = new float[count * 64];
            var y = new float[count];
            for (int r = 0; r < count; r++)
            {
                int label = r % 3;
                y[r] = label;
                int corner = label switch { 0 => 0, 1 => 3, _ => 5 };
                for (int i = 0; i < 8; i++)
                {
                    for (int j = 0; j < 8; j++)
                    {
                        bool lit = i >= corner && i < corner + 3 && j >= corner && j < corner + 3;
                        x[(r * 64) + (i * 8) + j] = (lit ? 2f : -0.3f) + (float)(0.3 * ((random.NextDouble() * 2) - 1));
                    }
                }
            }

            return new DataSplit(x, y, count, 64, 1);
        }

        return new DataSet("patterns", TaskKind.Classification, 64, 3, Split(40), Split(20), Split(20),
            new Normalisation(new float[64], Enumerable.Repeat(1f, 64).ToArray())) { ImageShape = [1, 8, 8] };
    }

    private static bool Close(float actual, float expected) => Math.Abs(actual - expected) <= 1e-6 * Math.Max(1, Math.Abs(expected));
}
