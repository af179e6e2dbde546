using OnePass.Training.Tensors;

namespace OnePass.Training.Graphs.Ops;

/// <summary>
/// One LSTM layer over a whole sequence, with PyTorch's equations and weight layout. Inputs: x [T, N, I],
/// W_ih [4H, I], W_hh [4H, H], b_ih [4H], b_hh [4H], h0 [N, H], c0 [N, H]; output y [T, N, H], every h_t.
/// Gates in PyTorch's order i, f, g, o: aₜ = xₜ·W_ihᵀ + hₜ₋₁·W_hhᵀ + b_ih + b_hh, i, f, o = σ(·), g = tanh(·),
/// cₜ = f⊙cₜ₋₁ + i⊙g, hₜ = o⊙tanh(cₜ). Layers stack by feeding one layer's y to the next as x.
/// </summary>
/// <remarks>
/// <para>
/// <b>Carried state</b> (constructed with <c>carriesState</c>, for truncated back-propagation through time): the op
/// has five inputs (no h0, c0) and takes its initial states from its own non-parameter state, 4·N·H elements laid
/// out [h_start | c_start | h_end | c_end] (zeros initially; N, x's second dimension, must be fixed). A forward with
/// <see cref="OpContext.AdvanceCarriedState"/> first copies end → start (committing the previous pass's final
/// states), runs from start and writes h_T, c_T to end; any other forward runs from start and writes nothing, so a
/// hypergradient re-forward or Hessian-vector product at a batch starts from the states the batch's real step
/// started from. The start states are detached: they have no tangents and receive no adjoints.
/// </para>
/// <para>
/// <b>Computation.</b> One GEMM projects all time steps' inputs (x as [T·N, I] times W_ihᵀ, plus both biases) into the
/// gate buffer; then each step adds hₜ₋₁·W_hhᵀ (one GEMM) and runs the fused cell kernel of
/// <see cref="IRecurrentKernels"/>. The weight gradients likewise are one GEMM each over all steps after the
/// recursion. The workspace keeps, per step, the gate activations, cₜ and tanh(cₜ) (Forward), the gate and cell
/// tangents (ForwardTangent), and the adjoints ā, h̄, c̄ (Backward), which BackwardTangent reads: it must follow a
/// Backward at the same forward point, as the executors guarantee.
/// </para>
/// <para>
/// <b>Final states.</b> h_T is the last step of the output (<see cref="FinalHidden"/>); c_T is kept in the
/// workspace (<see cref="FinalCell"/>), valid after a Forward until the next. Truncated back-propagation reads both
/// after the training forward and feeds them, detached, as the next batch's h0 and c0.
/// </para>
/// <para>
/// <b>Backward (BPTT).</b> With k = tanh(c), k' = 1 − k² and ȳₜ the output's adjoint, from t = T down to 1:
/// h̄ₜ = ȳₜ + āₜ₊₁·W_hh; c̄ₜ = h̄ₜ⊙o⊙k' + c̄ₜ₊₁⊙fₜ₊₁; then ī = c̄⊙g, f̄ = c̄⊙cₜ₋₁, ḡ = c̄⊙i, ō = h̄⊙k and the
/// pre-activation adjoints āᵢ = ī⊙i(1−i), ā_f = f̄⊙f(1−f), ā_g = ḡ⊙(1−g²), ā_o = ō⊙o(1−o). After the recursion:
/// x̄ += Ā·W_ih, W̄_ih += Āᵀ·X, W̄_hh += Σₜ āₜᵀ·hₜ₋₁, b̄ += Σ ā (both biases), h̄0 += ā₁·W_hh, c̄0 += c̄₁⊙f₁.
/// </para>
/// <para>
/// <b>ForwardTangent.</b> ȧₜ = ẋₜW_ihᵀ + xₜẆ_ihᵀ + ḣₜ₋₁W_hhᵀ + hₜ₋₁Ẇ_hhᵀ + ḃ_ih + ḃ_hh (all but ḣₜ₋₁W_hhᵀ as whole-
/// sequence GEMMs, since every hₜ₋₁ is known after Forward); i̇ = i(1−i)ȧᵢ (likewise f, o), ġ = (1−g²)ȧ_g;
/// ċₜ = ḟ⊙cₜ₋₁ + f⊙ċₜ₋₁ + i̇⊙g + i⊙ġ; ḣₜ = ȯ⊙k + o⊙k'⊙ċₜ.
/// </para>
/// <para>
/// <b>BackwardTangent</b> (the R-operator of the recursion above, every product differentiated; k̇ = k'⊙ċ, and the
/// derivative of k' is −2k⊙k̇, of s(1−s) is (1−2s)⊙ṡ, of 1−g² is −2g⊙ġ). From t = T down to 1:
/// R{h̄ₜ} = R{ȳₜ} + R{āₜ₊₁}·W_hh + āₜ₊₁·Ẇ_hh;
/// R{c̄ₜ} = R{h̄ₜ}⊙o⊙k' + h̄ₜ⊙ȯ⊙k' − 2h̄ₜ⊙o⊙k⊙k̇ + (R{c̄ₜ₊₁}⊙fₜ₊₁ + c̄ₜ₊₁⊙ḟₜ₊₁);
/// R{ī} = R{c̄}⊙g + c̄⊙ġ, R{f̄} = R{c̄}⊙cₜ₋₁ + c̄⊙ċₜ₋₁, R{ḡ} = R{c̄}⊙i + c̄⊙i̇, R{ō} = R{h̄}⊙k + h̄⊙k̇;
/// R{āᵢ} = R{ī}⊙i(1−i) + ī⊙(1−2i)⊙i̇ (likewise f, o), R{ā_g} = R{ḡ}⊙(1−g²) − 2ḡ⊙g⊙ġ.
/// After the recursion, the bilinear products: R{x̄} += R{Ā}·W_ih + Ā·Ẇ_ih, R{W̄_ih} += R{Ā}ᵀ·X + Āᵀ·Ẋ,
/// R{W̄_hh} += Σₜ R{āₜ}ᵀ·hₜ₋₁ + āₜᵀ·ḣₜ₋₁, R{b̄} += Σ R{ā}, R{h̄0} += R{ā₁}·W_hh + ā₁·Ẇ_hh, R{c̄0} += R{c̄₁}⊙f₁ + c̄₁⊙ḟ₁.
/// </para>
/// </remarks>
public sealed class LstmOp : Op
{
    /// <summary>
    /// Creates an LSTM layer with <paramref name="hiddenSize"/> units (H); with <paramref name="carriesState"/> its
    /// initial states are its own carried state rather than inputs.
    /// </summary>
    public LstmOp(int hiddenSize, bool carriesState = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        HiddenSize = hiddenSize;
        _carries = carriesState;
    }

