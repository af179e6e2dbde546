using OnePass.Training.Tensors;

namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// Batch normalisation on the GPU (<c>kernels/normalisation.cu</c>): each rule sums what it needs per channel in two
/// stages (one thread per chunk of about <see cref="ChunkElements"/> elements of a channel, in double, then one per
/// channel adding the chunks and writing the rule's coefficients), then applies them with one thread per element;
/// forward, both tangent rules and the adjoint, in training (batch statistics) and evaluation mode. Compiled by NVRTC
/// in CI and checked against the CPU family on the host emulator; not yet run on a GPU
/// (<c>onepass selftest --backend cuda</c> compares it with the CPU there).
/// </summary>
internal sealed class CudaNormalisation : INormalisationKernels
{
    /// <summary>The kernels of <c>kernels/normalisation.cu</c> this family launches.</summary>
    public static readonly IReadOnlyList<string> KernelNames =
        ["batch_norm_partials_f64", "batch_norm_mean_f32", "batch_norm_variance_f32", "batch_norm_inference_statistics_f32", "batch_norm_apply_f32", "batch_norm_forward_tangent_coefficients_f32",
         "batch_norm_forward_tangent_apply_f32", "batch_norm_backward_coefficients_f32", "batch_norm_backward_apply_f32",
         "batch_norm_backward_tangent_coefficients_f32", "batch_norm_backward_tangent_apply_f32"];

    /// <summary>About how many of a channel's elements one thread of the partial-sums kernel adds up.</summary>
    public const int ChunkElements = 256;

    private const int CoefficientsPerChannel = 5;
    private const int MaxChunks = 4096;
    private readonly ICudaLauncher backend;
    private readonly Dictionary<string, nint> function;

    /// <summary>Creates the family on <paramref name="launcher"/>, taking each kernel from <paramref name="lookup"/> (by name).</summary>
    public CudaNormalisation(ICudaLauncher launcher, Func<string, nint> lookup)
    {
        backend = launcher;
        function = KernelNames.ToDictionary(name => name, lookup, StringComparer.Ordinal);
    }

    private static KernelArgument I(int value) => KernelArgument.Int(value);

    private static KernelArgument I(bool value) => KernelArgument.Int(value ? 1 : 0);

    private static KernelArgument F(float value) => KernelArgument.Float(value);

    private static KernelArgument Ptr(DeviceBuffer? buffer) => KernelArgument.Pointer(CudaBackend.P(buffer, nullable: true));

    private readonly record struct Layout(int Batch, int Channels, int Spatial)
    {
        public long Elements => (long)Batch * Channels * Spatial;

        public void Check(DeviceBuffer? buffer, string name, bool optional = false) => Need(buffer, Elements, name, optional);

        public void CheckChannels(DeviceBuffer? buffer, string name, bool optional = false) => Need(buffer, Channels, name, optional);

        public void CheckSaved(DeviceBuffer? buffer, string name, bool optional = false) => Need(buffer, 2L * Channels, name, optional);

        private static void Need(DeviceBuffer? buffer, long length, string name, bool optional)
        {
            if (buffer is null)
            {
                if (!optional)
                {
                    throw new ArgumentNullException(name);
                }

                return;
            }

            if (buffer.Length < length)
            {
                throw new ArgumentException($"{name} holds {buffer.Length} elements; {length} are needed");
            }
        }
    }

