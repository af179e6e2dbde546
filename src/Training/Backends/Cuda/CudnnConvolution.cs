using OnePass.Native.Interop;
using OnePass.Training.Tensors;

namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// Float32 NCHW cross-correlations through cuDNN 9's legacy convolution API, on the backend's stream. For each
/// shape (geometry and output channels) it keeps the x, y, filter and convolution descriptors, and chooses each
/// direction's algorithm once, on first use, from cudnnGetConvolution*Algorithm_v7's heuristics: the first
/// supported, deterministic algorithm whose workspace fits <see cref="WorkspaceLimitBytes"/> (a run must be a
/// function of its configuration and seed), else the first supported one that fits. Workspaces come from the
/// backend's memory pool and go back to it as soon as the call is queued (the pool's reuse is stream-ordered).
/// The convolution descriptors ask for FMA math (no TF32), so results match cuBLAS's float32 GEMMs and the CPU.
/// Bound and compiled, but not yet run on a GPU: <c>onepass selftest --backend cuda</c> checks it there.
/// </summary>
internal sealed unsafe class CudnnConvolution : IDisposable
{
    // Command kinds in a replayable region's recording (CudaBackend's kernels, GEMMs, copies and fills use 1 to 4).
    private const ulong CommandForward = 11;
    private const ulong CommandBackwardData = 12;
    private const ulong CommandBackwardFilter = 13;

    /// <summary>The largest workspace an algorithm may ask for.</summary>
    public const long WorkspaceLimitBytes = 1L << 30;

    private const int RequestedAlgorithms = 16;

    private readonly CudnnHandle handle;
    private readonly CudaMemoryPool pool;
    private readonly Action<string> afterCall;
    private readonly SubmitWork submit;
    private readonly Dictionary<(ConvolutionGeometry Geometry, int OutChannels), Plan> plans = [];

    private CudnnConvolution(CudnnHandle handle, CudaMemoryPool pool, Action<string> afterCall, SubmitWork submit, string version)
    {
        this.submit = submit;
        this.handle = handle;
        this.pool = pool;
        this.afterCall = afterCall;
        Version = version;
    }

    /// <summary>The loaded library's version, e.g. "9.1.0".</summary>
    public string Version { get; }

    /// <summary>
    /// Loads cuDNN 9 and creates a handle bound to <paramref name="stream"/> in the current context, or returns null
    /// with the reason in <paramref name="reason"/> (no libcudnn.so.9, a different major version, a failed call).
    /// <paramref name="afterCall"/> runs after every queued cuDNN call (the backend's synchronous-launch check).
    /// </summary>
    public static CudnnConvolution? TryCreate(nint context, nint stream, CudaMemoryPool pool, Action<string> afterCall, SubmitWork submit, out string reason)
    {
        LibrarySearchResult found = NativeLibraryResolver.Find(NativeLibraryResolver.CudnnName);
        if (!found.Found)
        {
            reason = $"no cuDNN ({new CudaLibraryNotFoundException(found).ShortReason})";
            return null;
        }

        CudnnHandle? created = null;
        try
        {
            ulong version = Cudnn.GetVersion();
            if (version / 10000 != 9)
            {
                reason = $"cuDNN {Cudnn.FormatVersion(version)} found where 9.x is needed";
                return null;
            }

            CudaCheck.Cudnn(Cudnn.Create(out nint raw), "cudnnCreate");
            created = new CudnnHandle(raw, context);
            CudaCheck.Cudnn(Cudnn.SetStream(raw, stream), "cudnnSetStream");
            reason = "";
            return new CudnnConvolution(created, pool, afterCall, submit, Cudnn.FormatVersion(version));
        }
        catch (Exception e) when (e is CudaException or EntryPointNotFoundException or DllNotFoundException or BadImageFormatException)
        {
            created?.Dispose();
            reason = $"cuDNN unusable ({e.Message.Split('\n')[0].Trim()})";
            return null;
        }
    }