    private readonly bool _carries;

    /// <inheritdoc />
    public override bool CarriesState => _carries;

    private int InputCount => _carries ? 5 : 7;

    /// <summary>Units per step (H): the width of h and c.</summary>
    public int HiddenSize { get; }

    /// <inheritdoc />
    public override string Type => "Lstm";

    // Workspace regions, in units of T·N·H elements: gates (4), c (1), tanh c (1), gate tangents (4), ċ (1),
    // gate adjoints (4), h̄ (1), c̄ (1).
    private const int GatesAt = 0, CellAt = 4, TanhAt = 5, GateTangentsAt = 6, CellTangentAt = 10, GateGradientsAt = 11, HiddenGradientAt = 15, CellGradientAt = 16, WorkspaceUnits = 17;

    /// <inheritdoc />
    public override int[] InferShape(IReadOnlyList<int[]> s)
    {
        int h = HiddenSize;
        if (s.Count != InputCount || s[0].Length != 3 || s[1].Length != 2 || s[2].Length != 2 || s[3].Length != 1 || s[4].Length != 1
            || (!_carries && (s[5].Length != 2 || s[6].Length != 2)))
        {
            throw ShapeError(_carries
                ? "(carrying its state) expects x [T, N, I], W_ih [4H, I], W_hh [4H, H], b_ih [4H], b_hh [4H]"
                : "expects x [T, N, I], W_ih [4H, I], W_hh [4H, H], b_ih [4H], b_hh [4H], h0 [N, H], c0 [N, H]");
        }

        if (_carries && s[0][1] == Value.Batch)
        {
            throw ShapeError($"carrying its state needs a fixed number of sequences (x's second dimension), got [{string.Join(", ", s[0])}] with the batch there");
        }

        int[] x = s[0];
        string Shape(int[] a) => $"[{string.Join(", ", a)}]";
        if (s[1][0] != 4 * h || s[1][1] != x[2])
        {
            throw ShapeError($"W_ih is {Shape(s[1])}; expected [{4 * h}, {x[2]}] for hidden size {h} and x {Shape(x)}");
        }

        if (s[2][0] != 4 * h || s[2][1] != h)
        {
            throw ShapeError($"W_hh is {Shape(s[2])}; expected [{4 * h}, {h}]");
        }

        if (s[3][0] != 4 * h || s[4][0] != 4 * h)
        {
            throw ShapeError($"b_ih has {s[3][0]} and b_hh {s[4][0]} elements; expected {4 * h}");
        }

        if (!_carries && (s[5][0] != x[1] || s[5][1] != h || s[6][0] != x[1] || s[6][1] != h))
        {
            throw ShapeError($"h0 is {Shape(s[5])} and c0 {Shape(s[6])}; expected [{x[1]}, {h}] for x {Shape(x)}");
        }

        return [x[0], x[1], h];
    }

