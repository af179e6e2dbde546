using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OnePass.Training.Backends;

/// <summary>
/// Single-precision matrix product for the CPU backend: operands are packed into panels (so either operand
/// may be transposed at no extra cost), the k dimension is blocked to keep panels in cache, and a 6×32
/// (AVX-512) or 6×16 (AVX2/FMA) register-blocked micro-kernel computes each tile. Large products are split
/// across cores by tiles of C.
/// </summary>
internal static unsafe class CpuGemm
{
    private const int MR = 6;

    // Panel width: 32 columns (two 16-wide AVX-512 registers a row) where the CPU has AVX-512, else 16 (two AVX2 registers).
    private static readonly int NR = Avx512F.IsSupported ? 32 : 16;
    private const int KC = 256;
    private const int MC = 96;
    private const int NC = 256;

    // Below this many multiply-adds a product runs on the calling thread: the hand-off costs more than it saves.
    private const long ParallelThreshold = 1L << 19;

    /// <summary>C = alpha·op(A)·op(B) + beta·C, row-major, op(A) m×k, op(B) k×n.</summary>
    public static void Multiply(bool transposeA, bool transposeB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, ReadOnlySpan<float> b, float beta, Span<float> c)
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0 || alpha == 0f)
        {
            ScaleC(c[..(m * n)], beta);
            return;
        }

        int mPanels = (m + MR - 1) / MR;
        int nPanels = (n + NR - 1) / NR;
        int kcMax = Math.Min(KC, k);
        float[] packedA = ArrayPool<float>.Shared.Rent(mPanels * MR * kcMax);
        float[] packedB = ArrayPool<float>.Shared.Rent(nPanels * NR * kcMax);
        try
        {
            fixed (float* pa = a, pb = b, pc = c, pA = packedA, pB = packedB)
            {
                var job = new Job
                {
                    A = pa, B = pb, C = pc, PackedA = pA, PackedB = pB,
                    M = m, N = n, K = k, TransposeA = transposeA, TransposeB = transposeB, Alpha = alpha,
                };
                bool parallel = (long)m * n * k >= ParallelThreshold && Environment.ProcessorCount > 1;
                for (int p0 = 0; p0 < k; p0 += KC)
                {
                    int kc = Math.Min(KC, k - p0);
                    job.P0 = p0;
                    job.Kc = kc;
                    job.Beta = p0 == 0 ? beta : 1f;
                    int rowBlocks = (m + MC - 1) / MC;
                    int colBlocks = (n + NC - 1) / NC;
                    if (parallel)
                    {
                        Parallel.For(0, nPanels, job.PackB);
                        Parallel.For(0, mPanels, job.PackA);
                        Parallel.For(0, rowBlocks * colBlocks, t => job.Tile(t / colBlocks, t % colBlocks));
                    }
                    else
                    {
                        for (int j = 0; j < nPanels; j++)
                        {
                            job.PackB(j);
                        }

                        for (int i = 0; i < mPanels; i++)
                        {
                            job.PackA(i);
                        }

                        for (int t = 0; t < rowBlocks * colBlocks; t++)
                        {
                            job.Tile(t / colBlocks, t % colBlocks);
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packedA);
            ArrayPool<float>.Shared.Return(packedB);
        }
    }

    private static void ScaleC(Span<float> c, float beta)
    {
        if (beta == 0f)
        {
            c.Clear();
        }
        else if (beta != 1f)
        {
            System.Numerics.Tensors.TensorPrimitives.Multiply(c, beta, c);
        }
    }

    /// <summary>State shared by the pack and tile steps of one product (pointers stay pinned by the caller).</summary>
    private sealed class Job
    {
        public float* A, B, C, PackedA, PackedB;
        public int M, N, K, P0, Kc;
        public bool TransposeA, TransposeB;
        public float Alpha, Beta;

        // Panel i holds rows [i·MR, i·MR+MR) of op(A) for k in [P0, P0+Kc), stored k-major: MR values per k.
        public void PackA(int panel)
        {
            float* dst = PackedA + (long)panel * MR * Kc;
            int i0 = panel * MR;
            int rows = Math.Min(MR, M - i0);
            for (int p = 0; p < Kc; p++)
            {
                int kk = P0 + p;
                for (int r = 0; r < MR; r++)
                {
                    dst[r] = r < rows ? (TransposeA ? A[(long)kk * M + i0 + r] : A[(long)(i0 + r) * K + kk]) : 0f;
                }

                dst += MR;
            }
        }

        // Panel j holds columns [j·NR, j·NR+NR) of op(B) for k in [P0, P0+Kc), stored k-major: NR values per k.
        public void PackB(int panel)
        {
            float* dst = PackedB + (long)panel * NR * Kc;
            int j0 = panel * NR;
            int cols = Math.Min(NR, N - j0);
            if (!TransposeB && cols == NR)
            {
                for (int p = 0; p < Kc; p++)
                {
                    Buffer.MemoryCopy(B + (long)(P0 + p) * N + j0, dst, NR * sizeof(float), NR * sizeof(float));
                    dst += NR;
                }

                return;
            }

            for (int p = 0; p < Kc; p++)
            {
                int kk = P0 + p;
                for (int c = 0; c < NR; c++)
                {
                    dst[c] = c < cols ? (TransposeB ? B[(long)(j0 + c) * K + kk] : B[(long)kk * N + j0 + c]) : 0f;
                }

                dst += NR;
            }
        }

        public void Tile(int rowBlock, int colBlock)
        {
            int i0 = rowBlock * MC, i1 = Math.Min(M, i0 + MC);
            int j0 = colBlock * NC, j1 = Math.Min(N, j0 + NC);
            float* tile = stackalloc float[MR * NR];
            for (int j = j0; j < j1; j += NR)
            {
                float* bPanel = PackedB + (long)(j / NR) * NR * Kc;
                int cols = Math.Min(NR, j1 - j);
                for (int i = i0; i < i1; i += MR)
                {
                    float* aPanel = PackedA + (long)(i / MR) * MR * Kc;
                    int rows = Math.Min(MR, i1 - i);
                    if (NR == 32)
                    {
                        Kernel512(Kc, aPanel, bPanel, tile);
                    }
                    else
                    {
                        Kernel(Kc, aPanel, bPanel, tile);
                    }

                    Store(tile, C + (long)i * N + j, N, rows, cols);
                }
            }
        }

        private void Store(float* tile, float* c, int ldc, int rows, int cols)
        {
            float alpha = Alpha, beta = Beta;
            for (int r = 0; r < rows; r++)
            {
                float* src = tile + r * NR;
                float* dst = c + (long)r * ldc;
                if (cols == NR && Vector256.IsHardwareAccelerated)
                {
                    var va = Vector256.Create(alpha);
                    var vb = Vector256.Create(beta);
                    for (int col = 0; col < NR; col += 8)
                    {
                        var v = Vector256.Load(src + col) * va;
                        if (beta != 0f)
                        {
                            v += Vector256.Load(dst + col) * vb;
                        }

                        v.Store(dst + col);
                    }
                }
                else
                {
                    for (int col = 0; col < cols; col++)
                    {
                        dst[col] = beta == 0f ? alpha * src[col] : alpha * src[col] + beta * dst[col];
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : (a * b) + c;

    // The 6×32 AVX-512 micro-kernel: twelve 16-wide accumulators stay in registers across the whole k loop.
    private static void Kernel512(int kc, float* a, float* b, float* tile)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var a0 = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40);
            c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50);
            c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            a += MR;
            b += 32;
        }

        c00.Store(tile); c01.Store(tile + 16);
        c10.Store(tile + 32); c11.Store(tile + 48);
        c20.Store(tile + 64); c21.Store(tile + 80);
        c30.Store(tile + 96); c31.Store(tile + 112);
        c40.Store(tile + 128); c41.Store(tile + 144);
        c50.Store(tile + 160); c51.Store(tile + 176);
    }

    // The 6×16 micro-kernel: twelve 8-wide accumulators stay in registers across the whole k loop.
    private static void Kernel(int kc, float* a, float* b, float* tile)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var a0 = Vector256.Create(a[0]);
            c00 = MulAdd(a0, b0, c00);
            c01 = MulAdd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]);
            c10 = MulAdd(a1, b0, c10);
            c11 = MulAdd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]);
            c20 = MulAdd(a2, b0, c20);
            c21 = MulAdd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]);
            c30 = MulAdd(a3, b0, c30);
            c31 = MulAdd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]);
            c40 = MulAdd(a4, b0, c40);
            c41 = MulAdd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]);
            c50 = MulAdd(a5, b0, c50);
            c51 = MulAdd(a5, b1, c51);
            a += MR;
            b += 16;
        }

        c00.Store(tile); c01.Store(tile + 8);
        c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40);
        c30.Store(tile + 48); c31.Store(tile + 56);
        c40.Store(tile + 64); c41.Store(tile + 72);
        c50.Store(tile + 80); c51.Store(tile + 88);
    }
}
