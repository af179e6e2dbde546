using OnePass.Training.Tensors;

namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// The recurrent family on the GPU (<c>kernels/recurrent.cu</c>): embedding gather and scatter-add, and the LSTM cell's
/// fused elementwise step with its tangent, adjoint and R-operator, one thread per element. Compiled by NVRTC in CI;
/// not yet run on a GPU (<c>onepass selftest --backend cuda</c> compares it with the CPU family there). Token ids are
/// int32. An invalid id cannot throw on the device: the gather writes NaN for it, the scatter-add skips it, and both
/// record it in the backend's index-error record, so the backend throws at its next synchronising call.
/// </summary>
internal sealed class CudaRecurrent : IRecurrentKernels
{
    /// <summary>The kernels of <c>kernels/recurrent.cu</c> this family launches.</summary>
    public static readonly IReadOnlyList<string> KernelNames =
        ["embedding_gather_f32", "embedding_scatter_add_f32", "lstm_cell_forward_f32", "lstm_cell_forward_tangent_f32", "lstm_cell_backward_f32", "lstm_cell_backward_tangent_f32"];

    private readonly ICudaLauncher backend;
    private readonly nint gather, scatterAdd, cellForward, cellForwardTangent, cellBackward, cellBackwardTangent;

    /// <summary>Creates the family on <paramref name="launcher"/>, taking each kernel from <paramref name="function"/> (by name).</summary>
    public CudaRecurrent(ICudaLauncher launcher, Func<string, nint> function)
    {
        backend = launcher;
        gather = function("embedding_gather_f32");
        scatterAdd = function("embedding_scatter_add_f32");
        cellForward = function("lstm_cell_forward_f32");
        cellForwardTangent = function("lstm_cell_forward_tangent_f32");
        cellBackward = function("lstm_cell_backward_f32");
        cellBackwardTangent = function("lstm_cell_backward_tangent_f32");
    }

    private static KernelArgument I(int value) => KernelArgument.Int(value);

    private static KernelArgument Ptr(DeviceBuffer buffer) => KernelArgument.Pointer(CudaBackend.P(buffer));

    private static KernelArgument Ptr(IndexBuffer buffer) => KernelArgument.Pointer(CudaBackend.P(buffer));

    private static KernelArgument Ptr(DeviceBuffer? buffer, bool nullable) => KernelArgument.Pointer(CudaBackend.P(buffer, nullable));

    private static void Need(DeviceBuffer? buffer, long length, string name)
    {
        if (buffer is not null && buffer.Length < length)
        {
            throw new ArgumentException($"{name} holds {buffer.Length} elements; {length} are needed");
        }
    }

