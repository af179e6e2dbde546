using OnePass.Native.Interop;
using OnePass.Training.Tensors;

namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// The GPU backend: device memory from a caching pool, cuBLAS for matrix products, cuDNN 9 for convolutions when it
/// is found (else im2col kernels and cuBLAS) and the NVRTC-compiled kernels of <c>kernels/*.cu</c> for everything
/// else, all queued on one stream. Methods that return host values
/// synchronise. Not thread-safe: one caller at a time (any thread; the context is made current per call).
/// </summary>
public sealed unsafe class CudaBackend : IBackend, ICudaLauncher, IGraphDriver
{
    // Command kinds in a recording's identity (StreamRecording).
    private const ulong CommandKernel = 1;
    private const ulong CommandGemm = 2;
    private const ulong CommandCopy = 3;
    private const ulong CommandMemset = 4;

    private const int BlockSize = 256;
    private const int MaxReductionBlocks = 1024;
    private const long CublasWorkspaceBytes = 32L << 20;

    [ThreadStatic]
    private static nint boundContext;

    private readonly CudaContextHandle context;
    private readonly CudaStreamHandle stream;
    private readonly CublasHandle cublas;
    private readonly CudnnConvolution? cudnn;
    private readonly CudaMemoryPool pool;
    private readonly CudaKernels kernels;
    private readonly DeviceMemoryHandle scratch;
    private readonly DeviceMemoryHandle workspace;
    private readonly ulong partials;
    private readonly ulong resultDouble;
    private readonly ulong resultFlag;
    private readonly ulong indexErrors;
    private readonly bool synchronousLaunches;
    private readonly GraphRegions regions;
    private CudaRecurrent? recurrent;
    private CudaConvolution? convolution;
    private CudaNormalisation? normalisation;
    private bool disposed;

    private CudaBackend(CudaDeviceInfo device, CudaContextHandle context, CudaStreamHandle stream, CublasHandle cublas, CudaMemoryPool pool, CudaKernels kernels, DeviceMemoryHandle scratch, DeviceMemoryHandle workspace, string compilerVersion, TargetArchitecture target, CudnnSetup convolutionLibrary)
    {
        Device = device;
        this.context = context;
        this.stream = stream;
        this.cublas = cublas;
        this.pool = pool;
        this.kernels = kernels;
        this.scratch = scratch;
        this.workspace = workspace;
        partials = scratch.Pointer;
        resultDouble = scratch.Pointer + (MaxReductionBlocks * sizeof(double));
        resultFlag = resultDouble + sizeof(double);
        indexErrors = resultFlag + sizeof(double);
        Target = target;
        synchronousLaunches = SynchronousLaunchesRequested(Environment.GetEnvironmentVariable);
        regions = new GraphRegions(this, line => Console.Error.WriteLine($"onepass: {line}")) { Enabled = !synchronousLaunches };
        cudnn = convolutionLibrary.Create(this);
        if (cudnn is null)
        {
            Console.Error.WriteLine($"onepass: {convolutionLibrary.Reason}; convolutions use the im2col kernels and cuBLAS");
        }

        ConvolutionLibrary = cudnn is null ? "no cuDNN" : $"cuDNN {cudnn.Version}";
        Description = $"CUDA: {device}, {compilerVersion}, {ConvolutionLibrary}"
            + (target.IsPtx ? $", PTX {target.Architecture} (JIT)" : "")
            + (synchronousLaunches ? $", {SyncVariable}=1 (synchronous launches)" : "");
    }

    /// <summary>
    /// The debug switch: when this environment variable is "1" the backend waits for every kernel launch and cuBLAS
    /// call to finish and names the one that failed, at the cost of all overlap between the host and the GPU.
    /// </summary>
    public const string SyncVariable = "ONEPASS_CUDA_SYNC";

    /// <summary>True when <see cref="SyncVariable"/> is set to "1" (or "true", "yes", "on").</summary>
    public static bool SynchronousLaunchesRequested(Func<string, string?> getVariable) =>
        getVariable(SyncVariable)?.Trim().ToLowerInvariant() is "1" or "true" or "yes" or "on";

    /// <summary>
    /// Whether <see cref="Replayable"/> regions run as CUDA graphs (on by default; off with <see cref="SyncVariable"/>,
    /// whose point is to see each launch fail on its own). Turning it off keeps the graphs made so far for later.
    /// </summary>
    public bool GraphsEnabled
    {
        get => regions.Enabled;
        set => regions.Enabled = value && !synchronousLaunches;
    }

    /// <summary>Graphs captured and regions replayed from an earlier capture, for logs and the selftest.</summary>
    public (int Captures, int Replays) GraphStatistics => (regions.Captures, regions.Replays);

    /// <inheritdoc />
    /// <remarks>
    /// The region's device work is recorded, compared with the work of earlier runs of the region, and launched as the
    /// CUDA graph captured from identical work, or captured now (<see cref="GraphRegions"/>). Anything in it that reads
    /// device memory on the host runs it eagerly instead, from then on.
    /// </remarks>
    public void Replayable(string region, Action work)
    {
        Bind();
        regions.Run(region, work);
    }

    IDisposable IGraphDriver.Capture(Action issue)
    {
        CudaCheck.Driver(CudaDriver.StreamBeginCapture(stream.Value, CudaDriver.StreamCaptureModeThreadLocal), "cuStreamBeginCapture_v2");
        nint graph;
        try
        {
            issue();
        }
        catch
        {
            // End the capture whatever happened, so that the stream takes eager work again.
            if (CudaDriver.StreamEndCapture(stream.Value, out graph) == 0 && graph != 0)
            {
                CudaDriver.GraphDestroy(graph);
            }

            throw;
        }

        CudaCheck.Driver(CudaDriver.StreamEndCapture(stream.Value, out graph), "cuStreamEndCapture");
        try
        {
            CudaCheck.Driver(CudaDriver.GraphInstantiateWithFlags(out nint exec, graph, 0), "cuGraphInstantiateWithFlags");
            return new CudaGraphExecHandle(exec, context.Value);
        }
        finally
        {
            CudaDriver.GraphDestroy(graph);
        }
    }

