using OnePass.Training.Tensors;

namespace OnePass.Training.Backends.Cuda;

/// <summary>
/// What a kernel family needs from the backend: make its context current, temporary memory, a GEMM, and queue a kernel with its arguments
/// (as cuLaunchKernel takes them: one 64-bit slot per parameter). The CUDA backend implements it; tests put an
/// emulator behind it that runs the same kernel sources compiled for the host.
/// </summary>
internal interface ICudaLauncher
{
    /// <summary>Makes the backend's context current on this thread (throws when the backend is disposed).</summary>
    void Bind();

    /// <summary>
    /// Device memory of <paramref name="length"/> floats for a family's temporaries. Disposing it right after the
    /// launches that use it is safe: every launch and every later reuse of the block are ordered on the one stream.
    /// </summary>
    DeviceBuffer Allocate(int length);

    /// <summary>C = alpha·op(A)·op(B) + beta·C, row-major, as <see cref="IBackend.Gemm"/> (cuBLAS on the backend).</summary>
    void Gemm(bool transposeA, bool transposeB, int m, int n, int k, float alpha, DeviceBuffer a, DeviceBuffer b, float beta, DeviceBuffer c);

    /// <summary>
    /// Device memory of four ints where kernels record the first invalid index they meet (kind, value, bound,
    /// position; kind 0 while none was met); the backend checks it whenever it synchronises and throws.
    /// </summary>
    ulong IndexErrors { get; }

    /// <summary>Queues <paramref name="function"/> on <paramref name="grid"/> blocks of the backend's block size.</summary>
    void Launch(nint function, uint grid, params ReadOnlySpan<KernelArgument> arguments);
}