    private static void Positive(int batch, int hidden)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfNegative(hidden);
    }

    /// <inheritdoc />
    public void EmbeddingGather(IndexBuffer ids, DeviceBuffer weight, int vocabulary, int dimension, DeviceBuffer output)
    {
        Need(weight, (long)vocabulary * dimension, "embedding weight");
        Need(output, (long)ids.Length * dimension, "embedding output");
        backend.Bind();
        long work = (long)ids.Length * dimension;
        if (work > 0)
        {
            backend.Launch(gather, CudaBackend.GridFor(work), I(ids.Length), I(vocabulary), I(dimension), Ptr(ids), Ptr(weight), Ptr(output), KernelArgument.Pointer(backend.IndexErrors));
        }
    }

    /// <inheritdoc />
    public void EmbeddingScatterAdd(IndexBuffer ids, DeviceBuffer gradient, int vocabulary, int dimension, DeviceBuffer weightGradient)
    {
        Need(weightGradient, (long)vocabulary * dimension, "embedding weight gradient");
        Need(gradient, (long)ids.Length * dimension, "embedding output gradient");
        backend.Bind();
        long work = (long)ids.Length * dimension;
        if (work > 0)
        {
            backend.Launch(scatterAdd, CudaBackend.GridFor(work), I(ids.Length), I(vocabulary), I(dimension), Ptr(ids), Ptr(gradient), Ptr(weightGradient), KernelArgument.Pointer(backend.IndexErrors));
        }
    }

    /// <inheritdoc />
    public void LstmCellForward(DeviceBuffer gates, DeviceBuffer? previousCell, int batch, int hidden, DeviceBuffer cell, DeviceBuffer tanhCell, DeviceBuffer output)
    {
        Positive(batch, hidden);
        long states = (long)batch * hidden;
        Need(gates, 4 * states, "gates");
        Need(previousCell, states, "previous cell");
        Need(cell, states, "cell");
        Need(tanhCell, states, "tanh(cell)");
        Need(output, states, "output");
        backend.Bind();
        if (states > 0)
        {
            backend.Launch(cellForward, CudaBackend.GridFor(states), I(batch), I(hidden), Ptr(gates), Ptr(previousCell, nullable: true), Ptr(cell), Ptr(tanhCell), Ptr(output));
        }
    }

    /// <inheritdoc />
    public void LstmCellForwardTangent(DeviceBuffer gates, DeviceBuffer? previousCell, DeviceBuffer tanhCell, DeviceBuffer? previousCellTangent,
        int batch, int hidden, DeviceBuffer gateTangents, DeviceBuffer cellTangent, DeviceBuffer outputTangent)
    {
        Positive(batch, hidden);
        long states = (long)batch * hidden;
        Need(gates, 4 * states, "gates");
        Need(gateTangents, 4 * states, "gate tangents");
        Need(previousCell, states, "previous cell");
        Need(previousCellTangent, states, "previous cell tangent");
        Need(tanhCell, states, "tanh(cell)");
        Need(cellTangent, states, "cell tangent");
        Need(outputTangent, states, "output tangent");
        backend.Bind();
        if (states > 0)
        {
            backend.Launch(cellForwardTangent, CudaBackend.GridFor(states), I(batch), I(hidden), Ptr(gates), Ptr(previousCell, nullable: true), Ptr(tanhCell),
                Ptr(previousCellTangent, nullable: true), Ptr(gateTangents), Ptr(cellTangent), Ptr(outputTangent));
        }
    }

    /// <inheritdoc />
    public void LstmCellBackward(DeviceBuffer gates, DeviceBuffer? previousCell, DeviceBuffer tanhCell, DeviceBuffer outputGradient,
        DeviceBuffer? recurrentGradient, int batch, int hidden, DeviceBuffer cellCarry, DeviceBuffer hiddenGradient, DeviceBuffer cellGradient,
        DeviceBuffer gateGradients)
    {
        Positive(batch, hidden);
        long states = (long)batch * hidden;
        Need(gates, 4 * states, "gates");
        Need(gateGradients, 4 * states, "gate gradients");
        Need(previousCell, states, "previous cell");
        Need(tanhCell, states, "tanh(cell)");
        Need(outputGradient, states, "output gradient");
        Need(recurrentGradient, states, "recurrent gradient");
        Need(cellCarry, states, "cell carry");
        Need(hiddenGradient, states, "hidden gradient");
        Need(cellGradient, states, "cell gradient");
        backend.Bind();
        if (states > 0)
        {
            backend.Launch(cellBackward, CudaBackend.GridFor(states), I(batch), I(hidden), Ptr(gates), Ptr(previousCell, nullable: true), Ptr(tanhCell),
                Ptr(outputGradient), Ptr(recurrentGradient, nullable: true), Ptr(cellCarry), Ptr(hiddenGradient), Ptr(cellGradient), Ptr(gateGradients));
        }
    }

    /// <inheritdoc />
    public void LstmCellBackwardTangent(DeviceBuffer gates, DeviceBuffer? previousCell, DeviceBuffer tanhCell, DeviceBuffer gateTangents,
        DeviceBuffer? previousCellTangent, DeviceBuffer cellTangent, DeviceBuffer hiddenGradient, DeviceBuffer cellGradient,
        DeviceBuffer? outputGradientTangent, DeviceBuffer? recurrentGradientTangent, int batch, int hidden, DeviceBuffer cellCarryTangent,
        DeviceBuffer gateGradientTangents)
    {
        Positive(batch, hidden);
        long states = (long)batch * hidden;
        Need(gates, 4 * states, "gates");
        Need(gateTangents, 4 * states, "gate tangents");
        Need(gateGradientTangents, 4 * states, "gate gradient tangents");
        Need(previousCell, states, "previous cell");
        Need(previousCellTangent, states, "previous cell tangent");
        Need(tanhCell, states, "tanh(cell)");
        Need(cellTangent, states, "cell tangent");
        Need(hiddenGradient, states, "hidden gradient");
        Need(cellGradient, states, "cell gradient");
        Need(outputGradientTangent, states, "output gradient tangent");
        Need(recurrentGradientTangent, states, "recurrent gradient tangent");
        Need(cellCarryTangent, states, "cell carry tangent");
        backend.Bind();
        if (states > 0)
        {
            backend.Launch(cellBackwardTangent, CudaBackend.GridFor(states), I(batch), I(hidden), Ptr(gates), Ptr(previousCell, nullable: true), Ptr(tanhCell),
                Ptr(gateTangents), Ptr(previousCellTangent, nullable: true), Ptr(cellTangent), Ptr(hiddenGradient), Ptr(cellGradient),
                Ptr(outputGradientTangent, nullable: true), Ptr(recurrentGradientTangent, nullable: true), Ptr(cellCarryTangent), Ptr(gateGradientTangents));
        }
    }
}