    /// <summary>y = conv(x, W) + beta·y.</summary>
    public void Forward(DeviceBuffer x, DeviceBuffer weight, ConvolutionGeometry g, int outChannels, DeviceBuffer y, float beta)
    {
        Plan plan = PlanFor(g, outChannels);
        plan.Forward ??= Choose("forward", (Cudnn.AlgorithmPerformance* results, out int returned) =>
            Cudnn.GetConvolutionForwardAlgorithm(handle.Value, plan.X.Value, plan.W.Value, plan.Convolution.Value, plan.Y.Value, RequestedAlgorithms, out returned, results),
            (int algorithm, out nuint bytes) => Cudnn.GetConvolutionForwardWorkspaceSize(handle.Value, plan.X.Value, plan.W.Value, plan.Convolution.Value, plan.Y.Value, algorithm, out bytes),
            "cudnnGetConvolutionForwardAlgorithm_v7", "cudnnGetConvolutionForwardWorkspaceSize");
        var (algo, bytes) = plan.Forward.Value;
        using var workspace = Lend(bytes);
        nint px = Ptr(x), pw = Ptr(weight), py = Ptr(y), pws = workspace.Pointer;
        submit([CommandForward, (ulong)handle.Value, (ulong)plan.X.Value, (ulong)px, (ulong)plan.W.Value, (ulong)pw, (ulong)plan.Convolution.Value, (ulong)algo,
                (ulong)pws, bytes, BitConverter.SingleToUInt32Bits(beta), (ulong)plan.Y.Value, (ulong)py], () =>
        {
            float alpha = 1f, b = beta;
            CudaCheck.Cudnn(Cudnn.ConvolutionForward(handle.Value, &alpha, plan.X.Value, px, plan.W.Value, pw, plan.Convolution.Value, algo,
                pws, bytes, &b, plan.Y.Value, py), "cudnnConvolutionForward");
        });
        afterCall("cudnnConvolutionForward");
    }

    /// <summary>dx += the adjoint of conv(·, W) applied to dy.</summary>
    public void BackwardData(DeviceBuffer dy, DeviceBuffer weight, ConvolutionGeometry g, int outChannels, DeviceBuffer dx)
    {
        Plan plan = PlanFor(g, outChannels);
        plan.BackwardData ??= Choose("backward data", (Cudnn.AlgorithmPerformance* results, out int returned) =>
            Cudnn.GetConvolutionBackwardDataAlgorithm(handle.Value, plan.W.Value, plan.Y.Value, plan.Convolution.Value, plan.X.Value, RequestedAlgorithms, out returned, results),
            (int algorithm, out nuint bytes) => Cudnn.GetConvolutionBackwardDataWorkspaceSize(handle.Value, plan.W.Value, plan.Y.Value, plan.Convolution.Value, plan.X.Value, algorithm, out bytes),
            "cudnnGetConvolutionBackwardDataAlgorithm_v7", "cudnnGetConvolutionBackwardDataWorkspaceSize");
        var (algo, bytes) = plan.BackwardData.Value;
        using var workspace = Lend(bytes);
        nint pw = Ptr(weight), pdy = Ptr(dy), pdx = Ptr(dx), pws = workspace.Pointer;
        submit([CommandBackwardData, (ulong)handle.Value, (ulong)plan.W.Value, (ulong)pw, (ulong)plan.Y.Value, (ulong)pdy, (ulong)plan.Convolution.Value, (ulong)algo,
                (ulong)pws, bytes, (ulong)plan.X.Value, (ulong)pdx], () =>
        {
            float alpha = 1f, beta = 1f;
            CudaCheck.Cudnn(Cudnn.ConvolutionBackwardData(handle.Value, &alpha, plan.W.Value, pw, plan.Y.Value, pdy, plan.Convolution.Value, algo,
                pws, bytes, &beta, plan.X.Value, pdx), "cudnnConvolutionBackwardData");
        });
        afterCall("cudnnConvolutionBackwardData");
    }

