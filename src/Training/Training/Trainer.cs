using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using OnePass.Training.Checkpoints;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Graphs;
using OnePass.Training.Models;
using OnePass.Training.Optimisation;
using OnePass.Training.Tensors;

namespace OnePass.Training.Training;

/// <summary>
/// Runs one training run: T weight steps of SGD, then a hyperparameter step, repeated; logs metrics.csv, keeps
/// an atomic checkpoint of the last good weights, and writes summary.json at the end.
/// </summary>
public sealed class Trainer
{
    /// <summary>Largest number of rows evaluated in one forward pass.</summary>
    public const int EvaluationChunk = 10000;

    /// <summary>JSON options for summary.json (NaN allowed for diverged runs).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly TrainingConfig _config;
    private readonly DataSet _data;
    private readonly IBackend _backend;
    private readonly string? _outDir;
    private bool _checkpointWritten;

    /// <summary>Prepares a run; <paramref name="outDir"/> null writes no files.</summary>
    public Trainer(TrainingConfig config, DataSet data, IBackend backend, string? outDir)
    {
        _config = config;
        _data = data;
        _backend = backend;
        _outDir = outDir;
    }

    /// <summary>Builds the model the configuration describes, checking it against the data set.</summary>
    public static Model BuildModel(TrainingConfig config, DataSet data)
    {
        int[] sizes = config.LayerSizes;
        if (sizes[0] != data.InputWidth || sizes[^1] != data.OutputWidth)
        {
            throw new ConfigException($"{config.Source}: model.layer_sizes [{string.Join(", ", sizes)}] must start with the data set's {data.InputWidth} inputs and end with its {data.OutputWidth} outputs");
        }

        var activation = Enum.Parse<Activation>(config.Activation, ignoreCase: true);
        return Mlp.Build(sizes, activation, data.Task == TaskKind.Classification ? LossKind.CrossEntropy : LossKind.MeanSquaredError);
    }

