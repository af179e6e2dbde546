using OnePass.Training.Models;
using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs;

/// <summary>
/// Runs a model's graph on a backend: the loss, its gradient, and exact Hessian-vector products by the
/// R-operator (forward-over-reverse), all with respect to the flat weight vector. Buffers for a batch size are
/// allocated once and reused, so a training step allocates nothing; tangent buffers are allocated only once a
/// Hessian-vector product is asked for.
/// </summary>
/// <remarks>
/// Usage: <c>SetBatch</c>, then <see cref="Forward"/> at some weights, then any of <see cref="Backward"/>
/// and <see cref="HessianVectorProduct"/> (as many as needed: the forward values and, once computed, the
/// adjoints are reused until the next <c>SetBatch</c> or <see cref="Forward"/>).
/// Non-parameter state (batch-norm running statistics) lives in <see cref="State"/>, outside the weights: only a
/// forward pass asked to update it (a real training step) writes it, so hypergradient re-forwards and
/// Hessian-vector products never move the running statistics.
/// </remarks>
public sealed class GraphExecutor : IDisposable
{
    private const int MaxCachedBatchSizes = 4;

    private readonly Model _model;
    private readonly IBackend _backend;
    private readonly Graph _graph;
    private readonly Dictionary<int, BatchBuffers> _cache = [];
    private readonly DeviceBuffer _one;
    private readonly DeviceBuffer? _ownState;
    private readonly DeviceBuffer?[] _stateSlices;
    private DeviceBuffer? _state;
    private ExecutionMode _mode = ExecutionMode.Training;
    private bool _updateState;
    private bool _advanceCarriedState;
    private BatchBuffers? _current;
    private DeviceBuffer? _weights;
    private bool _forwardValid;
    private bool _adjointsValid;

    /// <summary>Prepares to run <paramref name="model"/> on <paramref name="backend"/>.</summary>
    public GraphExecutor(Model model, IBackend backend)
    {
        _model = model;
        _backend = backend;
        _graph = model.Graph;
        _one = backend.Allocate(1);
        backend.Fill(_one, 1f);
        _stateSlices = new DeviceBuffer?[_graph.Nodes.Count];
        if (model.StateCount > 0)
        {
            _ownState = backend.Allocate(model.StateCount);
            backend.Upload(model.InitialState(), _ownState);
            State = _ownState;
        }
    }

    /// <summary>
    /// The non-parameter state the ops read (and a training forward updates): the model's initial state in a
    /// buffer of this executor's own until set. Executors of one run share the trainer's buffer.
    /// </summary>
    public DeviceBuffer? State
    {
        get => _state;
        set
        {
            if (_model.StateCount == 0)
            {
                if (value is not null && value.Length != 0)
                {
                    throw new ArgumentException($"{_model.Description} has no state; got a state buffer of {value.Length} elements");
                }

                return;
            }

            if (value is null || value.Length != _model.StateCount)
            {
                throw new ArgumentException($"{_model.Description} has {_model.StateCount} state elements; got {value?.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}");
            }

            _state = value;
            foreach (var s in _model.States)
            {
                _stateSlices[s.Node.Id] = value.Slice(s.Offset, s.Length);
            }

            _forwardValid = _adjointsValid = false;
        }
    }

    /// <summary>Training (batch statistics) or evaluation (running statistics) behaviour; training by default.</summary>
    public ExecutionMode Mode
    {
        get => _mode;
        set
        {
            _mode = value;
            _forwardValid = _adjointsValid = false;
        }
    }

    /// <summary>When set, every rule's wall time is added to it per op type (synchronising around each rule).</summary>
    public ExecutorProfile? Profile { get; set; }

    private void Run(Node node, string rule, OpContext context, Action<OpContext> action)
    {
        if (Profile is { } profile)
        {
            profile.Time(node, rule, context, action);
        }
        else
        {
            action(context);
        }
    }

    /// <summary>The seed of the current step's randomness (set before <see cref="Forward"/>; reused by the other passes).</summary>
    public ulong Seed { get; set; }

    /// <summary>The model being run.</summary>
    public Model Model => _model;

    /// <summary>The backend running it.</summary>
    public IBackend Backend => _backend;