    void IGraphDriver.Launch(IDisposable graph)
    {
        CudaCheck.Driver(CudaDriver.GraphLaunch(((CudaGraphExecHandle)graph).Value, stream.Value), "cuGraphLaunch");
    }

    // Queues one piece of device work, or records it while a replayable region records (its identity must hold every
    // value the work passes to the device).
    private void Submit(ReadOnlySpan<ulong> identity, Action issue)
    {
        if (regions.Active is { } recording)
        {
            recording.Add(identity, issue);
        }
        else
        {
            issue();
        }
    }

    // Before anything that reads or writes host memory or waits for the device: a recording region issues its work first.
    private void HostAccess(string operation) => regions.Break(operation);

    private void CopyAsync(ulong to, ulong from, nuint bytes)
    {
        ulong s = (ulong)stream.Value;
        Submit([CommandCopy, to, from, bytes], () => CudaCheck.Driver(CudaDriver.MemcpyDtoDAsync(to, from, bytes, (nint)s), "cuMemcpyDtoDAsync_v2"));
    }

    private void MemsetAsync(ulong pointer, uint bits, long count)
    {
        ulong s = (ulong)stream.Value;
        Submit([CommandMemset, pointer, bits, (ulong)count],
            () => CudaCheck.Driver(CudaDriver.MemsetD32Async(pointer, bits, (nuint)count, (nint)s), "cuMemsetD32Async"));
    }

    /// <summary>What NVRTC was asked for: the GPU's own CUBIN, or PTX when NVRTC does not know the GPU.</summary>
    public TargetArchitecture Target { get; }

    /// <summary>The bytes of <paramref name="length"/> floats (or int32 ids, the same size), in 64 bits (an int product overflows at 2^29 floats).</summary>
    internal static nuint FloatBytes(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return checked((nuint)length * sizeof(float));
    }

    /// <summary>The device this backend runs on.</summary>
    public CudaDeviceInfo Device { get; }

    /// <inheritdoc />
    public string Name => "cuda";

    /// <inheritdoc />
    /// <remarks>
    /// Convolutions through cuDNN 9 when it was found (else im2col kernels around cuBLAS), pooling and the bias as
    /// hand-written kernels (<c>kernels/convolution.cu</c>): compiled in CI and checked on the host emulator, not yet run
    /// on a GPU: <c>onepass selftest --backend cuda</c> checks them there.
    /// </remarks>
    public IConvolutionKernels Convolution => convolution ??= new CudaConvolution(this, kernels.Function, cudnn);

    /// <summary>The convolution family without cuDNN (im2col kernels and cuBLAS), whether or not cuDNN was found: for tests comparing the two paths.</summary>
    internal IConvolutionKernels ConvolutionWithoutCudnn() => new CudaConvolution(this, kernels.Function);

    /// <summary>What runs the convolutions: "cuDNN 9.x.y", or "no cuDNN" (im2col kernels and cuBLAS).</summary>
    public string ConvolutionLibrary { get; }

    /// <inheritdoc />
    /// <remarks>Hand-written kernels (<c>kernels/normalisation.cu</c>), compiled in CI and checked on the host emulator, not yet run on a GPU: <c>onepass selftest --backend cuda</c> checks them there.</remarks>
    public INormalisationKernels Normalisation => normalisation ??= new CudaNormalisation(this, kernels.Function);

    /// <inheritdoc />
    /// <remarks>Hand-written kernels (<c>kernels/recurrent.cu</c>), compiled in CI and checked on the host emulator, not yet run on a GPU: <c>onepass selftest --backend cuda</c> checks them there.</remarks>
    public IRecurrentKernels Recurrent => recurrent ??= new CudaRecurrent(this, kernels.Function);

    /// <inheritdoc />
    public string Description { get; }

    /// <summary>How many times the memory pool called cuMemAlloc (flat after warm-up).</summary>
    public int DeviceAllocations => pool.DeviceAllocations;

