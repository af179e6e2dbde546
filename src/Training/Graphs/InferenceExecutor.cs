using OnePass.Training.Models;
using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs;

/// <summary>
/// Runs a model's graph forward only, for evaluation and export checks: no adjoint or tangent buffers, and
/// every activation buffer is reused once its last reader has run, so memory is the largest set of values alive
/// at one moment rather than the sum of all of them. Evaluation mode by default (running statistics); never
/// updates running statistics, and advances carried recurrent state only when <see cref="CarryState"/> is set.
/// </summary>
public sealed class InferenceExecutor : IDisposable
{
    private readonly Model _model;
    private readonly IBackend _backend;
    private readonly Graph _graph;
    private readonly DeviceBuffer?[] _stateSlices;
    private readonly DeviceBuffer? _ownState;
    // Plans by row count: a split's last chunk is usually shorter, and evaluation alternates between splits, so the
    // few sizes of a run are each planned (and their buffers first touched) once, not at every evaluation.
    private const int MaxCachedPlans = 4;
    private readonly List<Plan> _plans = [];
    private Plan? _plan;

    /// <summary>Prepares to run <paramref name="model"/> on <paramref name="backend"/>.</summary>
    public InferenceExecutor(Model model, IBackend backend, ExecutionMode mode = ExecutionMode.Evaluation)
    {
        _model = model;
        _backend = backend;
        _graph = model.Graph;
        Mode = mode;
        _stateSlices = new DeviceBuffer?[_graph.Nodes.Count];
        if (model.StateCount > 0)
        {
            _ownState = backend.Allocate(model.StateCount);
            backend.Upload(model.InitialState(), _ownState);
            State = _ownState;
        }
    }

    /// <summary>The model being run.</summary>
    public Model Model => _model;

    /// <summary>The backend running it.</summary>
    public IBackend Backend => _backend;

    /// <summary>Training or evaluation behaviour of the ops (evaluation unless set otherwise).</summary>
    public ExecutionMode Mode { get; set; }

    /// <summary>
    /// When set, each <c>Run</c> advances carried recurrent state (an LSTM language model's hidden and cell
    /// states), so that a stream can be evaluated chunk after chunk; running statistics are never updated.
    /// </summary>
    public bool CarryState { get; set; }

    /// <summary>Elements held by the current batch size's buffers (activations, workspaces, scratch, inputs).</summary>
    public long AllocatedElements => _plan?.AllocatedElements ?? 0;

    /// <summary>The non-parameter state read by the ops (the model's initial state until set).</summary>
    public DeviceBuffer? State
    {
        get => field;
        set
        {
            if (_model.StateCount == 0)
            {
                return;
            }

            if (value is null || value.Length != _model.StateCount)
            {
                throw new ArgumentException($"{_model.Description} has {_model.StateCount} state elements; got {value?.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}");
            }

            field = value;
            foreach (var s in _model.States)
            {
                _stateSlices[s.Node.Id] = value.Slice(s.Offset, s.Length);
            }
        }
    }

    /// <summary>The one-element loss buffer, valid after <c>Run</c>.</summary>
    public DeviceBuffer LossBuffer => CurrentPlan.Buffers[_model.Loss.Id]!;

    /// <summary>The prediction (or logits) buffer [rows, outputs], valid after <c>Run</c>.</summary>
    public DeviceBuffer PredictionBuffer => CurrentPlan.Buffers[_model.Prediction.Id]!;

    private Plan CurrentPlan => _plan ?? throw new InvalidOperationException("Run has not been called");

    private readonly DataUpload _upload = new();

    /// <summary>
    /// Runs every node forward on one batch at <paramref name="weights"/>: loss and prediction. Ids and labels held as
    /// floats are converted to int32 for the model's int32 values (as <see cref="GraphExecutor.SetBatch(ReadOnlySpan{float}, ReadOnlySpan{float}, int)"/>).
    /// </summary>
    public void Run(DeviceBuffer weights, ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, int rows)
    {
        var plan = Prepare(weights, rows);
        _upload.Upload(_backend, _model.Input, inputs, plan.Buffers[_model.Input.Id], plan.Indices[_model.Input.Id]);
        _upload.Upload(_backend, _model.Target, targets, plan.Buffers[_model.Target.Id], plan.Indices[_model.Target.Id]);
        RunNodes(plan);
    }

