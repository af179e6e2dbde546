using System.Text;
using System.Text.Json;
using OnePass.Training.Backends;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Graphs;
using OnePass.Training.Models;
using OnePass.Training.Optimisation;
using OnePass.Training.Tensors;
using static OnePass.Training.Tests.DeviceBits;
using OnePass.Training.Tests.Data;
using OnePass.Training.Training;

namespace OnePass.Training.Tests.Training;

/// <summary>
/// Truncated back-propagation through time in the trainer: a language model trained end to end from text files named
/// in a configuration, carried states that hypergradient passes leave alone, validation and evaluation streams that
/// carry states of their own, and the sequential sampler's order and pass boundaries.
/// </summary>
public sealed class LanguageModelTrainingTests
{
    // A tiny, highly regular corpus: a model that learns anything at all gets its perplexity far below the vocabulary's size.
    private static string Corpus(int lines, int seed)
    {
        string[] subjects = ["the cat", "a dog", "my bird", "the fox"];
        string[] verbs = ["sees", "likes", "finds"];
        string[] objects = ["the ball", "a stick", "the tree"];
        var random = new Random(seed);
        var text = new StringBuilder();
        for (int i = 0; i < lines; i++)
        {
            text.Append(subjects[random.Next(subjects.Length)]).Append(' ').Append(verbs[random.Next(verbs.Length)]).Append(' ')
                .Append(objects[random.Next(objects.Length)]).Append(" .\n");
        }

        return text.ToString();
    }

    private static string WriteConfig(TempDirectory dir, string algorithm, int hyperSteps, string extra = "")
    {
        File.WriteAllText(Path.Combine(dir.Path, "train.txt"), Corpus(400, 1));
        File.WriteAllText(Path.Combine(dir.Path, "heldout.txt"), Corpus(200, 2));
        string path = Path.Combine(dir.Path, "lm.yaml");
        File.WriteAllText(path, $"""
            dataset:
              kind: text
              name: tiny
              train_file: train.txt
              validation_file: heldout.txt
              test_file: heldout.txt
              validation_line_share: 0.5
            algorithm: {algorithm}
            seed: 3
            network_weight_steps: 5
            hyperparameter_steps: {hyperSteps}
            batch_size: 8
            lr: -0.3
            weight_decay: -6
            momentum: 0
            log_every: 5
            network_weight_grad_clipping:
              norm: 1
            model:
              architecture: lstm
              embedding_size: 8
              hidden_size: 16
              layers: 2
              sequences: 4
              steps: 8
            {extra}
            """);
        return path;
    }

    [Fact]
    public void TrainsFromTextFilesAndTestPerplexityFallsFarBelowTheVocabularySize()
    {
        using var dir = new TempDirectory();
        var config = TrainingConfig.Load(WriteConfig(dir, "ours-wd-lr-m", 30));
        var data = DataSetLoader.Load(config, null);
        Assert.True(data.IsTokenStream);
        Assert.Equal(4, data.InputWidth);
        int vocabulary = data.OutputWidth;
        Assert.Equal(15, vocabulary); // 13 words, '.', <eos>

        using var backend = new CpuBackend();
        string run = dir.Sub("run");
        using var optimiser = HyperOptimiserFactory.Create(config);
        var summary = new Trainer(config, data, backend, run).Run(optimiser);
        Assert.False(summary.Diverged, summary.Message);
        double initial = summary.Initial.TestPerplexity!.Value, final = summary.Final.TestPerplexity!.Value;
        Assert.InRange(initial, vocabulary / 2.0, vocabulary * 2.0); // an untrained model is about uniform
        Assert.True(final < initial / 2, $"test perplexity fell only from {initial} to {final}");
        Assert.Equal(Math.Exp(summary.Final.TestLoss), final, 9);

        string[] csv = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        string[] header = csv[0].Split(',');
        Assert.Contains("test_perplexity", header);
        Assert.Contains("validation_perplexity", header);
        Assert.Equal(1 + 1 + (30 / 5), csv.Length); // header, the initial row, one row every 5 hyperparameter steps
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        Assert.Equal("text:tiny", json.RootElement.GetProperty("dataset").GetString());
        Assert.True(json.RootElement.GetProperty("final").TryGetProperty("test_perplexity", out _));
    }

