using OnePass.Training.Backends;
using OnePass.Training.Checkpoints;
using OnePass.Training.Graphs;
using OnePass.Training.Models;

namespace OnePass.Export.Tests;

/// <summary>Convolutional models with perturbed weights and trained running statistics, exported, with the engine's logits.</summary>
internal static class TrainedConvModel
{
    /// <summary>Per element: |ORT − engine| ≤ Tolerance · max(1, |engine|), i.e. absolute below 1, relative above.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>Classes of every test model.</summary>
    public const int Classes = 10;

    public static float[] RandomPixels(int count, Random random) =>
        Enumerable.Range(0, count).Select(_ => (float)random.Next(256)).ToArray();

    /// <summary>
    /// Builds the model, perturbs its batch-norm scales and shifts and biases, runs a few training forwards that
    /// update the running statistics on random batches, and exports the weights and that state.
    /// </summary>
    public static Exported Export(string architecture, int[] shape, int baseWidth, Random random)
    {
        var spec = new ModelSpec { Architecture = architecture, InputShape = shape, Outputs = Classes, Loss = "cross-entropy", BaseWidth = baseWidth };
        var model = ModelBuilder.Build(spec);
        float[] weights = model.InitialWeights(random.Next());
        foreach (var p in model.Parameters.Where(p => p.Shape.Length == 1))
        {
            for (int i = 0; i < p.Length; i++)
            {
                weights[p.Offset + i] += (float)(random.NextDouble() - 0.5) * 0.6f;
            }
        }

        int features = model.InputWidth;

        // Mean and std deliberately off the data's (uniform 0..255) so the running statistics move far from 0 and 1.
        var header = new CheckpointHeader
        {
            OnePassVersion = "0.1.0", DataSet = "synthetic", Task = "classification", Model = spec, Loss = "cross-entropy",
            InputMean = Enumerable.Range(0, features).Select(_ => (float)(60 + random.NextDouble() * 40)).ToArray(),
            InputStd = Enumerable.Range(0, features).Select(_ => (float)(20 + random.NextDouble() * 60)).ToArray(),
            Algorithm = "ours-wd-lr-m", WeightStep = 3, Seed = 7,
        };

        var backend = new CpuBackend();
        using var w = backend.Allocate(model.ParameterCount);
        backend.Upload(weights, w);
        float[] state = new float[model.StateCount];
        using (var executor = new GraphExecutor(model, backend))
        {
            int rows = 6;
            for (int step = 0; step < 4; step++)
            {
                float[] batch = Normalise(RandomPixels(rows * features, random), header);
                float[] labels = Enumerable.Range(0, rows).Select(_ => (float)random.Next(Classes)).ToArray();
                executor.SetBatch(batch, labels, rows);
                executor.Forward(w, updateState: true);
            }

            backend.Download(executor.State!, state);
        }

        Assert.NotEqual(model.InitialState(), state);
        return new Exported(model, weights, state, header, OnnxExporter.Export(model, weights, header, state));
    }

    private static float[] Normalise(float[] raw, CheckpointHeader header)
    {
        int features = header.InputMean.Length;
        return raw.Select((x, i) => (x - header.InputMean[i % features]) / header.InputStd[i % features]).ToArray();
    }

    public sealed record Exported(Model Model, float[] Weights, float[] State, CheckpointHeader Header, Onnx.ModelProto Onnx)
    {
        /// <summary>The engine's evaluation-mode logits (running statistics) on <paramref name="raw"/>, normalised on the host.</summary>
        public float[] EngineLogits(float[] raw, int rows)
        {
            var backend = new CpuBackend();
            using var w = backend.Allocate(Model.ParameterCount);
            backend.Upload(Weights, w);
            using var state = backend.Allocate(Model.StateCount);
            backend.Upload(State, state);
            using var executor = new InferenceExecutor(Model, backend) { State = state };
            executor.Run(w, Normalise(raw, Header), new float[rows], rows);
            var logits = new float[rows * Classes];
            backend.Download(executor.PredictionBuffer, logits);
            return logits;
        }
    }
}