    /// <summary>As <see cref="Run(DeviceBuffer, ReadOnlySpan{float}, ReadOnlySpan{float}, int)"/> for int32 inputs and targets (token ids).</summary>
    public void Run(DeviceBuffer weights, ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int rows)
    {
        var plan = Prepare(weights, rows);
        DataUpload.Upload(_backend, _model.Input, inputs, plan.Indices[_model.Input.Id]);
        DataUpload.Upload(_backend, _model.Target, targets, plan.Indices[_model.Target.Id]);
        RunNodes(plan);
    }

    /// <summary>
    /// How many of the last <c>Run</c>'s predictions are right: the argmax of each of the prediction's rows of
    /// <see cref="Model.OutputWidth"/> logits against the int32 targets, counted on the device so that only the count
    /// is read back (synchronises). For a classifier only.
    /// </summary>
    public long CountCorrect()
    {
        var plan = CurrentPlan;
        IndexBuffer labels = plan.Indices[_model.Target.Id] ?? throw new InvalidOperationException($"{_model.Description} has no class labels to count against");
        int classes = _model.OutputWidth;
        return _backend.CountCorrect(PredictionBuffer, labels, PredictionBuffer.Length / classes, classes);
    }

    private Plan Prepare(DeviceBuffer weights, int rows)
    {
        if (weights.Length != _model.ParameterCount)
        {
            throw new ArgumentException($"weights have {weights.Length} elements; the model has {_model.ParameterCount}");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        if (_plan?.Rows != rows)
        {
            _plan = _plans.Find(p => p.Rows == rows);
            if (_plan is null)
            {
                if (_plans.Count == MaxCachedPlans)
                {
                    _plans[0].Dispose();
                    _plans.RemoveAt(0);
                }

                _plan = new Plan(_model, _backend, rows);
                _plans.Add(_plan);
            }
        }

        var plan = _plan;
        foreach (var p in _model.Parameters)
        {
            plan.Buffers[p.Value.Id] = weights.Slice(p.Offset, p.Length);
        }

        return plan;
    }

    private void RunNodes(Plan plan)
    {
        var context = plan.Context;
        foreach (var node in _graph.Nodes)
        {
            var c = context[node.Id];
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                var input = node.Inputs[i];
                c.Inputs[i] = plan.Indices[input.Id] is { } ids ? new Tensor(ids, plan.Shapes[input.Id]) : new Tensor(plan.Buffers[input.Id]!, plan.Shapes[input.Id]);
            }

            c.Mode = Mode;
            c.State = _stateSlices[node.Id];
            c.UpdateState = false;
            c.AdvanceCarriedState = CarryState;
            node.Op.Forward(c);
        }
    }

    /// <summary>Reads the loss computed by the last <c>Run</c> (synchronises).</summary>
    public float ReadLoss()
    {
        Span<float> loss = stackalloc float[1];
        _backend.Download(LossBuffer, loss);
        return loss[0];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var plan in _plans)
        {
            plan.Dispose();
        }