    /// <summary>Trains with <paramref name="optimiser"/>; returns the summary (also written to summary.json).</summary>
    public TrainingSummary Run(IHyperOptimiser optimiser, IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        var wall = Stopwatch.StartNew();
        var model = BuildModel(_config, _data);
        int n = model.ParameterCount;
        DataSplit trainSplit = optimiser.UsesValidation ? _data.Train : Concatenate(_data.Train, _data.Validation);
        int batchSize = _config.BatchSize == 0 ? trainSplit.Count : Math.Min(_config.BatchSize, trainSplit.Count);
        int valBatch = _config.ValidationBatchSize > 0 ? _config.ValidationBatchSize : _config.BatchSize;
        var sampler = new BatchSampler(trainSplit, batchSize, _config.Seed);
        BatchSampler? validationSampler = optimiser.UsesValidation
            ? new BatchSampler(_data.Validation, valBatch == 0 ? _data.Validation.Count : Math.Min(valBatch, _data.Validation.Count), _config.Seed + 1)
            : null;

        using var trainExecutor = new GraphExecutor(model, _backend);
        using var validationExecutor = new GraphExecutor(model, _backend);
        using var evalExecutor = new GraphExecutor(model, _backend);
        using var weights = _backend.Allocate(n);
        IUpdateRule rule = SgdUpdateRule.Instance;
        using var ruleState = new BufferGroup(_backend, rule.StateBufferCount, n);
        using var gradient = _backend.Allocate(n);
        using var hypers = new HyperparameterSet(_backend, n, (float)_config.Lr, (float)_config.WeightDecay, (float)_config.Momentum,
            perWeightLearningRate: _config.Algorithm == "ours-wd-hdlr-m", ((float)_config.LrClip[0], (float)_config.LrClip[1]));
        hypers.LearningRate.SetMultiplier((float)_config.LrMultiplierAt(0));
        _backend.Upload(model.InitialWeights(_config.Seed), weights);
        var state = new TrainingState
        {
            Backend = _backend, Model = model, TrainingExecutor = trainExecutor, ValidationExecutor = validationExecutor,
            Weights = weights, UpdateRule = rule, RuleState = ruleState.Buffers, Gradient = gradient, Hyperparameters = hypers, Data = _data,
            TrainingSplit = trainSplit, ValidationSampler = validationSampler,
        };

        int interval = optimiser.StepInterval;
        long totalSteps = (long)_config.HyperparameterSteps * _config.NetworkWeightSteps;
        int logEvery = _config.LogEvery > 0 ? _config.LogEvery : Math.Max(1, _config.HyperparameterSteps / 100);
        var initialHypers = hypers.Summary();
        using var metrics = _outDir is null ? null : new MetricsWriter(Path.Combine(_outDir, "metrics.csv"), _data.Task == TaskKind.Classification);
        if (_outDir is not null)
        {
            AtomicFile.WriteAllText(Path.Combine(_outDir, "config.yaml"), _config.ToYaml());
        }

        var initial = EvaluateAll(evalExecutor, weights, trainSplit);
        metrics?.Write(0, 0, initial, hypers.Summary());
        var trainClock = new Stopwatch();
        string? failure = null;
        var latest = initial;
        double lastTrainLoss = initial.Train.Loss;
        long step = 0;
        try
        {
            for (int hyperStep = 0; hyperStep < _config.HyperparameterSteps; hyperStep++)
            {
                cancellation.ThrowIfCancellationRequested();
                trainClock.Start();
                for (int t = 0; t < _config.NetworkWeightSteps; t++)
                {
                    var batch = sampler.Next();
                    trainExecutor.SetBatch(batch.Inputs, batch.Targets, batch.Count);
                    trainExecutor.Forward(weights);
                    trainExecutor.Backward(gradient);
                    lastTrainLoss = trainExecutor.ReadLoss();
                    if (!double.IsFinite(lastTrainLoss))
                    {
                        throw Diverged(step + 1, hyperStep, hypers, "training loss");
                    }

                    state.LastBatch = batch;
                    optimiser.BeforeUpdate(state);
                    rule.Step(_backend, weights, gradient, ruleState.Buffers, hypers);
                    step++;
                    state.WeightStep = step;
                    if (step % interval == 0)
                    {
                        // A hyperparameter step from non-finite weights would turn the hyperparameters into NaN and hide
                        // what they were when training blew up; stop here instead, naming them.
                        if (!_backend.AllFinite(weights))
                        {
                            throw Diverged(step, hyperStep, hypers, "weights");
                        }

                        optimiser.Step(state);
                        if (!hypers.All.All(h => h.IsFinite()))
                        {
                            throw Diverged(step, hyperStep + 1, hypers, $"the hyperparameters after {optimiser.Name}'s step");
                        }

                        hypers.LearningRate.SetMultiplier((float)_config.LrMultiplierAt(hyperStep + 1));
                    }
                }

                state.HyperStep = hyperStep + 1;
                trainClock.Stop();
                bool log = (hyperStep + 1) % logEvery == 0 || hyperStep + 1 == _config.HyperparameterSteps;
                if (log)
                {
                    if (!_backend.AllFinite(weights))
                    {
                        throw Diverged(step, hyperStep + 1, hypers, "weights");
                    }

                    latest = EvaluateAll(evalExecutor, weights, trainSplit);
                    if (!double.IsFinite(latest.Train.Loss) || !double.IsFinite(latest.Test.Loss))
                    {
                        throw Diverged(step, hyperStep + 1, hypers, "evaluation loss");
                    }

                    metrics?.Write(step, hyperStep + 1, latest, hypers.Summary());
                    SaveCheckpoint(model, weights, hypers, latest, step);
                }

                progress?.Report(new TrainingProgress(step, totalSteps, lastTrainLoss, latest.Validation?.Loss, latest.Test.Loss, hypers.Describe()));
            }
        }
        catch (TrainingDivergedException e)
        {
            failure = e.Message;
        }

        trainClock.Stop();
        var final = failure is null ? latest : new SplitMetrics(new EvaluationResult(double.NaN, null), null, new EvaluationResult(double.NaN, null));
        var summary = new TrainingSummary
        {
            DataSet = _config.DataSet, Algorithm = optimiser.Name, Backend = _backend.Name, Seed = _config.Seed, Model = model.Description,
            WeightSteps = step, HyperparameterSteps = state.HyperStep, WallSeconds = wall.Elapsed.TotalSeconds, TrainSeconds = trainClock.Elapsed.TotalSeconds,
            Initial = initial.ToSummary(), Final = final.ToSummary(), Hyperparameters = hypers.Summary(), InitialHyperparameters = initialHypers,
            Diverged = failure is not null, Message = failure, ConfigSha256 = _config.Sha256(), DataFolder = _data.Folder,
        };
        if (_outDir is not null)
        {
            AtomicFile.WriteAllText(Path.Combine(_outDir, "summary.json"), JsonSerializer.Serialize(summary, JsonOptions));
            metrics?.Dispose();
            try
            {
                Reporting.RunPlots.Write(Path.Combine(_outDir, "metrics.csv"));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Plots are a convenience: a missing native graphics library must not fail a finished run.
                Console.Error.WriteLine($"onepass: warning: plots not written ({e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")})");
            }
        }

        return summary;
    }

    private TrainingDivergedException Diverged(long step, int hyperStep, HyperparameterSet hypers, string what)
    {
        string kept = _outDir is null ? ""
            : _checkpointWritten ? $"; the last good checkpoint and metrics in {_outDir} are intact"
            : $"; no checkpoint had been written yet (metrics in {_outDir})";
        return new TrainingDivergedException(
            $"{what} became NaN or infinite at weight step {step} (hyperparameter step {hyperStep}) with {hypers.Describe()}{kept}", step);
    }

    private void SaveCheckpoint(Model model, DeviceBuffer weights, HyperparameterSet hypers, SplitMetrics metrics, long step)
    {
        if (_outDir is null)
        {
            return;
        }

        var host = new float[model.ParameterCount];
        _backend.Download(weights, host);
        var norm = _data.Normalisation;
        var header = new CheckpointHeader
        {
            OnePassVersion = typeof(Trainer).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
            DataSet = _config.DataSet,
            Task = _data.Task == TaskKind.Classification ? "classification" : "regression",
            LayerSizes = _config.LayerSizes,
            Activation = _config.Activation,
            Loss = model.LossKind == LossKind.CrossEntropy ? "cross-entropy" : "mse",
            InputMean = norm.InputMean,
            InputStd = norm.InputStd,
            TargetMean = norm.TargetMean,
            TargetStd = norm.TargetStd,
            Algorithm = _config.Algorithm,
            WeightStep = step,
            Seed = _config.Seed,
            Hyperparameters = hypers.Summary(),
            Metrics = metrics.ToDictionary(),
            ConfigSha256 = _config.Sha256(),
        };
        new Checkpoint(header, host).Save(Path.Combine(_outDir, Checkpoint.FileName));
        _checkpointWritten = true;
    }

    private SplitMetrics EvaluateAll(GraphExecutor executor, DeviceBuffer weights, DataSplit trainSplit) => new(
        Evaluate(executor, weights, trainSplit),
        ReferenceEquals(trainSplit, _data.Train) ? Evaluate(executor, weights, _data.Validation) : null,
        Evaluate(executor, weights, _data.Test));

    /// <summary>Mean loss (and accuracy for classification) of the model at <paramref name="weights"/> on a split.</summary>
    public static EvaluationResult Evaluate(GraphExecutor executor, DeviceBuffer weights, DataSplit split)
    {
        double lossSum = 0;
        long correct = 0;
        bool classification = executor.Model.LossKind == LossKind.CrossEntropy;
        int classes = executor.Model.OutputWidth;
        float[]? logits = null;
        for (int start = 0; start < split.Count; start += EvaluationChunk)
        {
            int rows = Math.Min(EvaluationChunk, split.Count - start);
            var batch = Batch.FromSplit(split, start, rows);
            executor.SetBatch(batch.Inputs, batch.Targets, rows);
            executor.Forward(weights);
            lossSum += (double)executor.ReadLoss() * rows;
            if (classification)
            {
                logits = logits is not null && logits.Length == rows * classes ? logits : new float[rows * classes];
                executor.Backend.Download(executor.PredictionBuffer, logits);
                for (int r = 0; r < rows; r++)
                {
                    var row = logits.AsSpan(r * classes, classes);
                    int best = System.Numerics.Tensors.TensorPrimitives.IndexOfMax<float>(row);
                    if (best == (int)batch.Targets[r])
                    {
                        correct++;
                    }
                }
            }
        }

        return new EvaluationResult(lossSum / split.Count, classification ? (double)correct / split.Count : null);
    }

    private static DataSplit Concatenate(DataSplit a, DataSplit b) =>
        new([.. a.Inputs, .. b.Inputs], [.. a.Targets, .. b.Targets], a.Count + b.Count, a.InputWidth, a.TargetWidth);

    /// <summary>Metrics on every split at one moment.</summary>
    private sealed record SplitMetrics(EvaluationResult Train, EvaluationResult? Validation, EvaluationResult Test)
    {
        public TrainingSummary.Metrics ToSummary() => new(Train.Loss, Validation?.Loss, Test.Loss, Test.Accuracy);

        public Dictionary<string, double> ToDictionary()
        {
            var d = new Dictionary<string, double> { ["training_loss"] = Train.Loss, ["test_loss"] = Test.Loss };
            if (Validation is { } v)
            {
                d["validation_loss"] = v.Loss;
            }

            if (Test.Accuracy is { } acc)
            {
                d["test_accuracy"] = acc;
            }

            return d;
        }
    }

    /// <summary>Appends one CSV row per log point, flushed at once so a killed run keeps every row written.</summary>
    private sealed class MetricsWriter : IDisposable
    {
        private readonly string _path;
        private readonly bool _classification;
        private StreamWriter? _writer;
        private bool _headerWritten;

        // The file is created with its first row (not before the initial evaluation), so a run killed early leaves
        // no empty metrics.csv behind.
        public MetricsWriter(string path, bool classification)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            _path = path;
            _classification = classification;
        }

        public void Write(long step, int hyperStep, SplitMetrics m, Dictionary<string, double> hypers)
        {
            var inv = CultureInfo.InvariantCulture;
            _writer ??= new StreamWriter(_path, append: false, new UTF8Encoding(false));
            if (!_headerWritten)
            {
                var cols = new List<string> { "step", "hyper_step", "training_loss", "validation_loss", "test_loss" };
                if (_classification)
                {
                    cols.AddRange(["training_accuracy", "validation_accuracy", "test_accuracy"]);
                }

                cols.AddRange(hypers.Keys);
                _writer.WriteLine(string.Join(",", cols));
                _headerWritten = true;
            }

            string F(double? x) => x is { } v ? v.ToString("G7", inv) : "";
            var values = new List<string> { step.ToString(inv), hyperStep.ToString(inv), F(m.Train.Loss), F(m.Validation?.Loss), F(m.Test.Loss) };
            if (_classification)
            {
                values.AddRange([F(m.Train.Accuracy), F(m.Validation?.Accuracy), F(m.Test.Accuracy)]);
            }

            values.AddRange(hypers.Values.Select(v => F(v)));
            _writer.WriteLine(string.Join(",", values));
            _writer.Flush();
        }

        public void Dispose() => _writer?.Dispose();
    }
}
