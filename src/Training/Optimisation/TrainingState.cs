using OnePass.Training.Data;
using OnePass.Training.Graphs;
using OnePass.Training.Models;
using OnePass.Training.Tensors;

namespace OnePass.Training.Optimisation;

/// <summary>
/// Everything a hyperparameter optimiser may read or change during training. Device buffers are the live
/// training state; the trainer owns them.
/// </summary>
public sealed class TrainingState
{
    /// <summary>The compute backend.</summary>
    public required IBackend Backend { get; init; }

    /// <summary>The model being trained.</summary>
    public required Model Model { get; init; }

    /// <summary>Executor used for training batches (its buffers hold the last training step's values).</summary>
    public required GraphExecutor TrainingExecutor { get; init; }

    /// <summary>A second executor for validation batches, so training values stay intact.</summary>
    public required GraphExecutor ValidationExecutor { get; init; }

    /// <summary>The weights w_t.</summary>
    public required DeviceBuffer Weights { get; init; }

    /// <summary>The weight-update rule the trainer applies.</summary>
    public IUpdateRule UpdateRule { get; init; } = SgdUpdateRule.Instance;

    /// <summary>The rule's per-weight state s_t (SGD: the momentum buffer b_t), <see cref="IUpdateRule.StateBufferCount"/> buffers.</summary>
    public required IReadOnlyList<DeviceBuffer> RuleState { get; init; }

    /// <summary>The last training gradient g(w_{t−1}) (without weight decay).</summary>
    public required DeviceBuffer Gradient { get; init; }

    /// <summary>The hyperparameters.</summary>
    public required HyperparameterSet Hyperparameters { get; init; }

    /// <summary>The data set (normalised).</summary>
    public required DataSet Data { get; init; }

    /// <summary>The training split actually used (train, or train + validation when the optimiser uses no validation).</summary>
    public required DataSplit TrainingSplit { get; init; }

    /// <summary>Draws validation batches (null when the optimiser uses no validation split).</summary>
    public IBatchSource? ValidationSampler { get; init; }

    /// <summary>The batch of the last weight step.</summary>
    public Batch? LastBatch { get; set; }

    /// <summary>Weight steps taken so far.</summary>
    public long WeightStep { get; internal set; }

    /// <summary>Hyperparameter steps taken so far.</summary>
    public int HyperStep { get; internal set; }
}
