using OnePass.Training.Backends;
using OnePass.Training.Checking;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Graphs;
using OnePass.Training.Models;
using OnePass.Training.Optimisation;
using OnePass.Training.Tensors;
using static OnePass.Training.Tests.DeviceBits;
using OnePass.Training.Tests.Engine;

namespace OnePass.Training.Tests.Optimisation;

/// <summary>
/// Batch-norm running statistics move only on the forward pass of a real training step: Neumann and
/// diff-through-opt hyperparameter steps, extra Hessian-vector products, evaluation through the inference
/// executor and plain re-forwards all leave the shared state buffer bit-for-bit as it was.
/// </summary>
public sealed class StateIsolationTests
{
    private const int Interval = 2;

    [Fact]
    public void HypergradientPassesHessianVectorProductsAndEvaluationLeaveRunningStatisticsUnchanged()
    {
        var model = ModelBuilder.Build(new ModelSpec { Architecture = "cnn", InputShape = [1, 8, 8], Outputs = 3, Loss = "cross-entropy", BaseWidth = 2 });
        Assert.True(model.StateCount > 0, "the cnn should have batch-norm running statistics");
        int n = model.ParameterCount, rows = 6;
        var random = new Random(31);
        DataSplit Split(int count)
        {
            var (x, y) = DerivativeCheck.RandomBatch(model, count, random);
            return new DataSplit(x, y, count, model.InputWidth, 1);
        }

        var train = Split(2 * rows);
        var validation = Split(rows);
        var data = new DataSet("synthetic", TaskKind.Classification, model.InputWidth, 3, train, validation, validation,
            new Normalisation(new float[model.InputWidth], Enumerable.Repeat(1f, model.InputWidth).ToArray())) { ImageShape = [1, 8, 8] };

        using var backend = new CpuBackend();
        using var modelState = backend.Allocate(model.StateCount);
        backend.Upload(model.InitialState(), modelState);
        using var trainExec = new GraphExecutor(model, backend) { State = modelState };
        using var valExec = new GraphExecutor(model, backend) { State = modelState };
        using var weights = backend.Allocate(n);
        using var velocity = backend.Allocate(n);
        using var gradient = backend.Allocate(n);
        using var hypers = new HyperparameterSet(backend, n, -1.5f, -4f, 0.5f, false, (-10f, 0f));
        backend.Upload(model.InitialWeights(3), weights);
        var state = new TrainingState
        {
            Backend = backend, Model = model, TrainingExecutor = trainExec, ValidationExecutor = valExec, Weights = weights,
            RuleState = [velocity], Gradient = gradient, Hyperparameters = hypers, Data = data, TrainingSplit = train,
            ValidationSampler = new BatchSampler(validation, rows, 2),
        };
        var config = new TrainingConfig { Algorithm = "ours-wd-lr-m", NetworkWeightSteps = Interval, HyperparameterRollbackDistance = 3 };
        using var neumann = HyperOptimiserFactory.Create(config);
        Assert.IsType<NeumannHyperOptimiser>(neumann);
        using var diffThroughOpt = new DiffThroughOptHyperOptimiser(Interval, Interval, 0.05);

        // Real training steps, both optimisers recording what they need; each forward moves the running statistics.
        var sampler = new BatchSampler(train, rows, 1);
        float[] before = Download(backend, modelState);
        for (int step = 0; step < Interval; step++)
        {
            var batch = sampler.Next();
            trainExec.SetBatch(batch.Inputs, batch.Targets, batch.Count);
            trainExec.Forward(weights, updateState: true);
            trainExec.Backward(gradient);
            float[] after = Download(backend, modelState);
            Assert.False(SameBits(before, after), $"training step {step + 1}'s forward pass did not move the running statistics");
            before = after;
            state.LastBatch = batch;
            neumann.BeforeUpdate(state);
            diffThroughOpt.BeforeUpdate(state);
            SgdUpdateRule.Instance.Step(backend, weights, gradient, [velocity], hypers);
            state.WeightStep = step + 1;
        }

        float[] snapshot = Download(backend, modelState);
        void Unchanged(string what) =>
            Assert.True(SameBits(snapshot, Download(backend, modelState)), $"{what} changed the running statistics");

        neumann.Step(state);
        Unchanged("a Neumann hyperparameter step (ours-wd-lr-m)");
        diffThroughOpt.Step(state);
        Unchanged("a diff-through-opt hyperparameter step");

        using var v = backend.Allocate(n);
        using var hv = backend.Allocate(n);
        var last = state.LastBatch!;
        trainExec.SetBatch(last.Inputs, last.Targets, last.Count);
        trainExec.Forward(weights);
        Unchanged("a training-mode forward pass without updateState");
        trainExec.Backward(gradient);
        for (int k = 0; k < 3; k++)
        {
            backend.Upload(Oracle.Normal(random, n), v);
            trainExec.HessianVectorProduct(v, hv);
        }

        Unchanged("Hessian-vector products");

        trainExec.Mode = ExecutionMode.Evaluation;
        trainExec.Forward(weights, updateState: true);
        trainExec.HessianVectorProduct(v, hv);
        Unchanged("an evaluation-mode forward pass (even one asked to update the state) and its Hessian-vector product");
        trainExec.Mode = ExecutionMode.Training;

        foreach (var mode in new[] { ExecutionMode.Evaluation, ExecutionMode.Training })
        {
            using var inference = new InferenceExecutor(model, backend, mode) { State = modelState };
            inference.Run(weights, validation.Inputs, validation.Targets, validation.Count);
            Assert.True(float.IsFinite(inference.ReadLoss()));
            Unchanged($"an inference-executor evaluation in {mode} mode");
        }

        // And the state is still live: one more real training step moves it again.
        trainExec.Forward(weights, updateState: true);
        Assert.False(SameBits(snapshot, Download(backend, modelState)), "a training step after the hypergradient passes did not move the running statistics");
    }
}
