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
    public const int MaxEvaluationChunk = 10000;

    /// <summary>Activation elements (about 256 MiB of float32) that the automatic evaluation chunk aims at.</summary>
    public const long EvaluationActivationBudget = 1L << 26;

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
        if (backend is Backends.Cuda.CudaBackend cuda)
        {
            cuda.GraphsEnabled = config.CudaGraphs;
        }
    }

    /// <summary>The model spec the configuration describes, checked against the data set.</summary>
    public static ModelSpec Spec(TrainingConfig config, DataShape data)
    {
        string loss = data.Task == TaskKind.Classification ? "cross-entropy" : "mse";
        if (config.Architecture == "lstm")
        {
            return LanguageModelSpec(config, data);
        }

        if (config.Architecture == "mlp")
        {
            int[] sizes = config.LayerSizes;
            if (sizes[0] != data.InputWidth || sizes[^1] != data.Outputs)
            {
                throw new ConfigException($"{config.Source}: model.layer_sizes [{string.Join(", ", sizes)}] must start with the data set's {data.InputWidth} inputs and end with its {data.Outputs} outputs");
            }

            return new ModelSpec { Architecture = "mlp", LayerSizes = sizes, Activation = config.Activation, Loss = loss, InputShape = [sizes[0]], Outputs = sizes[^1] };
        }

        int[] shape = config.InputShape ?? data.ImageShape
            ?? throw new ConfigException($"{config.Source}: model.architecture {config.Architecture} needs images; dataset '{config.DataSet}' is tabular (set model.input_shape [channels, height, width] if its rows are images)");
        if ((long)shape[0] * shape[1] * shape[2] != data.InputWidth)
        {
            throw new ConfigException($"{config.Source}: model.input_shape [{string.Join(", ", shape)}] holds {(long)shape[0] * shape[1] * shape[2]} values per example; dataset '{config.DataSet}' has {data.InputWidth}");
        }

        if (data.Task != TaskKind.Classification)
        {
            throw new ConfigException($"{config.Source}: model.architecture {config.Architecture} is a classifier; dataset '{config.DataSet}' is a regression task");
        }

        if (config.Classes != 0 && config.Classes != data.Outputs)
        {
            throw new ConfigException($"{config.Source}: model.classes is {config.Classes}; dataset '{config.DataSet}' has {data.Outputs} classes");
        }

        return new ModelSpec
        {
            Architecture = config.Architecture, InputShape = shape, Outputs = data.Outputs, Loss = loss,
            BaseWidth = config.BaseWidth != 0 ? config.BaseWidth : ModelBuilder.DefaultBaseWidth(config.Architecture),
        };
    }

    // The lstm language model: its vocabulary is model.vocabulary when set (which must then match the data's), else the data set's.
    private static ModelSpec LanguageModelSpec(TrainingConfig config, DataShape data)
    {
        if (data.Task != TaskKind.Classification)
        {
            throw new ConfigException($"{config.Source}: model.architecture lstm is a language model; dataset '{config.DataSet}' is a regression task");
        }

        if (config.Vocabulary > 0 && data.Outputs > 0 && config.Vocabulary != data.Outputs)
        {
            throw new ConfigException($"{config.Source}: model.vocabulary is {config.Vocabulary}; dataset '{config.DataSet}' has {data.Outputs} words");
        }

        int vocabulary = config.Vocabulary > 0 ? config.Vocabulary : data.Outputs;
        if (vocabulary < 2)
        {
            throw new ConfigException($"{config.Source}: model.architecture lstm needs model.vocabulary (at least 2 words) when the data set does not give one");
        }

        return new ModelSpec
        {
            Architecture = "lstm", InputShape = [config.Sequences], Outputs = vocabulary, Loss = "cross-entropy",
            EmbeddingSize = config.EmbeddingSize, HiddenSize = config.HiddenSize, Layers = config.Layers, Sequences = config.Sequences, Steps = config.Steps,
        };
    }

    /// <summary>Builds the model the configuration describes, checking it against the data set.</summary>
    public static Model BuildModel(TrainingConfig config, DataSet data)
    {
        try
        {
            return ModelBuilder.Build(Spec(config, data.Shape));
        }
        catch (ArgumentException e)
        {
            throw new ConfigException($"{config.Source}: model: {e.Message}");
        }
    }

    /// <summary>
    /// Examples per evaluation forward pass: <paramref name="configured"/> when positive, else as many as keep
    /// the model's activations near <see cref="EvaluationActivationBudget"/> elements (at most
    /// <see cref="MaxEvaluationChunk"/>).
    /// </summary>
    public static int EvaluationChunkFor(Model model, int configured) =>
        configured > 0 ? configured : (int)Math.Clamp(EvaluationActivationBudget / Math.Max(1, model.ActivationElementsPerRow), 1, MaxEvaluationChunk);

    /// <summary>The weight-update rule a configuration asks for: SGD, with the gradient clipped when network_weight_grad_clipping.norm is set.</summary>
    public static IUpdateRule UpdateRuleFor(TrainingConfig config) =>
        config.GradientClipNorm > 0 ? new SgdUpdateRule(config.GradientClipNorm) : SgdUpdateRule.Instance;

    /// <summary>Trains with <paramref name="optimiser"/>; returns the summary (also written to summary.json).</summary>
    public TrainingSummary Run(IHyperOptimiser optimiser, IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        var wall = Stopwatch.StartNew();
        var model = BuildModel(_config, _data);
        int n = model.ParameterCount;

        // A token stream keeps its order (truncated back-propagation through time) and trains on its training text
        // alone; shuffled rows train on training + validation when the optimiser has no use for validation.
        bool stream = _data.IsTokenStream;
        DataSplit trainSplit = optimiser.UsesValidation || stream ? _data.Train : Concatenate(_data.Train, _data.Validation);
        int batchSize = _config.BatchSize == 0 ? trainSplit.Count : Math.Min(_config.BatchSize, trainSplit.Count);
        int valBatch = _config.ValidationBatchSize > 0 ? _config.ValidationBatchSize : _config.BatchSize;
        valBatch = valBatch == 0 ? _data.Validation.Count : Math.Min(valBatch, _data.Validation.Count);
        IBatchSource sampler = stream ? new SequentialBatchSampler(trainSplit, batchSize) : new BatchSampler(trainSplit, batchSize, _config.Seed);

        // Carried recurrent state: the training stream's lives in the run's state buffer (saved in checkpoints); the
        // validation stream of the hypergradients and each evaluation pass carry their own, so neither disturbs it.
        bool carried = model.HasCarriedState;
        using var modelState = _backend.Allocate(model.StateCount);
        _backend.Upload(model.InitialState(), modelState);
        using var validationState = carried ? _backend.Allocate(model.StateCount) : null;
        using var evalState = carried ? _backend.Allocate(model.StateCount) : null;
        if (validationState is not null)
        {
            _backend.Upload(model.InitialState(), validationState);
        }

        IBatchSource? validationSampler = !optimiser.UsesValidation ? null
            : stream ? new PassStartHook(new SequentialBatchSampler(_data.Validation, valBatch), () => model.ResetCarriedState(_backend, validationState!))
            : new BatchSampler(_data.Validation, valBatch, _config.Seed + 1);
        using var trainExecutor = new GraphExecutor(model, _backend) { State = modelState };
        using var validationExecutor = new GraphExecutor(model, _backend) { State = validationState ?? modelState, CarryStateOnNewBatch = carried };
        using var evalExecutor = new InferenceExecutor(model, _backend) { State = evalState ?? modelState, CarryState = carried };
        int chunk = EvaluationChunkFor(model, _config.EvaluationChunk);

        using var weights = _backend.Allocate(n);
        IUpdateRule rule = UpdateRuleFor(_config);
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

        // Running statistics as training left them; carried states from zero at the start of a split.
        void StartEvaluationStream()
        {
            if (evalState is not null)
            {
                _backend.Copy(modelState, evalState);
                model.ResetCarriedState(_backend, evalState);
            }
        }

        var evaluationClock = new Stopwatch();
        SplitMetrics EvaluateAll(EvaluationResult? training)
        {
            evaluationClock.Start();
            try
            {
                return EvaluateSplits(training);
            }
            finally
            {
                evaluationClock.Stop();
            }
        }

        SplitMetrics EvaluateSplits(EvaluationResult? training)
        {
            EvaluationResult Pass(DataSplit split)
            {
                StartEvaluationStream();
                return Evaluate(evalExecutor, weights, split, chunk);
            }

            return new SplitMetrics(
                training ?? Pass(trainSplit),
                ReferenceEquals(trainSplit, _data.Train) ? Pass(_data.Validation) : null,
                Pass(_data.Test));
        }

        int interval = optimiser.StepInterval;
        long totalSteps = (long)_config.HyperparameterSteps * _config.NetworkWeightSteps;
        int logEvery = _config.LogEvery > 0 ? _config.LogEvery : DefaultLogEvery(_config, batchSize, _data.Validation.Count + _data.Test.Count + (_config.EvaluateFullTrainingSet ? trainSplit.Count : 0));
        var initialHypers = hypers.Summary();
        using var metrics = _outDir is null ? null : new MetricsWriter(Path.Combine(_outDir, "metrics.csv"), _data.Task == TaskKind.Classification, stream);
        using var events = _outDir is null ? null : new Reporting.TensorBoardWriter(_outDir); // TensorBoard: every metrics.csv scalar
        if (_outDir is not null)
        {
            AtomicFile.WriteAllText(Path.Combine(_outDir, "config.yaml"), _config.ToYaml());
        }

        // Without a full pass, the training loss before any step is estimated on the split's first rows (as many as
        // the validation split has): the logged training loss is otherwise the mean of the batch losses since the last row.
        EvaluationResult? initialTraining = null;
        if (!_config.EvaluateFullTrainingSet && trainSplit.Count > _data.Validation.Count)
        {
            StartEvaluationStream();
            evaluationClock.Start();
            initialTraining = Evaluate(evalExecutor, weights, Prefix(trainSplit, _data.Validation.Count), chunk);
            evaluationClock.Stop();
        }

        var initial = EvaluateAll(initialTraining);
        metrics?.Write(0, 0, initial, hypers.Summary());
        events?.WriteMetricsRow(0, MetricsColumns(0, initial, hypers.Summary(), stream));
        var trainClock = new Stopwatch();
        string? failure = null;
        var latest = initial;
        double lastTrainLoss = initial.Train.Loss;
        double lossSinceLog = 0;
        long batchesSinceLog = 0;
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
                    if (batch.StartsPass && carried)
                    {
                        model.ResetCarriedState(_backend, modelState);
                    }

                    trainExecutor.SetBatch(batch.Inputs, batch.Targets, batch.Count);
                    trainExecutor.Seed = StepSeed(_config.Seed, step + 1);

                    // The one forward pass that may move running statistics: hypergradient passes re-forward without.
                    // One replayable region (a CUDA graph on the GPU once its work repeats): the step's passes only, as
                    // the batch upload before and the loss read after touch host memory.
                    _backend.Replayable("weight step", () =>
                    {
                        trainExecutor.Forward(weights, updateState: true);
                        trainExecutor.Backward(gradient);
                    });
                    lastTrainLoss = trainExecutor.ReadLoss();
                    if (!double.IsFinite(lastTrainLoss))
                    {
                        throw Diverged(step + 1, hyperStep, hypers, "training loss");
                    }

                    lossSinceLog += lastTrainLoss;
                    batchesSinceLog++;

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

                    latest = EvaluateAll(_config.EvaluateFullTrainingSet ? null : new EvaluationResult(lossSinceLog / batchesSinceLog, null));
                    lossSinceLog = 0;
                    batchesSinceLog = 0;
                    if (!double.IsFinite(latest.Train.Loss) || !double.IsFinite(latest.Test.Loss))
                    {
                        throw Diverged(step, hyperStep + 1, hypers, "evaluation loss");
                    }

                    metrics?.Write(step, hyperStep + 1, latest, hypers.Summary());
                    events?.WriteMetricsRow(step, MetricsColumns(hyperStep + 1, latest, hypers.Summary(), stream));
                    SaveCheckpoint(model, weights, modelState, hypers, latest, step);
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
            DataSet = _config.DataSet, Algorithm = optimiser.Name, Backend = _backend.Name, Seed = _config.Seed, Model = model.Description, ModelSpec = model.Spec,
            WeightSteps = step, HyperparameterSteps = state.HyperStep, WallSeconds = wall.Elapsed.TotalSeconds, TrainSeconds = trainClock.Elapsed.TotalSeconds,
            EvaluationSeconds = evaluationClock.Elapsed.TotalSeconds,
            Initial = initial.ToSummary(stream), Final = final.ToSummary(stream), Hyperparameters = hypers.Summary(), InitialHyperparameters = initialHypers,
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

    // A per-step seed for ops that draw random numbers (the same for every pass at that step).
    private static ulong StepSeed(int seed, long step) => ((ulong)(uint)seed * 0x9E3779B97F4A7C15UL) ^ ((ulong)step * 0xBF58476D1CE4E5B9UL);

    private void SaveCheckpoint(Model model, DeviceBuffer weights, DeviceBuffer modelState, HyperparameterSet hypers, SplitMetrics metrics, long step)
    {
        if (_outDir is null)
        {
            return;
        }

        var host = new float[model.ParameterCount];
        _backend.Download(weights, host);
        var stateHost = new float[model.StateCount];
        _backend.Download(modelState, stateHost);
        var norm = _data.Normalisation;
        var header = new CheckpointHeader
        {
            OnePassVersion = typeof(Trainer).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
            DataSet = _config.DataSet,
            Task = _data.Task == TaskKind.Classification ? "classification" : "regression",
            Model = model.Spec,
            LayerSizes = model.Spec?.Architecture == "mlp" ? _config.LayerSizes : [],
            Activation = model.Spec?.Architecture == "mlp" ? _config.Activation : "",
            Loss = model.LossKind == LossKind.CrossEntropy ? "cross-entropy" : "mse",
            InputMean = norm.InputMean,
            InputStd = norm.InputStd,
            TargetMean = norm.TargetMeans,
            TargetStd = norm.TargetStds,
            Algorithm = _config.Algorithm,
            WeightStep = step,
            Seed = _config.Seed,
            Hyperparameters = hypers.Summary(),
            Metrics = metrics.ToDictionary(),
            ConfigSha256 = _config.Sha256(),
            InputNames = _data.ColumnNames?.ToArray(),
            ClassLabels = _data.ClassLabels?.ToArray(),
            TargetNames = _data.TargetNames?.ToArray(),
            Vocabulary = _data.Vocabulary?.ToArray(),
        };
        new Checkpoint(header, host, stateHost).Save(Path.Combine(_outDir, Checkpoint.FileName));
        _checkpointWritten = true;
    }

    /// <summary>
    /// The automatic <c>log_every</c>: as many logged rows (at most 100, at least 2) as keep evaluation at about a
    /// quarter of the run's time or less. A training row costs about three forward rows (forward and backward) and
    /// each is seen T times per hyperparameter step; a logged row evaluates <paramref name="evaluationRows"/> forward
    /// rows, which costs more per row than the estimate says (whole-split copies, the accuracy count), hence the margin: the
    /// evaluation's estimated cost is kept to a fifth of training's. Measured on the default Fashion-MNIST job.
    /// </summary>
    public static int DefaultLogEvery(TrainingConfig config, int batchSize, long evaluationRows)
    {
        ArgumentNullException.ThrowIfNull(config);
        double training = 3.0 * config.HyperparameterSteps * config.NetworkWeightSteps * Math.Max(1, batchSize);
        double rows = training / (5.0 * Math.Max(1, evaluationRows));
        int logged = (int)Math.Clamp(Math.Floor(rows), 2, 100);
        return Math.Max(1, config.HyperparameterSteps / logged);
    }

    private static DataSplit Prefix(DataSplit split, int rows) => new(
        split.Inputs[..(rows * split.InputWidth)], split.Targets[..(rows * split.TargetWidth)], rows, split.InputWidth, split.TargetWidth);

    /// <summary>
    /// Mean loss (and accuracy for classification) of the model at <paramref name="weights"/> on a split, in the
    /// executor's mode (evaluation: running statistics), <paramref name="chunk"/> examples per forward pass.
    /// </summary>
    public static EvaluationResult Evaluate(InferenceExecutor executor, DeviceBuffer weights, DataSplit split, int chunk)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunk);
        double lossSum = 0;
        long correct = 0;
        bool classification = executor.Model.LossKind == LossKind.CrossEntropy;

        // A classifier predicts one class per target value: one per row, or one per sequence for a language model.
        // The argmax and its comparison with the labels run where the logits are: only the count comes back.
        int perRow = classification ? split.TargetWidth : 1;
        for (int start = 0; start < split.Count; start += chunk)
        {
            int rows = Math.Min(chunk, split.Count - start);
            var inputs = split.Inputs.AsSpan(start * split.InputWidth, rows * split.InputWidth);
            var targets = split.Targets.AsSpan(start * split.TargetWidth, rows * split.TargetWidth);
            executor.Run(weights, inputs, targets, rows);
            lossSum += (double)executor.ReadLoss() * rows;
            if (classification)
            {
                correct += executor.CountCorrect();
            }
        }

        return new EvaluationResult(lossSum / split.Count, classification ? (double)correct / ((long)split.Count * perRow) : null);
    }

    private static DataSplit Concatenate(DataSplit a, DataSplit b) =>
        new([.. a.Inputs, .. b.Inputs], [.. a.Targets, .. b.Targets], a.Count + b.Count, a.InputWidth, a.TargetWidth);

    /// <summary>Metrics on every split at one moment.</summary>
    private sealed record SplitMetrics(EvaluationResult Train, EvaluationResult? Validation, EvaluationResult Test)
    {
        public TrainingSummary.Metrics ToSummary(bool perplexity) => new(Train.Loss, Validation?.Loss, Test.Loss, Test.Accuracy, perplexity ? Math.Exp(Test.Loss) : null);

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

    /// <summary>Runs an action before handing out the first batch of each pass of a token stream (carried states restart).</summary>
    private sealed class PassStartHook(IBatchSource inner, Action onPassStart) : IBatchSource
    {
        public Batch Next()
        {
            var batch = inner.Next();
            if (batch.StartsPass)
            {
                onPassStart();
            }

            return batch;
        }
    }

    // One metrics.csv row's values by column (step aside), for the TensorBoard event file; must name every column MetricsWriter writes.
    private static IEnumerable<KeyValuePair<string, double?>> MetricsColumns(int hyperStep, SplitMetrics m, Dictionary<string, double> hypers, bool perplexity) =>
    [
        new("hyper_step", hyperStep), new("training_loss", m.Train.Loss), new("validation_loss", m.Validation?.Loss), new("test_loss", m.Test.Loss),
        new("training_accuracy", m.Train.Accuracy), new("validation_accuracy", m.Validation?.Accuracy), new("test_accuracy", m.Test.Accuracy),
        .. perplexity
            ? new KeyValuePair<string, double?>[] { new("training_perplexity", Math.Exp(m.Train.Loss)), new("validation_perplexity", m.Validation is { } v ? Math.Exp(v.Loss) : null), new("test_perplexity", Math.Exp(m.Test.Loss)) }
            : [],
        .. hypers.Select(kv => new KeyValuePair<string, double?>(kv.Key, kv.Value)),
    ];

    /// <summary>Appends one CSV row per log point, flushed at once so a killed run keeps every row written.</summary>
    private sealed class MetricsWriter : IDisposable
    {
        private readonly string _path;
        private readonly bool _classification;
        private readonly bool _perplexity;
        private StreamWriter? _writer;
        private bool _headerWritten;

        // The file is created with its first row (not before the initial evaluation), so a run killed early leaves
        // no empty metrics.csv behind.
        public MetricsWriter(string path, bool classification, bool perplexity)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            _path = path;
            _classification = classification;
            _perplexity = perplexity;
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

                if (_perplexity)
                {
                    cols.AddRange(["training_perplexity", "validation_perplexity", "test_perplexity"]);
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

            if (_perplexity)
            {
                values.AddRange([F(Math.Exp(m.Train.Loss)), F(m.Validation is { } v ? Math.Exp(v.Loss) : null), F(Math.Exp(m.Test.Loss))]);
            }

            values.AddRange(hypers.Values.Select(v => F(v)));
            _writer.WriteLine(string.Join(",", values));
            _writer.Flush();
        }

        public void Dispose() => _writer?.Dispose();
    }
}
