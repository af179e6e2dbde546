using OnePass.Training.Backends;
using OnePass.Training.Checking;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Graphs;
using OnePass.Training.Models;
using OnePass.Training.Training;

namespace OnePass.Training.Tests.Models;

/// <summary>The lstm architecture: its spec, builder (names, shapes, initialisation), random token batches, derivative check and configuration.</summary>
public sealed class LanguageModelTests
{
    private static ModelSpec Small => new()
    {
        Architecture = "lstm", Outputs = 11, EmbeddingSize = 5, HiddenSize = 5, Layers = 2, Sequences = 3, Steps = 4, InputShape = [3],
    };

    [Fact]
    public void BuildsPyTorchNamesShapesAndInitialisation()
    {
        var model = ModelBuilder.Build(Small);
        string[] names = ["encoder.weight",
            "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
            "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1", "decoder.weight", "decoder.bias"];
        Assert.Equal(names, model.Parameters.Select(p => p.Name));
        Assert.Equal([11, 5], model.Parameters[0].Shape);
        Assert.Equal([20, 5], model.Parameters[1].Shape);
        Assert.Equal(3, model.InputWidth);
        Assert.Equal(3, model.TargetWidth);
        Assert.Equal(11, model.OutputWidth);
        Assert.Equal([Value.Batch, 3, 11], model.Prediction.Shape);
        Assert.IsType<ParameterInit.Normal>(model.Parameters[0].Init);
        Assert.All(model.Parameters.Skip(1), p => Assert.Equal(new ParameterInit.Uniform(1f / MathF.Sqrt(5)), p.Init));
        Assert.Equal(2 * 4 * 3 * 5, model.StateCount);
        Assert.All(model.InitialState(), s => Assert.Equal(0f, s));
    }

    [Fact]
    public void RandomBatchesHoldTokenIds()
    {
        var model = ModelBuilder.Build(Small);
        Assert.Equal(11, DerivativeCheck.TokenVocabulary(model));
        var (inputs, targets) = DerivativeCheck.RandomBatch(model, 7, new Random(1));
        Assert.Equal(7 * 3, inputs.Length);
        Assert.Equal(7 * 3, targets.Length);
        Assert.All(inputs.Concat(targets), id => Assert.True(id == MathF.Floor(id) && id >= 0 && id < 11, $"{id}"));
    }

    [Theory]
    [InlineData(ExecutionMode.Training)]
    [InlineData(ExecutionMode.Evaluation)]
    public void GradientAndHessianVectorProductsMatchTheDoubleReference(ExecutionMode mode)
    {
        // Evaluation mode first advances the carried states over three batches, so the check starts from non-zero states.
        var model = ModelBuilder.Build(Small);
        using var backend = new CpuBackend();
        var result = DerivativeCheck.Run(model, backend, rows: 4, seed: 2, mode: mode);
        Assert.True(result.Passed, result.ToString());
    }

    [Fact]
    public void RejectsMissingSizes()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelBuilder.Build(Small with { HiddenSize = 0 }));
        Assert.Contains("hidden_size", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConfigurationBuildsTheSpecAndHashesOnlyLanguageModelKeysForLstm()
    {
        string dir = Directory.CreateTempSubdirectory("onepass-lm-").FullName;
        try
        {
            string path = Path.Combine(dir, "lm.yaml");
            File.WriteAllText(path, "dataset: ptb\nbatch_size: 7\nnetwork_weight_grad_clipping:\n  norm: 0.25\nmodel:\n  architecture: lstm\n  vocabulary: 50\n  embedding_size: 8\n  hidden_size: 6\n  layers: 2\n  sequences: 4\n  steps: 7\n");
            var config = TrainingConfig.Load(path);
            var spec = Trainer.Spec(config, new DataShape(1, 50, TaskKind.Classification, null));
            Assert.Equal(("lstm", 50, 8, 6, 2, 4, 7), (spec.Architecture, spec.Vocabulary, spec.EmbeddingSize, spec.HiddenSize, spec.Layers, spec.Sequences, spec.Steps));
            Assert.Contains("  hidden_size: 6", config.ToYaml(), StringComparison.Ordinal);
            Assert.Throws<ConfigException>(() => Trainer.Spec(config, new DataShape(1, 60, TaskKind.Classification, null)));

            string mlp = Path.Combine(dir, "mlp.yaml");
            File.WriteAllText(mlp, "dataset: fashion-mnist\n");
            Assert.DoesNotContain("vocabulary", TrainingConfig.Load(mlp).ToYaml(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