    /// <summary>dW += the adjoint of conv(x, ·) applied to dy.</summary>
    public void BackwardFilter(DeviceBuffer x, DeviceBuffer dy, ConvolutionGeometry g, int outChannels, DeviceBuffer dWeight)
    {
        Plan plan = PlanFor(g, outChannels);
        plan.BackwardFilter ??= Choose("backward filter", (Cudnn.AlgorithmPerformance* results, out int returned) =>
            Cudnn.GetConvolutionBackwardFilterAlgorithm(handle.Value, plan.X.Value, plan.Y.Value, plan.Convolution.Value, plan.W.Value, RequestedAlgorithms, out returned, results),
            (int algorithm, out nuint bytes) => Cudnn.GetConvolutionBackwardFilterWorkspaceSize(handle.Value, plan.X.Value, plan.Y.Value, plan.Convolution.Value, plan.W.Value, algorithm, out bytes),
            "cudnnGetConvolutionBackwardFilterAlgorithm_v7", "cudnnGetConvolutionBackwardFilterWorkspaceSize");
        var (algo, bytes) = plan.BackwardFilter.Value;
        using var workspace = Lend(bytes);
        nint px = Ptr(x), pdy = Ptr(dy), pdw = Ptr(dWeight), pws = workspace.Pointer;
        submit([CommandBackwardFilter, (ulong)handle.Value, (ulong)plan.X.Value, (ulong)px, (ulong)plan.Y.Value, (ulong)pdy, (ulong)plan.Convolution.Value, (ulong)algo,
                (ulong)pws, bytes, (ulong)plan.W.Value, (ulong)pdw], () =>
        {
            float alpha = 1f, beta = 1f;
            CudaCheck.Cudnn(Cudnn.ConvolutionBackwardFilter(handle.Value, &alpha, plan.X.Value, px, plan.Y.Value, pdy, plan.Convolution.Value, algo,
                pws, bytes, &beta, plan.W.Value, pdw), "cudnnConvolutionBackwardFilter");
        });
        afterCall("cudnnConvolutionBackwardFilter");
    }

    private static nint Ptr(DeviceBuffer buffer) => (nint)CudaBackend.P(buffer);

    private delegate int AlgorithmQuery(Cudnn.AlgorithmPerformance* results, out int returned);

    private delegate int WorkspaceQuery(int algorithm, out nuint bytes);

    /// <summary>Picks an algorithm from the heuristics (see the class summary) and asks for its exact workspace size.</summary>
    private static (int Algorithm, nuint Bytes) Choose(string direction, AlgorithmQuery query, WorkspaceQuery size, string queryName, string sizeName)
    {
        Cudnn.AlgorithmPerformance* results = stackalloc Cudnn.AlgorithmPerformance[RequestedAlgorithms];
        CudaCheck.Cudnn(query(results, out int returned), queryName);
        var candidates = new List<Cudnn.AlgorithmPerformance>();
        for (int i = 0; i < Math.Min(returned, RequestedAlgorithms); i++)
        {
            if (results[i].Status == 0 && (long)results[i].Memory <= WorkspaceLimitBytes)
            {
                candidates.Add(results[i]);
            }
        }

        if (candidates.Count == 0)
        {
            throw new InvalidOperationException($"cuDNN offers no {direction} convolution algorithm for this shape within a {WorkspaceLimitBytes >> 20} MiB workspace");
        }

        var chosen = candidates.FirstOrDefault(c => c.Determinism == Cudnn.Deterministic, candidates[0]);
        CudaCheck.Cudnn(size(chosen.Algorithm, out nuint bytes), sizeName);
        return (chosen.Algorithm, bytes);
    }

    /// <summary>A pool block of <paramref name="bytes"/> for one call (none for zero bytes); disposing returns it.</summary>
    private Workspace Lend(nuint bytes) => bytes == 0 ? default : new Workspace(pool, pool.Rent((long)bytes, out long bucket), bucket);

    private Plan PlanFor(ConvolutionGeometry g, int outChannels)
    {
        if (!plans.TryGetValue((g, outChannels), out Plan? plan))
        {
            plan = new Plan(g, outChannels);
            plans.Add((g, outChannels), plan);
        }

        return plan;
    }