    /// <summary>Rows in the current batch (0 before the first <c>SetBatch</c>).</summary>
    public int Rows => _current?.Rows ?? 0;

    /// <summary>The one-element loss buffer, valid after <see cref="Forward"/>.</summary>
    public DeviceBuffer LossBuffer => Current.Values[_model.Loss.Id]!;

    /// <summary>The prediction (or logits) buffer [rows, outputs], valid after <see cref="Forward"/>.</summary>
    public DeviceBuffer PredictionBuffer => Current.Values[_model.Prediction.Id]!;

    private BatchBuffers Current => _current ?? throw new InvalidOperationException("no batch has been set");

    /// <summary>
    /// The current batch's buffer of a non-parameter value (valid after <see cref="Forward"/> until the next), e.g. an
    /// LSTM layer's output, whose last step is its final hidden state.
    /// </summary>
    public DeviceBuffer ValueBuffer(Value value) =>
        Current.Values[value.Id] ?? throw new ArgumentException($"{value} is a parameter; its values are a slice of the weights");

    /// <summary>
    /// The current batch's workspace of <paramref name="node"/> (valid after <see cref="Forward"/> until the next), or
    /// null when its op keeps none; e.g. where an LSTM layer keeps its final cell state (<c>LstmOp.FinalCell</c>).
    /// </summary>
    public DeviceBuffer? WorkspaceBuffer(Node node) => Current.Workspace(node);

    /// <summary>
    /// When set, the first <see cref="Forward"/> after each <c>SetBatch</c> advances carried recurrent state (never
    /// running statistics), as a real step does: for an executor that walks a stream of its own, such as the
    /// validation stream of a language model's hypergradients, whose batches continue each other. Later forwards at
    /// the same batch (at other weights) start from the same states. Off by default.
    /// </summary>
    public bool CarryStateOnNewBatch { get; set; }

    private bool _newBatch;
    private readonly DataUpload _upload = new();