    /// <inheritdoc />
    /// <remarks>4·N·H when carrying state: [h_start | c_start | h_end | c_end]; zeros initially.</remarks>
    public override int StateSize(IReadOnlyList<int[]> inputShapes) =>
        _carries ? Checked(4L * inputShapes[0][1] * HiddenSize) : 0;

    private static long Unit(IReadOnlyList<int[]> s, int hidden) => (long)s[0][0] * s[0][1] * hidden;

    /// <inheritdoc />
    public override int WorkspaceSize(IReadOnlyList<int[]> inputShapes) => Checked(WorkspaceUnits * Unit(inputShapes, HiddenSize));

    /// <inheritdoc />
    public override int ScratchSize(IReadOnlyList<int[]> inputShapes) =>
        Checked((4 * Unit(inputShapes, HiddenSize)) + (2L * inputShapes[0][1] * HiddenSize));

    private int Checked(long size) => size <= int.MaxValue ? (int)size : throw ShapeError($"needs {size} elements of workspace, too many for one buffer");

    /// <summary>
    /// The final cell state c_T [N, H] within this op's workspace (valid after a Forward, until the next one).
    /// </summary>
    public DeviceBuffer FinalCell(DeviceBuffer workspace, int steps, int sequences)
    {
        int step = sequences * HiddenSize;
        return workspace.Slice((CellAt * steps * step) + ((steps - 1) * step), step);
    }

    /// <summary>The final hidden state h_T [N, H]: the last step of the output y [T, N, H].</summary>
    public DeviceBuffer FinalHidden(DeviceBuffer output, int steps, int sequences)
    {
        int step = sequences * HiddenSize;
        return output.Slice((steps - 1) * step, step);
    }

    // The initial states h0, c0: inputs 5 and 6, or the start slices of the carried state (after committing the
    // previous pass's final states when the context advances it).
    private (DeviceBuffer H0, DeviceBuffer C0) Initial(OpContext c)
    {
        if (!_carries)
        {
            return (c.Inputs[5].Buffer, c.Inputs[6].Buffer);
        }

        var state = c.State ?? throw new InvalidOperationException("Lstm carrying its state needs its state buffer (StateSize) but the context has none");
        int nh = c.Inputs[0].Shape[1] * HiddenSize;
        return (state.Slice(0, nh), state.Slice(nh, nh));
    }