    [Fact]
    public void SequentialSamplerKeepsRowOrderEndsEachPassWithTheShortBatchAndFlagsPassStarts()
    {
        int rows = 10, width = 2;
        float[] inputs = Enumerable.Range(0, rows * width).Select(i => (float)i).ToArray();
        var split = new DataSplit(inputs, inputs.Select(v => v + 100).ToArray(), rows, width, width);
        var sampler = new SequentialBatchSampler(split, 4);
        Assert.Equal(3, sampler.BatchesPerPass);
        var expected = new[] { (0, 4, true), (4, 4, false), (8, 2, false), (0, 4, true), (4, 4, false) };
        foreach (var (first, count, starts) in expected)
        {
            var batch = sampler.Next();
            Assert.Equal(count, batch.Count);
            Assert.Equal(starts, batch.StartsPass);
            Assert.Equal(Enumerable.Range(first * width, count * width).Select(i => (float)i), batch.Inputs);
            Assert.Equal(batch.Inputs.Select(v => v + 100), batch.Targets);
        }

        Assert.Equal(1, sampler.Pass);
    }

    [Fact]
    public void HypergradientPassesLeaveTheCarriedStatesAsTheTrainingStepLeftThem()
    {
        var model = ModelBuilder.Build(new ModelSpec
        {
            Architecture = "lstm", Outputs = 11, EmbeddingSize = 5, HiddenSize = 5, Layers = 2, Sequences = 3, Steps = 4, InputShape = [3],
        });
        Assert.True(model.HasCarriedState);
        int n = model.ParameterCount, steps = 4, sequences = 3;
        var random = new Random(17);
        DataSplit Stream(int rows)
        {
            float[] tokens = Enumerable.Range(0, (rows + 1) * sequences).Select(_ => (float)random.Next(11)).ToArray();
            return new DataSplit(tokens[..(rows * sequences)], tokens[sequences..], rows, sequences, sequences);
        }

        var train = Stream(3 * steps);
        var validation = Stream(2 * steps);
        var data = new DataSet("stream", TaskKind.Classification, sequences, 11, train, validation, validation,
            new Normalisation(new float[sequences], [1f, 1f, 1f])) { Vocabulary = Enumerable.Range(0, 11).Select(i => $"w{i}").ToArray() };

        using var backend = new CpuBackend();
        using var modelState = backend.Allocate(model.StateCount);
        using var validationState = backend.Allocate(model.StateCount);
        backend.Fill(modelState, 0f);
        backend.Fill(validationState, 0f);
        using var trainExec = new GraphExecutor(model, backend) { State = modelState };
        using var valExec = new GraphExecutor(model, backend) { State = validationState, CarryStateOnNewBatch = true };
        using var weights = backend.Allocate(n);
        using var velocity = backend.Allocate(n);
        using var gradient = backend.Allocate(n);
        using var hypers = new HyperparameterSet(backend, n, -1f, -5f, 0f, false, (-10f, 0f));
        backend.Upload(model.InitialWeights(1), weights);
        var state = new TrainingState
        {
            Backend = backend, Model = model, TrainingExecutor = trainExec, ValidationExecutor = valExec, Weights = weights,
            RuleState = [velocity], Gradient = gradient, Hyperparameters = hypers, Data = data, TrainingSplit = train,
            ValidationSampler = new SequentialBatchSampler(validation, steps),
        };
        var config = new TrainingConfig { Algorithm = "ours-wd-lr-m", NetworkWeightSteps = 2, HyperparameterRollbackDistance = 2 };
        using var neumann = HyperOptimiserFactory.Create(config);
        using var diffThroughOpt = new DiffThroughOptHyperOptimiser(2, 2, 0.05);
        var sampler = new SequentialBatchSampler(train, steps);
        float[] before = Download(backend, modelState);
        for (int step = 0; step < 2; step++)
        {
            var batch = sampler.Next();
            trainExec.SetBatch(batch.Inputs, batch.Targets, batch.Count);
            trainExec.Forward(weights, updateState: true);
            trainExec.Backward(gradient);
            float[] after = Download(backend, modelState);
            Assert.False(SameBits(before, after), $"training step {step + 1} did not advance the carried states");
            before = after;
            state.LastBatch = batch;
            neumann.BeforeUpdate(state);
            diffThroughOpt.BeforeUpdate(state);
            SgdUpdateRule.Instance.Step(backend, weights, gradient, [velocity], hypers);
            state.WeightStep = step + 1;
        }

        float[] snapshot = Download(backend, modelState);
        float[] validationBefore = Download(backend, validationState);
        neumann.Step(state);
        Assert.True(SameBits(snapshot, Download(backend, modelState)), "a Neumann hyperparameter step moved the training stream's carried states");
        float[] validationAfterOne = Download(backend, validationState);
        Assert.False(SameBits(validationBefore, validationAfterOne), "the validation stream did not advance on its new batch");
        diffThroughOpt.Step(state);
        Assert.True(SameBits(snapshot, Download(backend, modelState)), "a diff-through-opt hyperparameter step moved the training stream's carried states");

        // Re-forwards at the same validation batch (other weights) do not advance its stream; a new batch does.
        float[] validationNow = Download(backend, validationState);
        valExec.Forward(weights);
        Assert.True(SameBits(validationNow, Download(backend, validationState)), "a second forward at the same validation batch advanced its stream");
        var next = state.ValidationSampler!.Next();
        valExec.SetBatch(next.Inputs, next.Targets, next.Count);
        valExec.Forward(weights);
        Assert.False(SameBits(validationNow, Download(backend, validationState)), "the first forward at a new validation batch did not advance its stream");
        Assert.True(SameBits(snapshot, Download(backend, modelState)));
    }