    /// <summary>
    /// Uploads a batch of inputs [rows, inputs] and targets. Token ids and class labels held as floats are converted
    /// to int32 for the model's int32 values (an id must be an integer in [0, 2²⁴], where floats are exact).
    /// </summary>
    public void SetBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, int rows)
    {
        BeginBatch(rows);
        Upload(_model.Input, inputs);
        Upload(_model.Target, targets);
    }

    /// <summary>Uploads a batch of float inputs [rows, inputs] and int32 class labels.</summary>
    public void SetBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> targets, int rows)
    {
        BeginBatch(rows);
        Upload(_model.Input, inputs);
        DataUpload.Upload(_backend, _model.Target, targets, _current!.Indices[_model.Target.Id]);
    }

    /// <summary>Uploads a batch of int32 token ids and int32 targets (a language model's).</summary>
    public void SetBatch(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int rows)
    {
        BeginBatch(rows);
        DataUpload.Upload(_backend, _model.Input, inputs, _current!.Indices[_model.Input.Id]);
        DataUpload.Upload(_backend, _model.Target, targets, _current.Indices[_model.Target.Id]);
    }

    /// <summary>Uses float batch data already on the device (copied into the executor's buffers); for models without int32 data.</summary>
    public void SetBatch(DeviceBuffer inputs, DeviceBuffer targets, int rows)
    {
        if (_model.Input.IsIndices || _model.Target.IsIndices)
        {
            throw new ArgumentException($"{_model.Description} takes int32 ids or labels; float device buffers cannot stand for them");
        }

        BeginBatch(rows);
        _backend.Copy(inputs, _current!.Values[_model.Input.Id]!);
        _backend.Copy(targets, _current.Values[_model.Target.Id]!);
    }

    private void BeginBatch(int rows)
    {
        _newBatch = true;
        SelectRows(rows);
        _forwardValid = _adjointsValid = false;
    }

    private void Upload(Value value, ReadOnlySpan<float> data) =>
        _upload.Upload(_backend, value, data, _current!.Values[value.Id], _current.Indices[value.Id]);

    /// <summary>The current batch's int32 buffer of an input or target of ids (e.g. the labels), after <c>SetBatch</c>.</summary>
    public IndexBuffer IndexBuffer(Value value) =>
        Current.Indices[value.Id] ?? throw new ArgumentException($"{value} holds float32 values, not int32 ids");

    /// <summary>
    /// Computes every value, the loss included, at <paramref name="weights"/>. <paramref name="updateState"/>
    /// is for the forward pass of a real training step only: ops then update their state (running statistics, in
    /// training mode) and advance carried recurrent state (in any mode): an LSTM commits the previous step's final
    /// states as this step's start states and records this step's final states, so re-forwards and Hessian-vector
    /// products at the same batch (without it) start from the states this step started from.
    /// </summary>
    public void Forward(DeviceBuffer weights, bool updateState = false)
    {
        CheckLength(weights, "weights");
        var b = Current;
        _weights = weights;
        BindParameters(Slot.Values, weights);
        _updateState = updateState && _mode == ExecutionMode.Training;
        _advanceCarriedState = updateState || (CarryStateOnNewBatch && _newBatch);
        _newBatch = false;
        try
        {
            foreach (var node in _graph.Nodes)
            {
                Run(node, "forward", Context(b, node), node.Op.Forward);
            }
        }
        finally
        {
            _updateState = _advanceCarriedState = false;
        }

        _forwardValid = true;
        _adjointsValid = false;
    }

    private OpContext Context(BatchBuffers b, Node node)
    {
        var c = b.Context(node);
        c.Mode = _mode;
        c.State = _stateSlices[node.Id];
        c.UpdateState = _updateState;
        c.AdvanceCarriedState = _advanceCarriedState;
        c.Seed = Seed;
        return c;
    }

    /// <summary>Reads the loss computed by the last <see cref="Forward"/> (synchronises).</summary>
    public float ReadLoss()
    {
        Span<float> loss = stackalloc float[1];
        _backend.Download(LossBuffer, loss);
        return loss[0];
    }

    /// <summary>Writes ∇loss with respect to the weights into <paramref name="gradient"/> (after <see cref="Forward"/>).</summary>
    public void Backward(DeviceBuffer gradient)
    {
        CheckLength(gradient, "gradient");
        RequireForward();
        RunBackward(adjoints: true, gradient, withTangents: false, result: null);
    }

    /// <summary>
    /// Writes H·<paramref name="vector"/> into <paramref name="result"/>, H being the Hessian of the loss at the
    /// weights of the last <see cref="Forward"/>, exactly (no finite differences). Costs one tangent forward
    /// pass and one backward pass with tangents; the plain adjoints are reused when <see cref="Backward"/> ran
    /// at this point already.
    /// </summary>
    public void HessianVectorProduct(DeviceBuffer vector, DeviceBuffer result)
    {
        CheckLength(vector, "vector");
        CheckLength(result, "result");
        RequireForward();
        var b = Current;
        b.EnsureTangents(_backend);
        BindParameters(Slot.Tangents, vector);
        foreach (var node in _graph.Nodes)
        {
            if (node.Output.DependsOnParameters)
            {
                Run(node, "forward tangent", Context(b, node), node.Op.ForwardTangent);
            }
        }

        RunBackward(adjoints: !_adjointsValid, gradient: null, withTangents: true, result);
    }

    /// <summary>Forward then Backward: the loss's gradient at <paramref name="weights"/> on the current batch.</summary>
    public void Gradient(DeviceBuffer weights, DeviceBuffer gradient)
    {
        Forward(weights);
        Backward(gradient);
    }

    // Reverse sweep. adjoints: recompute the values' adjoints (else they are valid already and only the tangent sweep
    // runs). gradient null with adjoints: an HVP needs the values' adjoints but not the weights' gradient, so the
    // parameter adjoint slots are left unbound and ops skip those products (a convolution's filter gradient, a Linear's W̄).
    private void RunBackward(bool adjoints, DeviceBuffer? gradient, bool withTangents, DeviceBuffer? result)
    {
        var b = Current;
        if (adjoints)
        {
            if (gradient is null)
            {
                UnbindParameters(Slot.Adjoints);
            }
            else
            {
                BindParameters(Slot.Adjoints, gradient);
                _backend.Fill(gradient, 0f);
            }

            foreach (var value in _graph.Values)
            {
                if (value.Kind == ValueKind.Intermediate && value.Id != _model.Loss.Id && b.Adjoints[value.Id] is { } a)
                {
                    _backend.Fill(a, 0f);
                }
            }
        }

        if (withTangents)
        {
            BindParameters(Slot.AdjointTangents, result!);
            _backend.Fill(result!, 0f);
            foreach (var value in _graph.Values)
            {
                if (value.Kind == ValueKind.Intermediate && b.AdjointTangents[value.Id] is { } a)
                {
                    _backend.Fill(a, 0f);
                }
            }
        }

        for (int i = _graph.Nodes.Count - 1; i >= 0; i--)
        {
            var node = _graph.Nodes[i];
            if (!node.Output.DependsOnParameters)
            {
                continue;
            }

            var context = Context(b, node);
            if (adjoints)
            {
                Run(node, "backward", context, node.Op.Backward);
            }

            if (withTangents)
            {
                Run(node, "backward tangent", context, node.Op.BackwardTangent);
            }
        }

        if (adjoints)
        {
            _adjointsValid = true;
        }
    }

    private void RequireForward()
    {
        if (!_forwardValid)
        {
            throw new InvalidOperationException("Forward must run (after SetBatch) before Backward or HessianVectorProduct");
        }
    }

    private void CheckLength(DeviceBuffer buffer, string what)
    {
        if (buffer.Length != _model.ParameterCount)
        {
            throw new ArgumentException($"{what} has {buffer.Length} elements; the model has {_model.ParameterCount} weights");
        }
    }

    // Points each parameter's slot at its slice of a flat buffer (values, tangents, adjoints or adjoint tangents).
    private void BindParameters(Slot slot, DeviceBuffer flat)
    {
        var b = Current;
        var slots = b.Slots(slot);
        if (ReferenceEquals(b.BoundFlat[(int)slot], flat))
        {
            return;
        }

        foreach (var p in _model.Parameters)
        {
            slots[p.Value.Id] = flat.Slice(p.Offset, p.Length);
        }

        b.BoundFlat[(int)slot] = flat;
    }

    private void UnbindParameters(Slot slot)
    {
        var b = Current;
        var slots = b.Slots(slot);
        foreach (var p in _model.Parameters)
        {
            slots[p.Value.Id] = null;
        }

        b.BoundFlat[(int)slot] = null;
    }

    private void SelectRows(int rows)
    {
        if (rows <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), rows, "a batch needs at least one row");
        }

        if (_current?.Rows == rows)
        {
            return;
        }

        if (!_cache.TryGetValue(rows, out var buffers))
        {
            if (_cache.Count >= MaxCachedBatchSizes)
            {
                foreach (var old in _cache.Values)
                {
                    old.Dispose();
                }

                _cache.Clear();
            }

            buffers = new BatchBuffers(_model, _backend, rows, _one);
            _cache[rows] = buffers;
        }

        _current = buffers;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var b in _cache.Values)
        {
            b.Dispose();
        }

        _cache.Clear();
        _one.Dispose();
        _ownState?.Dispose();
    }

    private enum Slot
    {
        Values,
        Tangents,
        Adjoints,
        AdjointTangents,
    }

    /// <summary>Every buffer one batch size needs: values, tangents, adjoints, adjoint tangents, workspaces.</summary>
    private sealed class BatchBuffers : IDisposable
    {
        private readonly List<DeviceBuffer> _owned = [];
        private readonly List<IndexBuffer> _ownedIndices = [];
        private readonly Model _model;
        private readonly OpContext[] _contexts;
        private readonly DeviceBuffer?[] _workspaces;
        private readonly DeviceBuffer? _scratch;
        private bool _tangentsAllocated;

        public BatchBuffers(Model model, IBackend backend, int rows, DeviceBuffer one)
        {
            _model = model;
            Rows = rows;
            var graph = model.Graph;
            int n = graph.Values.Count;
            Values = new DeviceBuffer?[n];
            Indices = new IndexBuffer?[n];
            Tangents = new DeviceBuffer?[n];
            Adjoints = new DeviceBuffer?[n];
            AdjointTangents = new DeviceBuffer?[n];
            Shapes = new int[n][];
            foreach (var v in graph.Values)
            {
                Shapes[v.Id] = v.Resolve(rows);
                if (v.Kind == ValueKind.Parameter)
                {
                    continue;
                }

                int count = v.ElementCount(rows);
                if (v.IsIndices)
                {
                    Indices[v.Id] = backend.AllocateIndices(count);
                    _ownedIndices.Add(Indices[v.Id]!);
                    continue;
                }

                Values[v.Id] = Own(backend.Allocate(count));
                if (v.Kind == ValueKind.Intermediate && v.DependsOnParameters)
                {
                    Adjoints[v.Id] = v.Id == model.Loss.Id ? one : Own(backend.Allocate(count));
                }
            }

            _workspaces = new DeviceBuffer?[graph.Nodes.Count];
            _contexts = new OpContext[graph.Nodes.Count];
            int scratch = 0;
            foreach (var node in graph.Nodes)
            {
                int[][] inputShapes = node.Inputs.Select(i => Shapes[i.Id]).ToArray();
                int size = node.Op.WorkspaceSize(inputShapes);
                _workspaces[node.Id] = size > 0 ? Own(backend.Allocate(size)) : null;
                scratch = Math.Max(scratch, node.Op.ScratchSize(inputShapes));
                _contexts[node.Id] = new OpContext(backend, node.Inputs.Count);
            }

            _scratch = scratch > 0 ? Own(backend.Allocate(scratch)) : null;
        }

        // Tangent and adjoint-tangent buffers, allocated the first time a Hessian-vector product runs.
        public void EnsureTangents(IBackend backend)
        {
            if (_tangentsAllocated)
            {
                return;
            }

            foreach (var v in _model.Graph.Values)
            {
                if (v.Kind == ValueKind.Intermediate && v.DependsOnParameters)
                {
                    int count = v.ElementCount(Rows);
                    Tangents[v.Id] = Own(backend.Allocate(count));
                    AdjointTangents[v.Id] = v.Id == _model.Loss.Id ? null : Own(backend.Allocate(count));
                }
            }

            // Parameter tangent slots stay bound to the caller's vector (rebound by BindParameters).
            BoundFlat[(int)Slot.Tangents] = BoundFlat[(int)Slot.AdjointTangents] = null;
            _tangentsAllocated = true;
        }

        public int Rows { get; }

        public DeviceBuffer? Workspace(Node node) => _workspaces[node.Id];

        public DeviceBuffer?[] Values { get; }

        // The int32 buffers of the values that hold ids (inputs and targets only); null elsewhere.
        public IndexBuffer?[] Indices { get; }

        public DeviceBuffer?[] Tangents { get; }

        public DeviceBuffer?[] Adjoints { get; }

        public DeviceBuffer?[] AdjointTangents { get; }

        // The flat buffer each kind of parameter slot was last sliced from, indexed by Slot.
        public DeviceBuffer?[] BoundFlat { get; } = new DeviceBuffer?[4];

        public DeviceBuffer?[] Slots(Slot slot) => slot switch
        {
            Slot.Values => Values,
            Slot.Tangents => Tangents,
            Slot.Adjoints => Adjoints,
            _ => AdjointTangents,
        };

        public int[][] Shapes { get; }

        private DeviceBuffer Own(DeviceBuffer buffer)
        {
            _owned.Add(buffer);
            return buffer;
        }

        private Tensor? T(DeviceBuffer?[] slots, int id) => slots[id] is { } buffer ? new Tensor(buffer, Shapes[id]) : null;

        // Refreshes a node's context from the current slots (parameter slices change with the flat buffers bound).
        public OpContext Context(Node node)
        {
            var c = _contexts[node.Id];
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                int id = node.Inputs[i].Id;
                c.Inputs[i] = Indices[id] is { } ids ? new Tensor(ids, Shapes[id]) : T(Values, id)!.Value;
                bool live = node.Inputs[i].DependsOnParameters;
                c.InputTangents[i] = live ? T(Tangents, id) : null;
                c.InputGradients[i] = live ? T(Adjoints, id) : null;
                c.InputGradientTangents[i] = live ? T(AdjointTangents, id) : null;
            }

            int o = node.Output.Id;
            c.Output = T(Values, o)!.Value;
            c.OutputTangent = T(Tangents, o);
            c.OutputGradient = T(Adjoints, o);
            c.OutputGradientTangent = T(AdjointTangents, o);
            c.Workspace = _workspaces[node.Id];
            c.Scratch = _scratch;
            return c;
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