    /// <summary>
    /// Starts the backend on device <paramref name="ordinal"/>: retains its primary context, creates a stream and a
    /// cuBLAS handle, and compiles (or loads from the kernel cache) the kernels for the device's architecture.
    /// </summary>
    public static CudaBackend Create(int ordinal = 0, KernelCache? cache = null)
    {
        CudaDeviceInfo device = CudaDeviceInfo.Query(ordinal);
        var disposables = new Stack<IDisposable>();
        try
        {
            var context = CudaContextHandle.RetainPrimary(device.Device);
            disposables.Push(context);
            context.MakeCurrent();
            boundContext = context.Value;

            CudaCheck.Driver(CudaDriver.StreamCreate(out nint rawStream, CudaDriver.StreamNonBlocking), "cuStreamCreate");
            var stream = new CudaStreamHandle(rawStream, context.Value);
            disposables.Push(stream);

            var pool = new CudaMemoryPool(context.Value);
            disposables.Push(pool);
            // Reduction partials, a double result, a flag (in 8 bytes) and the index-error record (4 ints).
            var scratch = pool.Rent((MaxReductionBlocks + 4) * sizeof(double), out _);
            var workspace = pool.Rent(CublasWorkspaceBytes, out _);

            CudaCheck.Cublas(Cublas.Create(out nint rawCublas), "cublasCreate_v2");
            var cublas = new CublasHandle(rawCublas, context.Value);
            disposables.Push(cublas);
            CudaCheck.Cublas(Cublas.SetStream(rawCublas, rawStream), "cublasSetStream_v2");
            CudaCheck.Cublas(Cublas.SetPointerMode(rawCublas, Cublas.PointerModeHost), "cublasSetPointerMode_v2");
            CudaCheck.Cublas(Cublas.SetWorkspace(rawCublas, workspace.Value, (nuint)CublasWorkspaceBytes), "cublasSetWorkspace_v2");

            cache ??= KernelCache.CreateDefault();
            TargetArchitecture target = TargetArchitecture.Choose(device.Major, device.Minor, NvrtcCompiler.SupportedArchitectures(), NvrtcCompiler.Version());
            if (target.Note is { } note)
            {
                Console.Error.WriteLine($"onepass: {note}");
            }

            var kernels = new CudaKernels(cache, target.Architecture, context.Value);
            CudaCheck.Driver(CudaDriver.MemsetD32Async(scratch.Pointer + ((MaxReductionBlocks + 2) * sizeof(double)), 0, 4, rawStream), "cuMemsetD32Async");
            return new CudaBackend(device, context, stream, cublas, pool, kernels, scratch, workspace, cache.CompilerVersion, target,
                new CudnnSetup(context.Value, rawStream, pool));
        }
        catch
        {
            while (disposables.Count > 0)
            {
                disposables.Pop().Dispose();
            }

            throw;
        }
    }

    void ICudaLauncher.Bind() => Bind();

    void ICudaLauncher.Gemm(bool transposeA, bool transposeB, int m, int n, int k, float alpha, DeviceBuffer a, DeviceBuffer b, float beta, DeviceBuffer c) =>
        Gemm(transposeA, transposeB, m, n, k, alpha, a, b, beta, c);

    // What the constructor needs to create the cuDNN half (after the fields its after-call check reads are set).
    private sealed class CudnnSetup(nint context, nint stream, CudaMemoryPool pool)
    {
        public string Reason { get; private set; } = "";

        public CudnnConvolution? Create(CudaBackend backend)
        {
            var created = CudnnConvolution.TryCreate(context, stream, pool, what =>
            {
                if (backend.synchronousLaunches)
                {
                    backend.AfterLaunch(what);
                }
            }, backend.Submit, out string reason);
            Reason = reason;
            return created;
        }
    }

    /// <inheritdoc />
    ulong ICudaLauncher.IndexErrors => indexErrors;

    void ICudaLauncher.Launch(nint function, uint grid, params ReadOnlySpan<KernelArgument> arguments) => Launch(function, grid, arguments);