    private DeviceBuffer? InitialTangent(OpContext c, int index) => _carries ? null : c.InputTangents[index]?.Buffer;

    /// <summary>The sizes of one call and views of its workspace per region and per step.</summary>
    private readonly struct Layout(OpContext c, int hidden)
    {
        public readonly int T = c.Inputs[0].Shape[0], N = c.Inputs[0].Shape[1], I = c.Inputs[0].Shape[2], H = hidden;

        private readonly DeviceBuffer _workspace = c.Workspace ?? throw new InvalidOperationException("Lstm needs its workspace (WorkspaceSize) but the context has none");

        public int Unit => T * N * H;

        public DeviceBuffer Region(int at, int units) => _workspace.Slice(at * Unit, units * Unit);

        // Step t of a time-major buffer with `width` elements per row.
        public DeviceBuffer Step(DeviceBuffer buffer, int t, int width) => buffer.Slice(t * N * width, N * width);

        public DeviceBuffer Steps(DeviceBuffer buffer, int first, int count, int width) => buffer.Slice(first * N * width, count * N * width);

        public DeviceBuffer Gates(int t) => Step(Region(GatesAt, 4), t, 4 * H);

        public DeviceBuffer GateTangents(int t) => Step(Region(GateTangentsAt, 4), t, 4 * H);

        public DeviceBuffer GateGradients(int t) => Step(Region(GateGradientsAt, 4), t, 4 * H);

        public DeviceBuffer State(int at, int t) => Step(Region(at, 1), t, H);
    }

    /// <inheritdoc />
    public override void Forward(OpContext c)
    {
        var l = new Layout(c, HiddenSize);
        var b = c.Backend;
        if (_carries && c.AdvanceCarriedState)
        {
            var state = c.State ?? throw new InvalidOperationException("Lstm carrying its state needs its state buffer (StateSize) but the context has none");
            int half = 2 * l.N * l.H;
            b.Copy(state.Slice(half, half), state.Slice(0, half));
        }

        var (h0, c0) = Initial(c);
        var (x, wih, whh, y) = (c.Inputs[0].Buffer, c.Inputs[1].Buffer, c.Inputs[2].Buffer, c.Output.Buffer);
        var gates = l.Region(GatesAt, 4);
        int rows = l.T * l.N, g4 = 4 * l.H;
        b.Gemm(false, true, rows, g4, l.I, 1f, x, wih, 0f, gates);
        b.AddRowVector(gates, rows, g4, c.Inputs[3].Buffer);
        b.AddRowVector(gates, rows, g4, c.Inputs[4].Buffer);
        for (int t = 0; t < l.T; t++)
        {
            var hPrev = t == 0 ? h0 : l.Step(y, t - 1, l.H);
            b.Gemm(false, true, l.N, g4, l.H, 1f, hPrev, whh, 1f, l.Gates(t));
            var cPrev = t == 0 ? c0 : l.State(CellAt, t - 1);
            b.Recurrent.LstmCellForward(l.Gates(t), cPrev, l.N, l.H, l.State(CellAt, t), l.State(TanhAt, t), l.Step(y, t, l.H));
        }

        if (_carries && c.AdvanceCarriedState)
        {
            int nh = l.N * l.H;
            b.Copy(FinalHidden(y, l.T, l.N), c.State!.Slice(2 * nh, nh));
            b.Copy(l.State(CellAt, l.T - 1), c.State!.Slice(3 * nh, nh));
        }
    }