    /// <summary>Frees the descriptors and the handle.</summary>
    public void Dispose()
    {
        foreach (var plan in plans.Values)
        {
            plan.Dispose();
        }

        plans.Clear();
        handle.Dispose();
    }

    /// <summary>A workspace block lent by the pool for one call.</summary>
    private readonly struct Workspace : IDisposable
    {
        private readonly CudaMemoryPool? pool;
        private readonly DeviceMemoryHandle? block;
        private readonly long bucket;

        public Workspace(CudaMemoryPool pool, DeviceMemoryHandle block, long bucket)
        {
            this.pool = pool;
            this.block = block;
            this.bucket = bucket;
        }

        public nint Pointer => block?.Value ?? 0;

        public void Dispose()
        {
            if (block is not null)
            {
                pool!.Return(block, bucket);
            }
        }
    }

    /// <summary>One shape's descriptors and its chosen algorithms (null until first used).</summary>
    private sealed class Plan : IDisposable
    {
        public Plan(ConvolutionGeometry g, int outChannels)
        {
            var made = new List<CudnnDescriptorHandle>();
            try
            {
                X = Made(made, CudnnDescriptorKind.Tensor);
                CudaCheck.Cudnn(Cudnn.SetTensor4dDescriptor(X.Value, Cudnn.TensorNchw, Cudnn.DataFloat, g.Batch, g.Channels, g.Height, g.Width), "cudnnSetTensor4dDescriptor");
                Y = Made(made, CudnnDescriptorKind.Tensor);
                CudaCheck.Cudnn(Cudnn.SetTensor4dDescriptor(Y.Value, Cudnn.TensorNchw, Cudnn.DataFloat, g.Batch, outChannels, g.OutputHeight, g.OutputWidth), "cudnnSetTensor4dDescriptor");
                W = Made(made, CudnnDescriptorKind.Filter);
                CudaCheck.Cudnn(Cudnn.SetFilter4dDescriptor(W.Value, Cudnn.DataFloat, Cudnn.TensorNchw, outChannels, g.Channels, g.KernelHeight, g.KernelWidth), "cudnnSetFilter4dDescriptor");
                Convolution = Made(made, CudnnDescriptorKind.Convolution);
                CudaCheck.Cudnn(Cudnn.SetConvolution2dDescriptor(Convolution.Value, g.Padding, g.Padding, g.Stride, g.Stride, 1, 1, Cudnn.CrossCorrelation, Cudnn.DataFloat),
                    "cudnnSetConvolution2dDescriptor");
                CudaCheck.Cudnn(Cudnn.SetConvolutionMathType(Convolution.Value, Cudnn.FmaMath), "cudnnSetConvolutionMathType");
            }
            catch
            {
                made.ForEach(d => d.Dispose());
                throw;
            }
        }

        public CudnnDescriptorHandle X { get; }

        public CudnnDescriptorHandle Y { get; }

        public CudnnDescriptorHandle W { get; }

        public CudnnDescriptorHandle Convolution { get; }

        public (int Algorithm, nuint Bytes)? Forward { get; set; }

        public (int Algorithm, nuint Bytes)? BackwardData { get; set; }

        public (int Algorithm, nuint Bytes)? BackwardFilter { get; set; }

        private static CudnnDescriptorHandle Made(List<CudnnDescriptorHandle> made, CudnnDescriptorKind kind)
        {
            var descriptor = CudnnDescriptorHandle.Create(kind);
            made.Add(descriptor);
            return descriptor;
        }

        public void Dispose()
        {
            X.Dispose();
            Y.Dispose();
            W.Dispose();
            Convolution.Dispose();
        }
    }
}

/// <summary>Queues device work through the backend, which records it inside a replayable region (see <see cref="GraphRegions"/>).</summary>
internal delegate void SubmitWork(ReadOnlySpan<ulong> identity, Action issue);
