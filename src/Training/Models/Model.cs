using OnePass.Training.Graphs;
using OnePass.Training.Tensors;

namespace OnePass.Training.Models;

/// <summary>
/// A trainable model: a graph with one input, one target, a prediction and a scalar training loss, and its
/// weights laid out back to back in one flat vector (so update rules, Neumann series and per-weight
/// hyperparameters work on a single buffer).
/// </summary>
public sealed class Model
{
    /// <summary>Wraps a built graph; every parameter value in it gets a slot in the flat weight vector.</summary>
    public Model(Graph graph, Value input, Value target, Value prediction, Value loss, LossKind lossKind, string description, IReadOnlyDictionary<Value, ParameterInit> initialisers)
    {
        Graph = graph;
        Input = input;
        Target = target;
        Prediction = prediction;
        Loss = loss;
        LossKind = lossKind;
        Description = description;
        if (loss.Shape is not [1])
        {
            throw new ArgumentException($"the loss must be a scalar, got {loss}");
        }

        var parameters = new List<ParameterInfo>();
        int offset = 0;
        foreach (var value in graph.Values)
        {
            if (value.Kind != ValueKind.Parameter)
            {
                continue;
            }

            int length = value.ElementCount(1);
            parameters.Add(new ParameterInfo(value.Name, value.Shape, offset, length, value,
                initialisers.TryGetValue(value, out var init) ? init : new ParameterInit.Constant(0f)));
            offset = checked(offset + length);
        }

        Parameters = parameters;
        ParameterCount = offset;

        var states = new List<StateInfo>();
        int stateOffset = 0;
        foreach (var node in graph.Nodes)
        {
            int size = node.Op.StateSize(node.Inputs.Select(i => i.Shape).ToArray());
            if (size > 0)
            {
                states.Add(new StateInfo(node.Output.Name, node, stateOffset, size));
                stateOffset = checked(stateOffset + size);
            }
        }

        States = states;
        StateCount = stateOffset;
        long perRow = 0;
        foreach (var value in graph.Values)
        {
            if (value.Kind != ValueKind.Parameter && value.Shape.Length > 0 && value.Shape[0] == Value.Batch)
            {
                perRow += value.ElementCount(1);
            }
        }

        ActivationElementsPerRow = perRow;
    }

    /// <summary>The architecture and its parameters this model was built from (null for hand-built test graphs).</summary>
    public ModelSpec? Spec { get; internal set; }

    /// <summary>Nodes with non-parameter state, in flat-state order.</summary>
    public IReadOnlyList<StateInfo> States { get; }

    /// <summary>Total elements of non-parameter state (batch-norm running statistics); 0 for an MLP.</summary>
    public int StateCount { get; }

    /// <summary>Elements of all per-example values (inputs, activations, loss inputs) for one example: the size of a forward pass per row.</summary>
    public long ActivationElementsPerRow { get; }

    /// <summary>The shape of one example, without the batch dimension (e.g. [784] or [3, 32, 32]).</summary>
    public int[] InputShape => Input.Shape[1..];

    /// <summary>The initial non-parameter state (each stateful op's own initial values).</summary>
    public float[] InitialState()
    {
        var state = new float[StateCount];
        foreach (var s in States)
        {
            s.Node.Op.InitialiseState(state.AsSpan(s.Offset, s.Length));
        }

        return state;
    }

    /// <summary>
    /// Restarts carried recurrent state (an LSTM's hidden and cell states, e.g. at each pass through the data):
    /// re-initialises, in <paramref name="state"/> (this model's flat state on <paramref name="backend"/>), only the
    /// slices of ops whose <see cref="Op.CarriesState"/> is true; running statistics are left as they are.
    /// </summary>
    public void ResetCarriedState(IBackend backend, DeviceBuffer state)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(state);
        if (state.Length != StateCount)
        {
            throw new ArgumentException($"{Description} has {StateCount} state elements; got a buffer of {state.Length}");
        }

        foreach (var s in States)
        {
            if (s.Node.Op.CarriesState)
            {
                var initial = new float[s.Length];
                s.Node.Op.InitialiseState(initial);
                backend.Upload(initial, state.Slice(s.Offset, s.Length));
            }
        }
    }

    /// <summary>True when some op carries recurrent state from one batch to the next (a language model).</summary>
    public bool HasCarriedState => States.Any(s => s.Node.Op.CarriesState);

    /// <summary>The graph (training loss included).</summary>
    public Graph Graph { get; }

    /// <summary>Input features [N, inputs].</summary>
    public Value Input { get; }

    /// <summary>Targets: [N, outputs] for regression, class indices [N] for classification.</summary>
    public Value Target { get; }

    /// <summary>The model's output: predictions (regression) or logits (classification).</summary>
    public Value Prediction { get; }

    /// <summary>The scalar training loss.</summary>
    public Value Loss { get; }

    /// <summary>Which loss the model trains with.</summary>
    public LossKind LossKind { get; }

    /// <summary>One line, e.g. "MLP 784-50-10, relu, cross-entropy".</summary>
    public string Description { get; }

    /// <summary>Weight tensors in flat-vector order.</summary>
    public IReadOnlyList<ParameterInfo> Parameters { get; }

    /// <summary>Total number of weights.</summary>
    public int ParameterCount { get; }

    /// <summary>Input elements per example (features, or C·H·W for images).</summary>
    public int InputWidth
    {
        get
        {
            int n = 1;
            for (int i = 1; i < Input.Shape.Length; i++)
            {
                n *= Input.Shape[i];
            }

            return n;
        }
    }

    /// <summary>Target elements per row: the product of the target's dimensions after the first (1 for a classifier's class index, the sequences of a language model).</summary>
    public int TargetWidth => Target.Shape.Skip(1).Aggregate(1, (a, d) => a * d);

    /// <summary>Outputs per example (classes for classification).</summary>
    public int OutputWidth => Prediction.Shape[^1];

    /// <summary>Fresh weights drawn with <paramref name="seed"/>.</summary>
    public float[] InitialWeights(int seed)
    {
        var random = new Random(seed);
        var weights = new float[ParameterCount];
        foreach (var p in Parameters)
        {
            for (int i = 0; i < p.Length; i++)
            {
                weights[p.Offset + i] = p.Init.Draw(random);
            }
        }

        return weights;
    }
}