    private static Layout Shape(int batch, int channels, int spatial)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfNegative(channels);
        ArgumentOutOfRangeException.ThrowIfNegative(spatial);
        return new Layout(batch, channels, spatial);
    }

    /// <summary>How many chunks each channel's batch × spatial elements are summed in.</summary>
    public static int ChunksFor(int batch, int spatial) =>
        (int)Math.Clamp((((long)batch * spatial) + ChunkElements - 1) / ChunkElements, 1, MaxChunks);

    // Double partial sums of `sums` kinds for every (channel, chunk), as a float buffer of twice the length.
    private DeviceBuffer Partials(Layout l, int chunks, int sums, int mode, DeviceBuffer x, DeviceBuffer saved, DeviceBuffer? u, DeviceBuffer? v, DeviceBuffer? w)
    {
        DeviceBuffer partials = backend.Allocate(checked(2 * sums * l.Channels * chunks));
        Run("batch_norm_partials_f64", (long)l.Channels * chunks, I(l.Batch), I(l.Channels), I(l.Spatial), I(chunks), I(mode), Ptr(x), Ptr(saved),
            Ptr(u), Ptr(v), Ptr(w), Ptr(partials));
        return partials;
    }

    private void Run(string kernel, long work, params ReadOnlySpan<KernelArgument> arguments)
    {
        if (work > 0)
        {
            backend.Launch(function[kernel], CudaBackend.GridFor(work), arguments);
        }
    }

    /// <inheritdoc />
    public void BatchNormTrainingForward(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer beta,
        float epsilon, DeviceBuffer saved, DeviceBuffer y, DeviceBuffer? runningStatistics, float momentum)
    {
        var l = Shape(batch, channels, spatial);
        l.Check(x, "x");
        l.Check(y, "y");
        l.CheckChannels(gamma, "gamma");
        l.CheckChannels(beta, "beta");
        l.CheckSaved(saved, "saved");
        l.CheckSaved(runningStatistics, "running statistics", optional: true);
        backend.Bind();
        if (l.Elements == 0)
        {
            return;
        }

        int chunks = ChunksFor(batch, spatial);
        using DeviceBuffer sums = Partials(l, chunks, 1, 0, x, saved, null, null, null);
        Run("batch_norm_mean_f32", channels, I(batch), I(channels), I(spatial), I(chunks), Ptr(sums), Ptr(saved));
        using DeviceBuffer squares = Partials(l, chunks, 1, 1, x, saved, null, null, null);
        Run("batch_norm_variance_f32", channels, I(batch), I(channels), I(spatial), I(chunks), F(epsilon), F(momentum), Ptr(sums), Ptr(squares), Ptr(saved),
            Ptr(runningStatistics));
        Run("batch_norm_apply_f32", l.Elements, I(batch), I(channels), I(spatial), Ptr(x), Ptr(gamma), Ptr(beta), Ptr(saved), Ptr(y));
    }

    /// <inheritdoc />
    public void BatchNormInferenceForward(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer beta,
        DeviceBuffer runningStatistics, float epsilon, DeviceBuffer saved, DeviceBuffer y)
    {
        var l = Shape(batch, channels, spatial);
        l.Check(x, "x");
        l.Check(y, "y");
        l.CheckChannels(gamma, "gamma");
        l.CheckChannels(beta, "beta");
        l.CheckSaved(saved, "saved");
        l.CheckSaved(runningStatistics, "running statistics");
        backend.Bind();
        Run("batch_norm_inference_statistics_f32", channels, I(channels), F(epsilon), Ptr(runningStatistics), Ptr(saved));
        Run("batch_norm_apply_f32", l.Elements, I(batch), I(channels), I(spatial), Ptr(x), Ptr(gamma), Ptr(beta), Ptr(saved), Ptr(y));
    }

    /// <inheritdoc />
    public void BatchNormForwardTangent(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer saved,
        bool batchStatistics, DeviceBuffer? xTangent, DeviceBuffer? gammaTangent, DeviceBuffer? betaTangent, DeviceBuffer yTangent)
    {
        var l = Shape(batch, channels, spatial);
        l.Check(x, "x");
        l.Check(yTangent, "y tangent");
        l.CheckChannels(gamma, "gamma");
        l.CheckSaved(saved, "saved");
        l.Check(xTangent, "x tangent", optional: true);
        l.CheckChannels(gammaTangent, "gamma tangent", optional: true);
        l.CheckChannels(betaTangent, "beta tangent", optional: true);
        backend.Bind();
        if (l.Elements == 0)
        {
            return;
        }

        int chunks = ChunksFor(batch, spatial);
        using DeviceBuffer coef = backend.Allocate(channels * CoefficientsPerChannel);
        using DeviceBuffer? partials = batchStatistics && xTangent is not null ? Partials(l, chunks, 2, 2, x, saved, xTangent, null, null) : null;
        Run("batch_norm_forward_tangent_coefficients_f32", channels, I(batch), I(channels), I(spatial), I(chunks), I(batchStatistics), Ptr(gamma), Ptr(saved),
            Ptr(partials), Ptr(gammaTangent), Ptr(betaTangent), Ptr(coef));
        Run("batch_norm_forward_tangent_apply_f32", l.Elements, I(batch), I(channels), I(spatial), Ptr(x), Ptr(saved), Ptr(xTangent), Ptr(coef), Ptr(yTangent));
    }

    /// <inheritdoc />
    public void BatchNormBackward(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer saved,
        bool batchStatistics, DeviceBuffer dy, DeviceBuffer? dx, DeviceBuffer? dGamma, DeviceBuffer? dBeta)
    {
        var l = Shape(batch, channels, spatial);
        l.Check(x, "x");
        l.Check(dy, "dy");
        l.CheckChannels(gamma, "gamma");
        l.CheckSaved(saved, "saved");
        l.Check(dx, "dx", optional: true);
        l.CheckChannels(dGamma, "dGamma", optional: true);
        l.CheckChannels(dBeta, "dBeta", optional: true);
        backend.Bind();
        if ((dx is null && dGamma is null && dBeta is null) || channels == 0)
        {
            return;
        }

        int chunks = ChunksFor(batch, spatial);
        using DeviceBuffer coef = backend.Allocate(channels * CoefficientsPerChannel);
        using DeviceBuffer partials = Partials(l, chunks, 2, 3, x, saved, dy, null, null);
        Run("batch_norm_backward_coefficients_f32", channels, I(batch), I(channels), I(spatial), I(chunks), I(batchStatistics), Ptr(gamma), Ptr(saved),
            Ptr(partials), Ptr(dGamma), Ptr(dBeta), Ptr(coef));
        if (dx is not null)
        {
            Run("batch_norm_backward_apply_f32", l.Elements, I(batch), I(channels), I(spatial), I(batchStatistics), Ptr(x), Ptr(saved), Ptr(dy), Ptr(coef), Ptr(dx));
        }
    }

    /// <inheritdoc />
    public void BatchNormBackwardTangent(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer saved,
        bool batchStatistics, DeviceBuffer? xTangent, DeviceBuffer? gammaTangent, DeviceBuffer dy, DeviceBuffer? dyTangent,
        DeviceBuffer? dxTangent, DeviceBuffer? dGammaTangent, DeviceBuffer? dBetaTangent)
    {
        var l = Shape(batch, channels, spatial);
        l.Check(x, "x");
        l.Check(dy, "dy");
        l.CheckChannels(gamma, "gamma");
        l.CheckSaved(saved, "saved");
        l.Check(xTangent, "x tangent", optional: true);
        l.CheckChannels(gammaTangent, "gamma tangent", optional: true);
        l.Check(dyTangent, "dy tangent", optional: true);
        l.Check(dxTangent, "dx tangent", optional: true);
        l.CheckChannels(dGammaTangent, "dGamma tangent", optional: true);
        l.CheckChannels(dBetaTangent, "dBeta tangent", optional: true);
        backend.Bind();
        if ((dxTangent is null && dGammaTangent is null && dBetaTangent is null) || channels == 0)
        {
            return;
        }

        int chunks = ChunksFor(batch, spatial);
        using DeviceBuffer coef = backend.Allocate(channels * CoefficientsPerChannel);
        using DeviceBuffer partials = Partials(l, chunks, 7, 4, x, saved, dy, xTangent, dyTangent);
        Run("batch_norm_backward_tangent_coefficients_f32", channels, I(batch), I(channels), I(spatial), I(chunks), I(batchStatistics), Ptr(gamma), Ptr(saved),
            Ptr(partials), Ptr(gammaTangent), Ptr(dGammaTangent), Ptr(dBetaTangent), Ptr(coef));
        if (dxTangent is not null)
        {
            Run("batch_norm_backward_tangent_apply_f32", l.Elements, I(batch), I(channels), I(spatial), I(batchStatistics), Ptr(x), Ptr(saved), Ptr(xTangent),
                Ptr(dy), Ptr(dyTangent), Ptr(coef), Ptr(dxTangent));
        }
    }
}