    private void Bind()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (boundContext != context.Value)
        {
            context.MakeCurrent();
            boundContext = context.Value;
        }
    }

    internal static ulong P(DeviceBuffer buffer) =>
        buffer is CudaBuffer cuda ? cuda.Pointer : throw new ArgumentException($"buffer of type {buffer.GetType().Name} was not allocated by the CUDA backend");

    internal static ulong P(DeviceBuffer? buffer, bool nullable) => buffer is null && nullable ? 0 : P(buffer!);

    internal static ulong P(IndexBuffer buffer) =>
        buffer is CudaIndexBuffer cuda ? cuda.Pointer : throw new ArgumentException($"index buffer of type {buffer.GetType().Name} was not allocated by the CUDA backend");

    private static void SameLength(DeviceBuffer a, DeviceBuffer b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"buffer lengths differ: {a.Length} and {b.Length}");
        }
    }

    private static void AtLeast(DeviceBuffer buffer, long length, string name)
    {
        if (buffer.Length < length)
        {
            throw new ArgumentException($"{name} has {buffer.Length} elements; {length} are needed");
        }
    }

    private static void AtLeast(IndexBuffer buffer, long length, string name)
    {
        if (buffer.Length < length)
        {
            throw new ArgumentException($"{name} has {buffer.Length} elements; {length} are needed");
        }
    }

    internal static uint GridFor(long work) => (uint)Math.Clamp((work + BlockSize - 1) / BlockSize, 1, 65535);

    private static uint ReductionGridFor(long work) => (uint)Math.Clamp((work + BlockSize - 1) / BlockSize, 1, MaxReductionBlocks);

    private void Launch(nint function, uint grid, params ReadOnlySpan<KernelArgument> arguments)
    {
        if (regions.Active is { } recording)
        {
            Span<ulong> identity = stackalloc ulong[arguments.Length + 3];
            identity[0] = CommandKernel;
            identity[1] = (ulong)function;
            identity[2] = grid;
            for (int i = 0; i < arguments.Length; i++)
            {
                identity[i + 3] = arguments[i].Bits;
            }

            KernelArgument[] kept = arguments.ToArray();
            recording.Add(identity, () => LaunchNow(function, grid, kept));
            return;
        }

        LaunchNow(function, grid, arguments);
    }

    private void LaunchNow(nint function, uint grid, ReadOnlySpan<KernelArgument> arguments)
    {
        ulong* values = stackalloc ulong[arguments.Length];
        void** pointers = stackalloc void*[arguments.Length];
        for (int i = 0; i < arguments.Length; i++)
        {
            values[i] = arguments[i].Bits;
            pointers[i] = &values[i];
        }

        int status = CudaDriver.LaunchKernel(function, grid, 1, 1, BlockSize, 1, 1, 0, stream.Value, pointers, null);
        if (status != 0)
        {
            throw new CudaException(CudaLibraryKind.Driver, "cuLaunchKernel", status, $"launching {kernels.NameOf(function)} (grid {grid}, block {BlockSize})");
        }

        if (synchronousLaunches)
        {
            AfterLaunch(kernels.NameOf(function));
        }
    }

    // ONEPASS_CUDA_SYNC=1: wait for the work just queued, so an asynchronous fault is reported against it.
    private void AfterLaunch(string what)
    {
        int status = CudaDriver.StreamSynchronize(stream.Value);
        if (status != 0)
        {
            throw new CudaException(CudaLibraryKind.Driver, "cuStreamSynchronize", status, $"after {what} ({SyncVariable}=1)");
        }
    }

    private static KernelArgument I(int value) => KernelArgument.Int(value);

    private static KernelArgument F(float value) => KernelArgument.Float(value);

    private static KernelArgument Ptr(ulong pointer) => KernelArgument.Pointer(pointer);

    // Waits for the stream, then throws if a kernel recorded an invalid token id or label since the last check
    // (kernels cannot throw; they record the first one in indexErrors, and every synchronising call looks).
    private void Sync()
    {
        HostAccess("cuStreamSynchronize");
        int* record = stackalloc int[4];
        CudaCheck.Driver(CudaDriver.MemcpyDtoHAsync(record, indexErrors, 4 * sizeof(int), stream.Value), "cuMemcpyDtoHAsync_v2");
        CudaCheck.Driver(CudaDriver.StreamSynchronize(stream.Value), "cuStreamSynchronize");
        if (record[0] != 0)
        {
            CudaCheck.Driver(CudaDriver.MemsetD32Async(indexErrors, 0, 4, stream.Value), "cuMemsetD32Async");
            throw new ArgumentException(IndexErrorMessage(record[0], record[1], record[2], record[3]));
        }
    }

    /// <summary>The error for an index-error record (kind, value, bound, position) left by a kernel.</summary>
    internal static string IndexErrorMessage(int kind, int value, int bound, int position) => kind switch
    {
        1 or 2 => $"token id {value} at position {position} is not in [0, {bound}) (found on the device by {(kind == 1 ? "the embedding gather" : "the embedding scatter-add")}, reported at the next synchronising call)",
        3 => $"label {value} of row {position} is not a class index in [0, {bound}) (found on the device by the softmax cross-entropy, reported at the next synchronising call)",
        _ => $"a kernel recorded an invalid index {value} at position {position} (bound {bound}, kind {kind})",
    };

    // Reduces the double partials left by a reduction kernel into one value: a double in the scratch area, or a float at lossPointer.
    private void Finish(uint blocks, double scale, ulong doubleOut, ulong floatOut) =>
        Launch(kernels.FinishSum, 1, I((int)blocks), Ptr(partials), KernelArgument.Double(scale), Ptr(doubleOut), Ptr(floatOut));

    private double DownloadResultDouble()
    {
        double value;
        HostAccess("a reduction read back");
        CudaCheck.Driver(CudaDriver.MemcpyDtoHAsync(&value, resultDouble, sizeof(double), stream.Value), "cuMemcpyDtoHAsync_v2");
        Sync();
        return value;
    }

    // ---- memory ---------------------------------------------------------------------------------------------

    /// <inheritdoc />
    public DeviceBuffer Allocate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Bind();
        var block = pool.Rent(Math.Max(1L, length) * sizeof(float), out long bucket);
        var buffer = new CudaBuffer(pool, block, bucket, length);
        if (length > 0)
        {
            MemsetAsync(buffer.Pointer, 0, length);
        }

        return buffer;
    }

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<float> source, DeviceBuffer destination)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"upload of {source.Length} values into a buffer of {destination.Length}");
        }

        Bind();
        if (source.Length == 0)
        {
            return;
        }

        // From pageable memory the driver stages the data before returning, so the span may be reused at once.
        HostAccess("an upload");
        fixed (float* host = source)
        {
            CudaCheck.Driver(CudaDriver.MemcpyHtoDAsync(P(destination), host, FloatBytes(source.Length), stream.Value), "cuMemcpyHtoDAsync_v2");
        }
    }

    /// <inheritdoc />
    public void Download(DeviceBuffer source, Span<float> destination)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"download of a buffer of {source.Length} values into {destination.Length}");
        }

        Bind();
        if (destination.Length == 0)
        {
            Sync();
            return;
        }

        HostAccess("a download");
        fixed (float* host = destination)
        {
            CudaCheck.Driver(CudaDriver.MemcpyDtoHAsync(host, P(source), FloatBytes(destination.Length), stream.Value), "cuMemcpyDtoHAsync_v2");
            Sync();
        }
    }

    /// <inheritdoc />
    public IndexBuffer AllocateIndices(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Bind();
        var block = pool.Rent(Math.Max(1L, length) * sizeof(int), out long bucket);
        var buffer = new CudaIndexBuffer(pool, block, bucket, length);
        if (length > 0)
        {
            MemsetAsync(buffer.Pointer, 0, length);
        }

        return buffer;
    }

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<int> source, IndexBuffer destination)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"upload of {source.Length} ids into an index buffer of {destination.Length}");
        }

        Bind();
        if (source.Length == 0)
        {
            return;
        }

        HostAccess("an upload");
        fixed (int* host = source)
        {
            CudaCheck.Driver(CudaDriver.MemcpyHtoDAsync(P(destination), host, FloatBytes(source.Length), stream.Value), "cuMemcpyHtoDAsync_v2");
        }
    }

    /// <inheritdoc />
    public void Download(IndexBuffer source, Span<int> destination)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"download of an index buffer of {source.Length} ids into {destination.Length}");
        }

        Bind();
        if (destination.Length == 0)
        {
            Sync();
            return;
        }

        HostAccess("a download");
        fixed (int* host = destination)
        {
            CudaCheck.Driver(CudaDriver.MemcpyDtoHAsync(host, P(source), FloatBytes(destination.Length), stream.Value), "cuMemcpyDtoHAsync_v2");
            Sync();
        }
    }

    /// <inheritdoc />
    public void Copy(IndexBuffer source, IndexBuffer destination)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"index buffer lengths differ: {source.Length} and {destination.Length}");
        }

        Bind();
        if (source.Length > 0)
        {
            CopyAsync(P(destination), P(source), FloatBytes(source.Length));
        }
    }

    /// <inheritdoc />
    public void Copy(DeviceBuffer source, DeviceBuffer destination)
    {
        SameLength(source, destination);
        Bind();
        if (source.Length > 0)
        {
            CopyAsync(P(destination), P(source), FloatBytes(source.Length));
        }
    }

    /// <inheritdoc />
    public void Fill(DeviceBuffer buffer, float value)
    {
        Bind();
        if (buffer.Length > 0)
        {
            MemsetAsync(P(buffer), BitConverter.SingleToUInt32Bits(value), buffer.Length);
        }
    }

    /// <summary>Sets every element with the fill kernel rather than a memset (kept for graph-capture friendliness and tests).</summary>
    internal void FillWithKernel(DeviceBuffer buffer, float value)
    {
        Bind();
        if (buffer.Length > 0)
        {
            Launch(kernels.Fill, GridFor(buffer.Length), I(buffer.Length), F(value), Ptr(P(buffer)));
        }
    }

    /// <inheritdoc />
    public void Synchronize()
    {
        Bind();
        Sync();
    }

    // ---- linear algebra -------------------------------------------------------------------------------------

    /// <inheritdoc />
    public void Gemm(bool transposeA, bool transposeB, int m, int n, int k, float alpha, DeviceBuffer a, DeviceBuffer b, float beta, DeviceBuffer c)
    {
        if (a.Length < (long)m * k || b.Length < (long)k * n || c.Length < (long)m * n)
        {
            throw new ArgumentException($"GEMM {m}x{k} by {k}x{n} does not fit buffers of {a.Length}, {b.Length}, {c.Length}");
        }

        Bind();
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0 || alpha == 0f)
        {
            DeviceBuffer target = c.Slice(0, m * n);
            if (beta == 0f)
            {
                Fill(target, 0f);
            }
            else if (beta != 1f)
            {
                Scale(beta, target);
            }

            return;
        }

        // Row-major C (m×n) is column-major Cᵀ (n×m), and Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands, keep each one's
        // transpose flag. Row-major B stored k×n is column-major n×k with leading dimension n (k when stored n×k);
        // likewise A has leading dimension k (m when stored k×m).
        int opB = transposeB ? Cublas.OperationTranspose : Cublas.OperationNone;
        int opA = transposeA ? Cublas.OperationTranspose : Cublas.OperationNone;
        int ldb = transposeB ? k : n;
        int lda = transposeA ? m : k;
        ulong pa = P(a), pb = P(b), pc = P(c);
        Submit([CommandGemm, (ulong)opA, (ulong)opB, (ulong)m, (ulong)n, (ulong)k, BitConverter.SingleToUInt32Bits(alpha), pa, (ulong)lda, pb, (ulong)ldb,
                BitConverter.SingleToUInt32Bits(beta), pc],
            () => SgemmNow(opB, opA, n, m, k, alpha, pb, ldb, pa, lda, beta, pc));
        if (synchronousLaunches)
        {
            AfterLaunch($"cublasSgemm_v2 ({m}x{k} by {k}x{n})");
        }
    }

    private void SgemmNow(int opB, int opA, int n, int m, int k, float alpha, ulong b, int ldb, ulong a, int lda, float beta, ulong c) =>
        CudaCheck.Cublas(Cublas.Sgemm(cublas.Value, opB, opA, n, m, k, &alpha, (nint)b, ldb, (nint)a, lda, &beta, (nint)c, n), "cublasSgemm_v2");

    /// <inheritdoc />
    public void Axpy(float alpha, DeviceBuffer x, DeviceBuffer y)
    {
        SameLength(x, y);
        Bind();
        if (x.Length > 0)
        {
            Launch(kernels.Axpy, GridFor(x.Length), I(x.Length), F(alpha), Ptr(P(x)), Ptr(P(y)));
        }
    }

    /// <inheritdoc />
    public void Scale(float alpha, DeviceBuffer x)
    {
        Bind();
        if (x.Length > 0)
        {
            Launch(kernels.Scale, GridFor(x.Length), I(x.Length), F(alpha), Ptr(P(x)));
        }
    }

    /// <inheritdoc />
    public void Multiply(DeviceBuffer a, DeviceBuffer b, DeviceBuffer result)
    {
        SameLength(a, b);
        SameLength(a, result);
        Bind();
        if (a.Length > 0)
        {
            Launch(kernels.Multiply, GridFor(a.Length), I(a.Length), Ptr(P(a)), Ptr(P(b)), Ptr(P(result)));
        }
    }

    /// <inheritdoc />
    public void MultiplyAdd(float alpha, DeviceBuffer a, DeviceBuffer b, DeviceBuffer result)
    {
        SameLength(a, b);
        SameLength(a, result);
        Bind();
        if (a.Length > 0)
        {
            Launch(kernels.MultiplyAdd, GridFor(a.Length), I(a.Length), F(alpha), Ptr(P(a)), Ptr(P(b)), Ptr(P(result)));
        }
    }

    /// <inheritdoc />
    public double Dot(DeviceBuffer x, DeviceBuffer y)
    {
        SameLength(x, y);
        Bind();
        uint blocks = ReductionGridFor(x.Length);
        Launch(kernels.DotPartials, blocks, I(x.Length), Ptr(P(x)), Ptr(P(y)), Ptr(partials));
        Finish(blocks, 1.0, resultDouble, 0);
        return DownloadResultDouble();
    }

    /// <inheritdoc />
    public double Sum(DeviceBuffer x)
    {
        Bind();
        uint blocks = ReductionGridFor(x.Length);
        Launch(kernels.DotPartials, blocks, I(x.Length), Ptr(P(x)), Ptr(0), Ptr(partials));
        Finish(blocks, 1.0, resultDouble, 0);
        return DownloadResultDouble();
    }

    /// <inheritdoc />
    public bool AllFinite(DeviceBuffer x)
    {
        Bind();
        MemsetAsync(resultFlag, 0, 1);
        if (x.Length > 0)
        {
            Launch(kernels.AnyNonFinite, GridFor(x.Length), I(x.Length), Ptr(P(x)), Ptr(resultFlag));
        }

        uint flag;
        HostAccess("a finiteness check read back");
        CudaCheck.Driver(CudaDriver.MemcpyDtoHAsync(&flag, resultFlag, sizeof(uint), stream.Value), "cuMemcpyDtoHAsync_v2");
        Sync();
        return flag == 0;
    }

    // ---- layers ---------------------------------------------------------------------------------------------

    /// <inheritdoc />
    public void AddRowVector(DeviceBuffer matrix, int rows, int cols, DeviceBuffer row)
    {
        AtLeast(matrix, (long)rows * cols, "matrix");
        AtLeast(row, cols, "row");
        Bind();
        if ((long)rows * cols > 0)
        {
            Launch(kernels.AddRowVector, GridFor((long)rows * cols), I(rows), I(cols), Ptr(P(matrix)), Ptr(P(row)));
        }
    }

    /// <inheritdoc />
    public void AddColumnSums(DeviceBuffer matrix, int rows, int cols, DeviceBuffer result)
    {
        AtLeast(matrix, (long)rows * cols, "matrix");
        AtLeast(result, cols, "result");
        Bind();
        if (cols > 0)
        {
            Launch(kernels.AddColumnSums, GridFor(cols), I(rows), I(cols), Ptr(P(matrix)), Ptr(P(result)));
        }
    }

    private static int Code(Activation f) => f switch
    {
        Activation.Relu => 0,
        Activation.Tanh => 1,
        Activation.Sigmoid => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(f), f, null),
    };

    /// <inheritdoc />
    public void ActivationForward(Activation f, DeviceBuffer x, DeviceBuffer y)
    {
        SameLength(x, y);
        int code = Code(f);
        Bind();
        if (x.Length > 0)
        {
            Launch(kernels.ActivationForward, GridFor(x.Length), I(x.Length), I(code), Ptr(P(x)), Ptr(P(y)));
        }
    }

    /// <inheritdoc />
    public void ActivationBackward(Activation f, DeviceBuffer x, DeviceBuffer y, DeviceBuffer dy, DeviceBuffer dx)
    {
        AtLeast(x, dx.Length, "x");
        AtLeast(y, dx.Length, "y");
        AtLeast(dy, dx.Length, "dy");
        int code = Code(f);
        Bind();
        if (dx.Length > 0)
        {
            Launch(kernels.ActivationBackward, GridFor(dx.Length), I(dx.Length), I(code), Ptr(P(x)), Ptr(P(y)), Ptr(P(dy)), Ptr(P(dx)));
        }
    }

    /// <inheritdoc />
    public void ActivationForwardTangent(Activation f, DeviceBuffer x, DeviceBuffer y, DeviceBuffer xTangent, DeviceBuffer yTangent)
    {
        AtLeast(x, yTangent.Length, "x");
        AtLeast(y, yTangent.Length, "y");
        AtLeast(xTangent, yTangent.Length, "xTangent");
        int code = Code(f);
        Bind();
        if (yTangent.Length > 0)
        {
            Launch(kernels.ActivationForwardTangent, GridFor(yTangent.Length), I(yTangent.Length), I(code), Ptr(P(x)), Ptr(P(y)), Ptr(P(xTangent)), Ptr(P(yTangent)));
        }
    }

    /// <inheritdoc />
    public void ActivationBackwardTangent(Activation f, DeviceBuffer x, DeviceBuffer y, DeviceBuffer? xTangent, DeviceBuffer dy, DeviceBuffer dyTangent, DeviceBuffer dxTangent)
    {
        int n = dxTangent.Length;
        AtLeast(x, n, "x");
        AtLeast(y, n, "y");
        AtLeast(dy, n, "dy");
        AtLeast(dyTangent, n, "dyTangent");
        if (xTangent is not null)
        {
            AtLeast(xTangent, n, "xTangent");
        }

        int code = Code(f);
        Bind();
        if (n > 0)
        {
            Launch(kernels.ActivationBackwardTangent, GridFor(n), I(n), I(code), Ptr(P(x)), Ptr(P(y)), Ptr(P(xTangent, nullable: true)), Ptr(P(dy)), Ptr(P(dyTangent)), Ptr(P(dxTangent)));
        }
    }

    // ---- losses ---------------------------------------------------------------------------------------------

    private static void CheckClassification(DeviceBuffer rowsByClasses, IndexBuffer labels, int rows, int classes, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        AtLeast(rowsByClasses, (long)rows * classes, name);
        AtLeast(labels, rows, "labels");
    }

    /// <inheritdoc />
    /// <remarks>
    /// An invalid label makes the loss NaN and is recorded on the device (labels stay there), so the backend throws at
    /// its next synchronising call (reading the loss, a download) rather than at once as the CPU backend does.
    /// </remarks>
    public void SoftmaxCrossEntropyForward(DeviceBuffer logits, IndexBuffer labels, int rows, int classes, DeviceBuffer probabilities, DeviceBuffer loss)
    {
        CheckClassification(logits, labels, rows, classes, "logits");
        AtLeast(probabilities, (long)rows * classes, "probabilities");
        AtLeast(loss, 1, "loss");
        Bind();
        uint blocks = (uint)Math.Clamp(rows, 1, MaxReductionBlocks);
        Launch(kernels.SoftmaxCrossEntropyForward, blocks, I(rows), I(classes), Ptr(P(logits)), Ptr(P(labels)), Ptr(P(probabilities)), Ptr(partials), Ptr(indexErrors));
        Finish(blocks, 1.0 / rows, 0, P(loss));
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropyForwardTangent(DeviceBuffer probabilities, IndexBuffer labels, DeviceBuffer logitsTangent, int rows, int classes, DeviceBuffer lossTangent)
    {
        CheckClassification(probabilities, labels, rows, classes, "probabilities");
        AtLeast(logitsTangent, (long)rows * classes, "logitsTangent");
        AtLeast(lossTangent, 1, "lossTangent");
        Bind();
        uint blocks = (uint)Math.Clamp(rows, 1, MaxReductionBlocks);
        Launch(kernels.SoftmaxCrossEntropyForwardTangent, blocks, I(rows), I(classes), Ptr(P(probabilities)), Ptr(P(labels)), Ptr(P(logitsTangent)), Ptr(partials));
        Finish(blocks, 1.0 / rows, 0, P(lossTangent));
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropyBackward(DeviceBuffer probabilities, IndexBuffer labels, int rows, int classes, DeviceBuffer dLoss, DeviceBuffer dLogits)
    {
        CheckClassification(probabilities, labels, rows, classes, "probabilities");
        AtLeast(dLogits, (long)rows * classes, "dLogits");
        AtLeast(dLoss, 1, "dLoss");
        Bind();
        long work = (long)rows * classes;
        if (work > 0)
        {
            Launch(kernels.SoftmaxCrossEntropyBackward, GridFor(work), I(rows), I(classes), Ptr(P(probabilities)), Ptr(P(labels)), Ptr(P(dLoss)), Ptr(P(dLogits)));
        }
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropyBackwardTangent(DeviceBuffer probabilities, IndexBuffer labels, DeviceBuffer? logitsTangent, int rows, int classes, DeviceBuffer dLoss, DeviceBuffer? dLossTangent, DeviceBuffer dLogitsTangent)
    {
        CheckClassification(probabilities, labels, rows, classes, "probabilities");
        AtLeast(dLogitsTangent, (long)rows * classes, "dLogitsTangent");
        AtLeast(dLoss, 1, "dLoss");
        if (logitsTangent is not null)
        {
            AtLeast(logitsTangent, (long)rows * classes, "logitsTangent");
        }

        Bind();
        if (rows == 0 || (logitsTangent is null && dLossTangent is null))
        {
            return;
        }

        uint blocks = (uint)Math.Clamp(rows, 1, 65535);
        Launch(kernels.SoftmaxCrossEntropyBackwardTangent, blocks, I(rows), I(classes), Ptr(P(probabilities)), Ptr(P(labels)),
            Ptr(P(logitsTangent, nullable: true)), Ptr(P(dLoss)), Ptr(P(dLossTangent, nullable: true)), Ptr(P(dLogitsTangent)));
    }

    private static void CheckArgMax(DeviceBuffer logits, int rows, int classes, IndexBuffer ids, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        AtLeast(logits, (long)rows * classes, "logits");
        AtLeast(ids, rows, name);
    }

    /// <inheritdoc />
    public void ArgMax(DeviceBuffer logits, int rows, int classes, IndexBuffer result)
    {
        CheckArgMax(logits, rows, classes, result, "result");
        Bind();
        if (rows > 0)
        {
            Launch(kernels.ArgMaxRows, GridFor(rows), I(rows), I(classes), Ptr(P(logits)), Ptr(P(result)), Ptr(0), Ptr(0));
        }
    }

    /// <inheritdoc />
    /// <remarks>Counts in the scratch area's 64-bit result slot and reads back those 8 bytes only.</remarks>
    public long CountCorrect(DeviceBuffer logits, IndexBuffer labels, int rows, int classes)
    {
        CheckArgMax(logits, rows, classes, labels, "labels");
        Bind();
        MemsetAsync(resultDouble, 0, 2);
        if (rows > 0)
        {
            Launch(kernels.ArgMaxRows, GridFor(rows), I(rows), I(classes), Ptr(P(logits)), Ptr(0), Ptr(P(labels)), Ptr(resultDouble));
        }

        ulong count;
        HostAccess("a correct-prediction count read back");
        CudaCheck.Driver(CudaDriver.MemcpyDtoHAsync(&count, resultDouble, sizeof(ulong), stream.Value), "cuMemcpyDtoHAsync_v2");
        Sync();
        return checked((long)count);
    }

    /// <inheritdoc />
    public void MeanSquaredErrorForward(DeviceBuffer prediction, DeviceBuffer target, DeviceBuffer loss)
    {
        SameLength(prediction, target);
        AtLeast(loss, 1, "loss");
        Bind();
        uint blocks = ReductionGridFor(prediction.Length);
        Launch(kernels.MsePartials, blocks, I(prediction.Length), Ptr(P(prediction)), Ptr(P(target)), Ptr(0), Ptr(partials));
        Finish(blocks, 1.0 / prediction.Length, 0, P(loss));
    }

    /// <inheritdoc />
    public void MeanSquaredErrorForwardTangent(DeviceBuffer prediction, DeviceBuffer target, DeviceBuffer predictionTangent, DeviceBuffer lossTangent)
    {
        SameLength(prediction, target);
        AtLeast(predictionTangent, prediction.Length, "predictionTangent");
        AtLeast(lossTangent, 1, "lossTangent");
        Bind();
        uint blocks = ReductionGridFor(prediction.Length);
        Launch(kernels.MsePartials, blocks, I(prediction.Length), Ptr(P(prediction)), Ptr(P(target)), Ptr(P(predictionTangent)), Ptr(partials));
        Finish(blocks, 2.0 / prediction.Length, 0, P(lossTangent));
    }

    /// <inheritdoc />
    public void MeanSquaredErrorBackward(DeviceBuffer prediction, DeviceBuffer target, DeviceBuffer dLoss, DeviceBuffer dPrediction)
    {
        SameLength(prediction, target);
        AtLeast(dPrediction, prediction.Length, "dPrediction");
        AtLeast(dLoss, 1, "dLoss");
        Bind();
        if (prediction.Length > 0)
        {
            Launch(kernels.MseBackward, GridFor(prediction.Length), I(prediction.Length), Ptr(P(prediction)), Ptr(P(target)), Ptr(P(dLoss)), Ptr(P(dPrediction)));
        }
    }

    /// <inheritdoc />
    public void MeanSquaredErrorBackwardTangent(DeviceBuffer prediction, DeviceBuffer target, DeviceBuffer? predictionTangent, DeviceBuffer dLoss, DeviceBuffer? dLossTangent, DeviceBuffer dPredictionTangent)
    {
        SameLength(prediction, target);
        AtLeast(dPredictionTangent, prediction.Length, "dPredictionTangent");
        AtLeast(dLoss, 1, "dLoss");
        if (predictionTangent is not null)
        {
            AtLeast(predictionTangent, prediction.Length, "predictionTangent");
        }

        Bind();
        if (prediction.Length == 0 || (predictionTangent is null && dLossTangent is null))
        {
            return;
        }

        Launch(kernels.MseBackwardTangent, GridFor(prediction.Length), I(prediction.Length), Ptr(P(prediction)), Ptr(P(target)),
            Ptr(P(predictionTangent, nullable: true)), Ptr(P(dLoss)), Ptr(P(dLossTangent, nullable: true)), Ptr(P(dPredictionTangent)));
    }

    // ---- update rules and hyperparameters -------------------------------------------------------------------

    private static (ulong Pointer, float Scalar) Hyper(HyperValue value, DeviceBuffer weights, string name)
    {
        if (value.IsScalar)
        {
            return (0, value.Scalar);
        }

        if (value.PerElement!.Length != weights.Length)
        {
            throw new ArgumentException($"per-element {name} has {value.PerElement.Length} values for {weights.Length} weights");
        }

        return (P(value.PerElement), 0f);
    }

    /// <inheritdoc />
    public void SgdMomentumStep(DeviceBuffer weights, DeviceBuffer gradient, DeviceBuffer velocity, HyperValue learningRate, HyperValue weightDecay, HyperValue momentum)
    {
        SameLength(weights, gradient);
        SameLength(weights, velocity);
        var lr = Hyper(learningRate, weights, "learning rate");
        var wd = Hyper(weightDecay, weights, "weight decay");
        var mu = Hyper(momentum, weights, "momentum");
        Bind();
        if (weights.Length > 0)
        {
            Launch(kernels.SgdMomentum, GridFor(weights.Length), I(weights.Length), Ptr(P(weights)), Ptr(P(gradient)), Ptr(P(velocity)),
                Ptr(lr.Pointer), F(lr.Scalar), Ptr(wd.Pointer), F(wd.Scalar), Ptr(mu.Pointer), F(mu.Scalar));
        }
    }

    /// <inheritdoc />
    public void Exp10(DeviceBuffer x, DeviceBuffer y)
    {
        SameLength(x, y);
        Bind();
        if (x.Length > 0)
        {
            Launch(kernels.Exp10, GridFor(x.Length), I(x.Length), Ptr(P(x)), Ptr(P(y)));
        }
    }

    /// <inheritdoc />
    public void Clamp(DeviceBuffer x, float min, float max)
    {
        Bind();
        if (x.Length > 0)
        {
            Launch(kernels.Clamp, GridFor(x.Length), I(x.Length), F(min), F(max), Ptr(P(x)));
        }
    }

    /// <inheritdoc />
    public void AdamStep(DeviceBuffer parameters, DeviceBuffer gradient, DeviceBuffer firstMoment, DeviceBuffer secondMoment, float learningRate, float beta1, float beta2, float epsilon, int step)
    {
        SameLength(parameters, gradient);
        SameLength(parameters, firstMoment);
        SameLength(parameters, secondMoment);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(step);
        double correction1 = 1 - Math.Pow(beta1, step), correction2 = 1 - Math.Pow(beta2, step);
        float stepSize = (float)(learningRate / correction1);
        float rootCorrection2 = (float)Math.Sqrt(correction2);
        Bind();
        if (parameters.Length > 0)
        {
            Launch(kernels.AdamStep, GridFor(parameters.Length), I(parameters.Length), Ptr(P(parameters)), Ptr(P(gradient)), Ptr(P(firstMoment)), Ptr(P(secondMoment)),
                F(beta1), F(beta2), F(epsilon), F(stepSize), F(rootCorrection2));
        }
    }

    /// <summary>Waits for queued work, then frees kernels, memory, the cuDNN and cuBLAS handles, the stream and the context retain.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        try
        {
            Bind();
            CudaDriver.StreamSynchronize(stream.Value);
        }
        finally
        {
            disposed = true;
            regions.Dispose();
            kernels.Dispose();
            cudnn?.Dispose();
            cublas.Dispose();
            scratch.Dispose();
            workspace.Dispose();
            pool.Dispose();
            stream.Dispose();
            context.Dispose();
            if (boundContext == context.Value)
            {
                boundContext = 0;
            }
        }
    }
}