    /// <inheritdoc />
    public override void ForwardTangent(OpContext c)
    {
        var l = new Layout(c, HiddenSize);
        var b = c.Backend;
        var (h0, c0) = Initial(c);
        var (x, wih, whh, y) = (c.Inputs[0].Buffer, c.Inputs[1].Buffer, c.Inputs[2].Buffer, c.Output.Buffer);
        var t_ = c.InputTangents;
        var (xt, wiht, whht, biht, bhht, h0t, c0t) = (t_[0]?.Buffer, t_[1]?.Buffer, t_[2]?.Buffer, t_[3]?.Buffer, t_[4]?.Buffer, InitialTangent(c, 5), InitialTangent(c, 6));
        var yt = c.OutputTangent!.Value.Buffer;
        var gt = l.Region(GateTangentsAt, 4);
        int rows = l.T * l.N, g4 = 4 * l.H;

        // The non-recurrent part of ȧ for all steps at once.
        b.Fill(gt, 0f);
        if (xt is not null)
        {
            b.Gemm(false, true, rows, g4, l.I, 1f, xt, wih, 1f, gt);
        }

        if (wiht is not null)
        {
            b.Gemm(false, true, rows, g4, l.I, 1f, x, wiht, 1f, gt);
        }

        if (whht is not null)
        {
            b.Gemm(false, true, l.N, g4, l.H, 1f, h0, whht, 1f, l.GateTangents(0));
            if (l.T > 1)
            {
                b.Gemm(false, true, (l.T - 1) * l.N, g4, l.H, 1f, l.Steps(y, 0, l.T - 1, l.H), whht, 1f, l.Steps(gt, 1, l.T - 1, g4));
            }
        }

        if (biht is not null)
        {
            b.AddRowVector(gt, rows, g4, biht);
        }

        if (bhht is not null)
        {
            b.AddRowVector(gt, rows, g4, bhht);
        }

        for (int t = 0; t < l.T; t++)
        {
            var hPrevTangent = t == 0 ? h0t : l.Step(yt, t - 1, l.H);
            if (hPrevTangent is not null)
            {
                b.Gemm(false, true, l.N, g4, l.H, 1f, hPrevTangent, whh, 1f, l.GateTangents(t));
            }

            var cPrev = t == 0 ? c0 : l.State(CellAt, t - 1);
            var cPrevTangent = t == 0 ? c0t : l.State(CellTangentAt, t - 1);
            b.Recurrent.LstmCellForwardTangent(l.Gates(t), cPrev, l.State(TanhAt, t), cPrevTangent, l.N, l.H, l.GateTangents(t),
                l.State(CellTangentAt, t), l.Step(yt, t, l.H));
        }
    }

    /// <inheritdoc />
    public override void Backward(OpContext c)
    {
        // Runs the whole recursion even when no input adjoint is wanted: BackwardTangent reads ā, h̄ and c̄.
        var l = new Layout(c, HiddenSize);
        var b = c.Backend;
        var (h0, c0) = Initial(c);
        var (x, wih, whh, y) = (c.Inputs[0].Buffer, c.Inputs[1].Buffer, c.Inputs[2].Buffer, c.Output.Buffer);
        var dy = c.OutputGradient!.Value.Buffer;
        var scratch = c.Scratch ?? throw new InvalidOperationException("Lstm needs scratch memory (ScratchSize) but the context has none");
        int nh = l.N * l.H, g4 = 4 * l.H, rows = l.T * l.N;
        DeviceBuffer recurrent = scratch.Slice(0, nh), carry = scratch.Slice(nh, nh);
        b.Fill(carry, 0f);
        for (int t = l.T - 1; t >= 0; t--)
        {
            DeviceBuffer? fromNext = null;
            if (t < l.T - 1)
            {
                b.Gemm(false, false, l.N, l.H, g4, 1f, l.GateGradients(t + 1), whh, 0f, recurrent);
                fromNext = recurrent;
            }

            var cPrev = t == 0 ? c0 : l.State(CellAt, t - 1);
            b.Recurrent.LstmCellBackward(l.Gates(t), cPrev, l.State(TanhAt, t), l.Step(dy, t, l.H), fromNext, l.N, l.H, carry,
                l.State(HiddenGradientAt, t), l.State(CellGradientAt, t), l.GateGradients(t));
        }

        var g = c.InputGradients;
        var all = l.Region(GateGradientsAt, 4);
        if (!_carries && g[6] is { } dc0)
        {
            b.Axpy(1f, carry, dc0.Buffer);
        }

        if (!_carries && g[5] is { } dh0)
        {
            b.Gemm(false, false, l.N, l.H, g4, 1f, l.GateGradients(0), whh, 1f, dh0.Buffer);
        }

        if (g[0] is { } dx)
        {
            b.Gemm(false, false, rows, l.I, g4, 1f, all, wih, 1f, dx.Buffer);
        }

        if (g[1] is { } dwih)
        {
            b.Gemm(true, false, g4, l.I, rows, 1f, all, x, 1f, dwih.Buffer);
        }

        if (g[2] is { } dwhh)
        {
            b.Gemm(true, false, g4, l.H, l.N, 1f, l.GateGradients(0), h0, 1f, dwhh.Buffer);
            if (l.T > 1)
            {
                b.Gemm(true, false, g4, l.H, (l.T - 1) * l.N, 1f, l.Steps(all, 1, l.T - 1, g4), l.Steps(y, 0, l.T - 1, l.H), 1f, dwhh.Buffer);
            }
        }

        for (int i = 3; i <= 4; i++)
        {
            if (g[i] is { } db)
            {
                b.AddColumnSums(all, rows, g4, db.Buffer);
            }
        }
    }

