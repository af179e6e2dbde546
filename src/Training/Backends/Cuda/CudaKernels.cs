using System.Reflection;
using OnePass.Native.Interop;

namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// The kernels of <c>kernels/*.cu</c>, compiled for one device (through the on-disk <see cref="KernelCache"/>)
/// and loaded as modules. Must be created and disposed with the device's context current.
/// </summary>
internal sealed class CudaKernels : IDisposable
{
    /// <summary>The embedded kernel sources, by resource name.</summary>
    public static readonly IReadOnlyList<string> SourceNames =
        ["kernels/elementwise.cu", "kernels/reductions.cu", "kernels/losses.cu", "kernels/optimizers.cu", "kernels/recurrent.cu", "kernels/convolution.cu", "kernels/normalisation.cu"];

    /// <summary>Options passed to NVRTC for every kernel source.</summary>
    public static readonly IReadOnlyList<string> CompileOptions = ["--std=c++17", "-default-device"];

    /// <summary>Every kernel entry point the backend looks up.</summary>
    public static readonly IReadOnlyList<string> FunctionNames = ["fill_f32", "axpy_f32", "scale_f32", "multiply_f32", "multiply_add_f32", "add_row_vector_f32", "add_column_sums_f32", "activation_forward_f32", "activation_backward_f32", "activation_forward_tangent_f32", "activation_backward_tangent_f32", "exp10_f32", "clamp_f32", "dot_partials_f64", "finish_sum_f64", "any_nonfinite_f32", "softmax_xent_forward", "softmax_xent_forward_tangent", "softmax_xent_backward", "softmax_xent_backward_tangent", "argmax_rows_i32", "mse_partials", "mse_backward", "mse_backward_tangent", "sgd_momentum_f32", "adam_step_f32", "embedding_gather_f32", "embedding_scatter_add_f32", "lstm_cell_forward_f32", "lstm_cell_forward_tangent_f32", "lstm_cell_backward_f32", "lstm_cell_backward_tangent_f32",
        "im2col_f32", "col2im_add_f32", "channel_major_to_batch_major_f32", "batch_major_to_channel_major_f32", "add_transposed_f32", "add_channel_sums_f32",
        "max_pool_forward_f32", "max_pool_backward_add_f32", "max_pool_gather_f32", "global_average_pool_forward_f32", "global_average_pool_backward_add_f32",
        "batch_norm_partials_f64", "batch_norm_mean_f32", "batch_norm_variance_f32", "batch_norm_inference_statistics_f32", "batch_norm_apply_f32", "batch_norm_forward_tangent_coefficients_f32",
        "batch_norm_forward_tangent_apply_f32", "batch_norm_backward_coefficients_f32", "batch_norm_backward_apply_f32",
        "batch_norm_backward_tangent_coefficients_f32", "batch_norm_backward_tangent_apply_f32"];

    private readonly List<CudaModuleHandle> modules = [];
    private readonly Dictionary<string, nint> functions = new(StringComparer.Ordinal);