    [Theory]
    [InlineData("  validation_line_share: 0.5\n", "test_file: heldout.txt", "test_file: other.txt", "validation_line_share applies only")]
    [InlineData("  validation_line_share: 0.5\n", "  validation_line_share: 0.5\n", "", "set dataset.validation_line_share")]
    [InlineData("  train_file: train.txt\n", "  train_file: train.txt\n", "", "dataset.train_file is required")]
    [InlineData("  name: tiny\n", "  name: tiny\n", "  colour: blue\n", "unknown key 'colour'")]
    [InlineData("  name: tiny\n", "  name: tiny\n", "  vocabulary: some\n", "must be all")]
    public void BadTextMappingsFailWithOneLineNamingTheKey(string _, string find, string replace, string expected)
    {
        using var dir = new TempDirectory();
        string path = WriteConfig(dir, "random", 2);
        File.WriteAllText(path, File.ReadAllText(path).Replace(find, replace, StringComparison.Ordinal));
        var error = Assert.Throws<ConfigException>(() => TrainingConfig.Load(path));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void AWordOutsideATrainingVocabularyAndAStreamShorterThanOneBatchAreNamed()
    {
        using var dir = new TempDirectory();
        string path = WriteConfig(dir, "random", 2, "");
        File.WriteAllText(path, File.ReadAllText(path).Replace("  validation_line_share: 0.5\n", "  validation_line_share: 0.5\n  vocabulary: train\n", StringComparison.Ordinal));
        File.AppendAllText(Path.Combine(dir.Path, "heldout.txt"), "the zebra sees the ball .\n");
        var unknown = Assert.Throws<DataFormatException>(() => DataSetLoader.Load(TrainingConfig.Load(path), null));
        Assert.Contains("zebra", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("heldout.txt", unknown.Message, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(dir.Path, "train.txt"), "the cat sees the ball .\n");
        var shortStream = Assert.Throws<DataFormatException>(() => DataSetLoader.Load(TrainingConfig.Load(path, ["dataset.vocabulary=all"]), null));
        Assert.Contains("train.txt", shortStream.Message, StringComparison.Ordinal);
        Assert.Contains("fewer than one batch", shortStream.Message, StringComparison.Ordinal);
    }
}