    /// <inheritdoc />
    public override void BackwardTangent(OpContext c)
    {
        var g = c.InputGradientTangents;
        if (Array.TrueForAll(g, a => a is null))
        {
            return;
        }

        var l = new Layout(c, HiddenSize);
        var b = c.Backend;
        var (h0, c0) = Initial(c);
        var (x, wih, whh, y) = (c.Inputs[0].Buffer, c.Inputs[1].Buffer, c.Inputs[2].Buffer, c.Output.Buffer);
        var t_ = c.InputTangents;
        var (xt, wiht, whht, h0t, c0t) = (t_[0]?.Buffer, t_[1]?.Buffer, t_[2]?.Buffer, InitialTangent(c, 5), InitialTangent(c, 6));
        var yt = c.OutputTangent?.Buffer ?? throw new InvalidOperationException("Lstm: BackwardTangent needs the output tangent of ForwardTangent");
        var rdy = c.OutputGradientTangent?.Buffer;
        var scratch = c.Scratch ?? throw new InvalidOperationException("Lstm needs scratch memory (ScratchSize) but the context has none");
        int nh = l.N * l.H, g4 = 4 * l.H, rows = l.T * l.N;
        var rAll = scratch.Slice(0, 4 * l.Unit);
        DeviceBuffer recurrent = scratch.Slice(4 * l.Unit, nh), carry = scratch.Slice((4 * l.Unit) + nh, nh);
        DeviceBuffer RGates(int t) => l.Step(rAll, t, g4);
        var all = l.Region(GateGradientsAt, 4);
        b.Fill(carry, 0f);
        for (int t = l.T - 1; t >= 0; t--)
        {
            DeviceBuffer? fromNext = null;
            if (t < l.T - 1)
            {
                b.Gemm(false, false, l.N, l.H, g4, 1f, RGates(t + 1), whh, 0f, recurrent);
                if (whht is not null)
                {
                    b.Gemm(false, false, l.N, l.H, g4, 1f, l.GateGradients(t + 1), whht, 1f, recurrent);
                }

                fromNext = recurrent;
            }

            var cPrev = t == 0 ? c0 : l.State(CellAt, t - 1);
            var cPrevTangent = t == 0 ? c0t : l.State(CellTangentAt, t - 1);
            b.Recurrent.LstmCellBackwardTangent(l.Gates(t), cPrev, l.State(TanhAt, t), l.GateTangents(t), cPrevTangent, l.State(CellTangentAt, t),
                l.State(HiddenGradientAt, t), l.State(CellGradientAt, t), rdy is null ? null : l.Step(rdy, t, l.H), fromNext, l.N, l.H, carry, RGates(t));
        }

        if (!_carries && g[6] is { } dc0t)
        {
            b.Axpy(1f, carry, dc0t.Buffer);
        }

        if (!_carries && g[5] is { } dh0t)
        {
            b.Gemm(false, false, l.N, l.H, g4, 1f, RGates(0), whh, 1f, dh0t.Buffer);
            if (whht is not null)
            {
                b.Gemm(false, false, l.N, l.H, g4, 1f, l.GateGradients(0), whht, 1f, dh0t.Buffer);
            }
        }

        if (g[0] is { } dxt)
        {
            b.Gemm(false, false, rows, l.I, g4, 1f, rAll, wih, 1f, dxt.Buffer);
            if (wiht is not null)
            {
                b.Gemm(false, false, rows, l.I, g4, 1f, all, wiht, 1f, dxt.Buffer);
            }
        }

        if (g[1] is { } dwiht)
        {
            b.Gemm(true, false, g4, l.I, rows, 1f, rAll, x, 1f, dwiht.Buffer);
            if (xt is not null)
            {
                b.Gemm(true, false, g4, l.I, rows, 1f, all, xt, 1f, dwiht.Buffer);
            }
        }

        if (g[2] is { } dwhht)
        {
            b.Gemm(true, false, g4, l.H, l.N, 1f, RGates(0), h0, 1f, dwhht.Buffer);
            if (h0t is not null)
            {
                b.Gemm(true, false, g4, l.H, l.N, 1f, l.GateGradients(0), h0t, 1f, dwhht.Buffer);
            }

            if (l.T > 1)
            {
                int later = (l.T - 1) * l.N;
                b.Gemm(true, false, g4, l.H, later, 1f, l.Steps(rAll, 1, l.T - 1, g4), l.Steps(y, 0, l.T - 1, l.H), 1f, dwhht.Buffer);
                b.Gemm(true, false, g4, l.H, later, 1f, l.Steps(all, 1, l.T - 1, g4), l.Steps(yt, 0, l.T - 1, l.H), 1f, dwhht.Buffer);
            }
        }

        for (int i = 3; i <= 4; i++)
        {
            if (g[i] is { } dbt)
            {
                b.AddColumnSums(rAll, rows, g4, dbt.Buffer);
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// The ONNX LSTM operator (opset 14+ layout: X [T, N, I], W [1, 4H, I], R [1, 4H, H], B [1, 8H] = (Wb, Rb),
    /// initial_h and initial_c [1, N, H]) orders its gates i, o, f, c where PyTorch has i, f, g, o, so the weight
    /// and bias rows are permuted inside the graph (a Gather with a fixed row permutation, then Unsqueeze), which
    /// works for any weight values; Y [T, 1, N, H] is squeezed to [T, N, H]. A layer that carries its state takes its
    /// initial states from <see cref="IOnnxEmitter.CarriedStateInputs"/> when the exporter supplies them and reports
    /// Y_h, Y_c as its final states; else it starts from zeros.
    /// </remarks>
    public override string ToOnnx(IOnnxEmitter emitter, IReadOnlyList<string> inputs)
    {
        int h = HiddenSize;
        int[] fromPyTorchBlock = [0, 3, 1, 2]; // ONNX block j holds PyTorch block fromPyTorchBlock[j]
        var permutation = new long[4 * h];
        for (int block = 0; block < 4; block++)
        {
            for (int j = 0; j < h; j++)
            {
                permutation[(block * h) + j] = (fromPyTorchBlock[block] * h) + j;
            }
        }

        string rows = emitter.AddInt64Initializer("lstm_gate_permutation", permutation);
        string axis0 = emitter.AddInt64Initializer("lstm_axis0", [0]);
        string axis1 = emitter.AddInt64Initializer("lstm_axis1", [1]);
        string Permuted(string name) => emitter.AddNode("Gather", [name, rows], ("axis", 0L));
        string Leading(string name) => emitter.AddNode("Unsqueeze", [name, axis0]);
        string w = Leading(Permuted(inputs[1]));
        string r = Leading(Permuted(inputs[2]));
        string bias = Leading(emitter.AddNode("Concat", [Permuted(inputs[3]), Permuted(inputs[4])], ("axis", 0L)));
        (string Name, object Value)[] attributes = [("hidden_size", (long)h), ("direction", "forward")];
        if (_carries && emitter.CarriedStateInputs is [string hiddenIn, string cellIn])
        {
            // A carried state the exporter exposes: the graph's initial states in ([1, N, H] each), this layer's final
            // states Y_h, Y_c out, so that a service can stream a text chunk by chunk.
            var outputs = emitter.AddNodeWithOutputs("LSTM", [inputs[0], w, r, bias, string.Empty, hiddenIn, cellIn], 3, attributes);
            emitter.SetCarriedStateOutputs([outputs[1], outputs[2]]);
            return emitter.AddNode("Squeeze", [outputs[0], axis1]);
        }

        // Otherwise a carrying layer starts from zeros (ONNX's default for absent initial states).
        string initialH = _carries ? string.Empty : Leading(inputs[5]);
        string initialC = _carries ? string.Empty : Leading(inputs[6]);
        string sequence = emitter.AddNode("LSTM", [inputs[0], w, r, bias, string.Empty, initialH, initialC], attributes);
        return emitter.AddNode("Squeeze", [sequence, axis1]);
    }

    /// <inheritdoc />
    /// <remarks>Carrying its state, this starts from zeros; the overload with a state starts from its start slices.</remarks>
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes) =>
        ReferenceForward(inputs, shapes, ExecutionMode.Training, null);

    /// <inheritdoc />
    public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes, ExecutionMode mode, double[]? state)
    {
        int nh = shapes[0][1] * HiddenSize;
        double[] h0, c0;
        if (!_carries)
        {
            (h0, c0) = (inputs[5], inputs[6]);
        }
        else if (state is null)
        {
            (h0, c0) = (new double[nh], new double[nh]);
        }
        else
        {
            (h0, c0) = (state[..nh], state[nh..(2 * nh)]);
        }

        return Reference(inputs, shapes, h0, c0);
    }

    private double[] Reference(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes, double[] h0, double[] c0)
    {
        double[] x = inputs[0], wih = inputs[1], whh = inputs[2], bih = inputs[3], bhh = inputs[4];
        int steps = shapes[0][0], n = shapes[0][1], inF = shapes[0][2], h = HiddenSize;
        var hidden = (double[])h0.Clone();
        var cell = (double[])c0.Clone();
        var y = new double[steps * n * h];
        var a = new double[4 * h];
        for (int t = 0; t < steps; t++)
        {
            var next = new double[n * h];
            for (int r = 0; r < n; r++)
            {
                for (int q = 0; q < 4 * h; q++)
                {
                    double s = bih[q] + bhh[q];
                    for (int k = 0; k < inF; k++)
                    {
                        s += wih[(q * inF) + k] * x[(((t * n) + r) * inF) + k];
                    }

                    for (int k = 0; k < h; k++)
                    {
                        s += whh[(q * h) + k] * hidden[(r * h) + k];
                    }

                    a[q] = s;
                }

                for (int j = 0; j < h; j++)
                {
                    double i = 1 / (1 + Math.Exp(-a[j])), f = 1 / (1 + Math.Exp(-a[h + j]));
                    double g = Math.Tanh(a[(2 * h) + j]), o = 1 / (1 + Math.Exp(-a[(3 * h) + j]));
                    cell[(r * h) + j] = (f * cell[(r * h) + j]) + (i * g);
                    next[(r * h) + j] = o * Math.Tanh(cell[(r * h) + j]);
                }
            }

            hidden = next;
            Array.Copy(next, 0, y, t * n * h, n * h);
        }

        return y;
    }
}