        _plans.Clear();
        _plan = null;
        _ownState?.Dispose();
    }

    /// <summary>
    /// Buffers for one batch size. Each value is assigned a physical buffer when its producer runs and gives it
    /// back after its last reader; a buffer grows to the largest value it ever holds.
    /// </summary>
    private sealed class Plan : IDisposable
    {
        private readonly List<DeviceBuffer> _owned = [];
        private readonly List<IndexBuffer> _ownedIndices = [];

        public Plan(Model model, IBackend backend, int rows)
        {
            Rows = rows;
            var graph = model.Graph;
            int n = graph.Values.Count;
            Buffers = new DeviceBuffer?[n];
            Indices = new IndexBuffer?[n];
            Shapes = new int[n][];
            foreach (var v in graph.Values)
            {
                Shapes[v.Id] = v.Resolve(rows);
            }

            // Last node reading each value; the prediction and loss stay alive to the end (the caller reads them).
            var lastUse = new int[n];
            Array.Fill(lastUse, -1);
            foreach (var node in graph.Nodes)
            {
                foreach (var input in node.Inputs)
                {
                    lastUse[input.Id] = node.Id;
                }
            }

            lastUse[model.Prediction.Id] = lastUse[model.Loss.Id] = int.MaxValue;

            var capacity = new List<long>();
            var free = new List<int>();
            var assigned = new int[n];
            Array.Fill(assigned, -1);
            // The smallest free buffer that fits; else the largest free one, grown; else a new one.
            int Take(long count)
            {
                int fit = -1, largest = -1;
                foreach (int f in free)
                {
                    if (capacity[f] >= count && (fit < 0 || capacity[f] < capacity[fit]))
                    {
                        fit = f;
                    }

                    if (largest < 0 || capacity[f] > capacity[largest])
                    {
                        largest = f;
                    }
                }

                int chosen = fit >= 0 ? fit : largest;
                if (chosen < 0)
                {
                    capacity.Add(count);
                    return capacity.Count - 1;
                }

                free.Remove(chosen);
                capacity[chosen] = Math.Max(capacity[chosen], count);
                return chosen;
            }

            var workspaceOf = new int[graph.Nodes.Count];
            long scratch = 0;
            foreach (var node in graph.Nodes)
            {
                int[][] inputShapes = node.Inputs.Select(i => Shapes[i.Id]).ToArray();
                assigned[node.Output.Id] = Take(node.Output.ElementCount(rows));
                int workspace = node.Op.WorkspaceSize(inputShapes);
                workspaceOf[node.Id] = workspace > 0 ? Take(workspace) : -1;
                scratch = Math.Max(scratch, node.Op.ScratchSize(inputShapes));
                if (workspaceOf[node.Id] >= 0)
                {
                    free.Add(workspaceOf[node.Id]);
                }

                foreach (var input in node.Inputs.Distinct())
                {
                    if (input.Kind == ValueKind.Intermediate && lastUse[input.Id] == node.Id)
                    {
                        free.Add(assigned[input.Id]);
                    }
                }
            }

            var physical = capacity.Select(c => Own(backend.Allocate(checked((int)c)))).ToArray();
            foreach (var v in graph.Values)
            {
                if (v.Kind is ValueKind.Input or ValueKind.Target && v.IsIndices)
                {
                    Indices[v.Id] = backend.AllocateIndices(v.ElementCount(rows));
                    _ownedIndices.Add(Indices[v.Id]!);
                }
                else if (v.Kind is ValueKind.Input or ValueKind.Target)
                {
                    Buffers[v.Id] = Own(backend.Allocate(v.ElementCount(rows)));
                }
                else if (assigned[v.Id] >= 0)
                {
                    Buffers[v.Id] = physical[assigned[v.Id]].Slice(0, v.ElementCount(rows));
                }
            }

            var scratchBuffer = scratch > 0 ? Own(backend.Allocate(checked((int)scratch))) : null;
            Context = new OpContext[graph.Nodes.Count];
            foreach (var node in graph.Nodes)
            {
                var c = new OpContext(backend, node.Inputs.Count)
                {
                    Output = new Tensor(Buffers[node.Output.Id]!, Shapes[node.Output.Id]),
                    Scratch = scratchBuffer,
                };
                if (workspaceOf[node.Id] >= 0)
                {
                    int size = node.Op.WorkspaceSize(node.Inputs.Select(i => Shapes[i.Id]).ToArray());
                    c.Workspace = physical[workspaceOf[node.Id]].Slice(0, size);
                }

                Context[node.Id] = c;
            }

            AllocatedElements = _owned.Sum(b => (long)b.Length) + _ownedIndices.Sum(b => (long)b.Length);
        }

        public int Rows { get; }

        public DeviceBuffer?[] Buffers { get; }

        // The int32 buffers of the inputs and targets that hold ids; null elsewhere.
        public IndexBuffer?[] Indices { get; }

        public int[][] Shapes { get; }

        public OpContext[] Context { get; }

        public long AllocatedElements { get; }

        private DeviceBuffer Own(DeviceBuffer buffer)
        {
            _owned.Add(buffer);
            return buffer;
        }

        public void Dispose()
        {
            foreach (var b in _owned)
            {
                b.Dispose();
            }

            _owned.Clear();
            foreach (var b in _ownedIndices)
            {
                b.Dispose();
            }

            _ownedIndices.Clear();
        }
    }
}