    public CudaKernels(KernelCache cache, string architecture, nint context)
    {
        try
        {
            foreach (string name in SourceNames)
            {
                string source = ReadSource(name);
                byte[] image = cache.GetOrCompile(source, name, architecture, CompileOptions);
                modules.Add(Load(image, context));
            }

            Fill = Get("fill_f32");
            Axpy = Get("axpy_f32");
            Scale = Get("scale_f32");
            Multiply = Get("multiply_f32");
            MultiplyAdd = Get("multiply_add_f32");
            AddRowVector = Get("add_row_vector_f32");
            AddColumnSums = Get("add_column_sums_f32");
            ActivationForward = Get("activation_forward_f32");
            ActivationBackward = Get("activation_backward_f32");
            ActivationForwardTangent = Get("activation_forward_tangent_f32");
            ActivationBackwardTangent = Get("activation_backward_tangent_f32");
            Exp10 = Get("exp10_f32");
            Clamp = Get("clamp_f32");
            DotPartials = Get("dot_partials_f64");
            FinishSum = Get("finish_sum_f64");
            AnyNonFinite = Get("any_nonfinite_f32");
            SoftmaxCrossEntropyForward = Get("softmax_xent_forward");
            SoftmaxCrossEntropyForwardTangent = Get("softmax_xent_forward_tangent");
            SoftmaxCrossEntropyBackward = Get("softmax_xent_backward");
            SoftmaxCrossEntropyBackwardTangent = Get("softmax_xent_backward_tangent");
            ArgMaxRows = Get("argmax_rows_i32");
            MsePartials = Get("mse_partials");
            MseBackward = Get("mse_backward");
            MseBackwardTangent = Get("mse_backward_tangent");
            SgdMomentum = Get("sgd_momentum_f32");
            AdamStep = Get("adam_step_f32");
            EmbeddingGather = Get("embedding_gather_f32");
            EmbeddingScatterAdd = Get("embedding_scatter_add_f32");
            LstmCellForward = Get("lstm_cell_forward_f32");
            LstmCellForwardTangent = Get("lstm_cell_forward_tangent_f32");
            LstmCellBackward = Get("lstm_cell_backward_f32");
            LstmCellBackwardTangent = Get("lstm_cell_backward_tangent_f32");
            foreach (string name in CudaConvolution.KernelNames.Concat(CudaNormalisation.KernelNames))
            {
                Get(name);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public nint Fill { get; }
    public nint Axpy { get; }
    public nint Scale { get; }
    public nint Multiply { get; }
    public nint MultiplyAdd { get; }
    public nint AddRowVector { get; }
    public nint AddColumnSums { get; }
    public nint ActivationForward { get; }
    public nint ActivationBackward { get; }
    public nint ActivationForwardTangent { get; }
    public nint ActivationBackwardTangent { get; }
    public nint Exp10 { get; }
    public nint Clamp { get; }
    public nint DotPartials { get; }
    public nint FinishSum { get; }
    public nint AnyNonFinite { get; }
    public nint SoftmaxCrossEntropyForward { get; }
    public nint SoftmaxCrossEntropyForwardTangent { get; }
    public nint SoftmaxCrossEntropyBackward { get; }
    public nint SoftmaxCrossEntropyBackwardTangent { get; }
    public nint ArgMaxRows { get; }
    public nint MsePartials { get; }
    public nint MseBackward { get; }
    public nint MseBackwardTangent { get; }
    public nint SgdMomentum { get; }
    public nint AdamStep { get; }
    public nint EmbeddingGather { get; }
    public nint EmbeddingScatterAdd { get; }
    public nint LstmCellForward { get; }
    public nint LstmCellForwardTangent { get; }
    public nint LstmCellBackward { get; }
    public nint LstmCellBackwardTangent { get; }

    /// <summary>Reads one embedded kernel source.</summary>
    public static string ReadSource(string resourceName)
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException($"kernel source '{resourceName}' is not embedded in {Assembly.GetExecutingAssembly().GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static unsafe CudaModuleHandle Load(byte[] image, nint context)
    {
        // PTX must be NUL-terminated for cuModuleLoadData; NVRTC's PTX already is, and a CUBIN is self-describing.
        fixed (byte* data = image)
        {
            CudaCheck.Driver(CudaDriver.ModuleLoadData(out nint module, data), "cuModuleLoadData");
            return new CudaModuleHandle(module, context);
        }
    }

    /// <summary>A looked-up kernel by its entry-point name.</summary>
    public nint Function(string name) =>
        functions.TryGetValue(name, out nint function) ? function : throw new InvalidOperationException($"kernel '{name}' is not among the looked-up kernels");

    /// <summary>The entry-point name of a looked-up kernel (for error messages); "kernel 0x…" when unknown.</summary>
    public string NameOf(nint function)
    {
        foreach (var (name, value) in functions)
        {
            if (value == function)
            {
                return name;
            }
        }

        return $"kernel 0x{function:x}";
    }

    private nint Get(string name)
    {
        foreach (var module in modules)
        {
            if (CudaDriver.ModuleGetFunction(out nint function, module.Value, name) == 0)
            {
                functions[name] = function;
                return function;
            }
        }

        throw new InvalidOperationException($"kernel '{name}' was not found in {string.Join(", ", SourceNames)}");
    }

    public void Dispose()
    {
        foreach (var module in modules)
        {
            module.Dispose();
        }

        modules.Clear();
        functions.Clear();
    }
}
