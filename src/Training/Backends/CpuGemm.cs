using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OnePass.Training.Backends;

/// <summary>
/// Single-precision matrix product for the CPU backend: operands are packed into panels (so either operand
/// may be transposed at no extra cost), the k dimension is blocked to keep panels in cache, and a 6×32
/// (AVX-512) or 6×16 (AVX2/FMA) register-blocked micro-kernel computes each tile. Large products are split across
/// cores once, by slices of C along its longer side (no barrier between k blocks); products with few rows of A read
/// B in place instead of packing it (see RowDotProducts and StreamB).
/// </summary>
internal static unsafe class CpuGemm
{
    private const int MR = 6;

    // Panel width: 32 columns (two 16-wide AVX-512 registers a row) where the CPU has AVX-512, else 16 (two AVX2 registers).
    private static readonly int NR = Avx512F.IsSupported ? 32 : 16;
    private const int KC = 256;
    private const int MC = 96;
    private const int NC = 256;

    // Products with at most this many rows in op(A) take the paths that leave B in place (RowDotProducts, StreamB).
    private const int SmallRows = 64;

    // ... and, for a transposed B, at most this many elements in A; for an untransposed B, at most this many columns.
    private const long SmallRowsElements = 1L << 17;
    // (Wider products run faster blocked, with B packed once per k block and A read in place, unless k is so short
    // that packing B costs about as much as using it, as in an MLP's weight gradient.)
    private const int StreamedColumns = 512;

    // Below this many multiply-adds a product runs on the calling thread: the hand-off costs more than it saves.
    private const long ParallelThreshold = 1L << 19;

    /// <summary>C = alpha·op(A)·op(B) + beta·C, row-major, op(A) m×k, op(B) k×n.</summary>
    private static readonly bool Trace = Environment.GetEnvironmentVariable("ONEPASS_GEMM_TRACE") == "1";
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(bool, bool, int, int, int), (long Count, long Ticks)> TraceTable = new();

    static CpuGemm()
    {
        if (Trace)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                double total = 0, flops = 0;
                foreach (var kv in TraceTable.OrderByDescending(kv => kv.Value.Ticks))
                {
                    var (ta, tb, m, n, k) = kv.Key;
                    double ms = kv.Value.Ticks * 1000.0 / System.Diagnostics.Stopwatch.Frequency;
                    total += ms;
                    flops += 2.0 * m * n * k * kv.Value.Count;
                    double gf = 2.0 * m * n * k * kv.Value.Count / (ms * 1e6);
                    Console.Error.WriteLine($"GEMM ta={(ta ? 1 : 0)} tb={(tb ? 1 : 0)} m={m} n={n} k={k} count={kv.Value.Count} ms={ms:F1} gflops={gf:F1}");
                }

                Console.Error.WriteLine($"GEMM total ms={total:F1} gflops={flops / (total * 1e6):F1}");
            };
        }
    }

    public static void Multiply(bool transposeA, bool transposeB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, ReadOnlySpan<float> b, float beta, Span<float> c)
    {
        if (!Trace)
        {
            MultiplyCore(transposeA, transposeB, m, n, k, alpha, a, b, beta, c);
            return;
        }

        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        MultiplyCore(transposeA, transposeB, m, n, k, alpha, a, b, beta, c);
        long dt = System.Diagnostics.Stopwatch.GetTimestamp() - t0;
        TraceTable.AddOrUpdate((transposeA, transposeB, m, n, k), (1, dt), (_, v) => (v.Count + 1, v.Ticks + dt));
    }

    private static void MultiplyCore(bool transposeA, bool transposeB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, ReadOnlySpan<float> b, float beta, Span<float> c)
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

        if (m <= SmallRows && NR == 32)
        {
            // Each row pair's dot product streams A's rows, which must stay in the second-level cache.
            if (transposeB && k >= 16 && (long)m * k <= SmallRowsElements)
            {
                RowDotProducts(transposeA, m, n, k, alpha, a, b, beta, c);
                return;
            }

            // B's rows are read in place, so they must be short enough that a k block of a strip spans few pages.
            if (!transposeB && (n <= StreamedColumns || k <= 64))
            {
                StreamB(transposeA, m, n, k, alpha, a, b, beta, c);
                return;
            }
        }

        fixed (float* pa = a, pb = b, pc = c)
        {
            nint ua = (nint)pa, ub = (nint)pb, uc = (nint)pc;
            long work = (long)m * n * k;

            // One fork per product: each thread packs and multiplies its own slice of C, split along the side whose
            // panels divide more evenly over the threads.
            if (SplitAlongColumns(m, n))
            {
                int panels = (n + NR - 1) / NR;
                Split(panels, Parts(work, panels), (q0, q1) =>
                    Block((float*)ua, (float*)ub, (float*)uc, m, n, k, transposeA, transposeB, alpha, beta, 0, m, q0 * NR, Math.Min(n, q1 * NR)));
            }
            else
            {
                int panels = (m + MR - 1) / MR;
                Split(panels, Parts(work, panels), (q0, q1) =>
                    Block((float*)ua, (float*)ub, (float*)uc, m, n, k, transposeA, transposeB, alpha, beta, q0 * MR, Math.Min(m, q1 * MR), 0, n));
            }
        }
    }


    // Whether a parallel product is better split by column panels than by row panels: the side whose panels divide
    // more evenly over the threads (the padded work of the busiest thread is smaller), ties going to the longer side.
    private static bool SplitAlongColumns(int m, int n)
    {
        int threads = Environment.ProcessorCount;
        int nPanels = (n + NR - 1) / NR, mPanels = (m + MR - 1) / MR;
        long byColumns = (long)((nPanels + threads - 1) / threads) * NR * m;
        long byRows = (long)((mPanels + threads - 1) / threads) * MR * n;
        return byColumns < byRows || (byColumns == byRows && n >= m);
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

    // C[i0:i1, j0:j1] of the product, on the calling thread: k in blocks of KC; per block, op(B)'s columns packed in
    // NR-wide panels and op(A)'s rows in MR-high panels, then MC×NC tiles of micro-kernel calls.
    [SkipLocalsInit]
    private static void Block(float* a, float* b, float* c, int m, int n, int k, bool transposeA, bool transposeB, float alpha, float beta,
        int i0, int i1, int j0, int j1)
    {
        int mPanels = (i1 - i0 + MR - 1) / MR;
        int nPanels = (j1 - j0 + NR - 1) / NR;
        int kcMax = Math.Min(KC, k);
        bool inPlaceA = !transposeA && NR == 32;
        float[] packedA = ArrayPool<float>.Shared.Rent(inPlaceA ? 1 : mPanels * MR * kcMax);
        float[] packedB = ArrayPool<float>.Shared.Rent(nPanels * NR * kcMax);
        float* tile = stackalloc float[MR * 32];
        try
        {
            fixed (float* pA = packedA, pB = packedB)
            {
                for (int p0 = 0; p0 < k; p0 += KC)
                {
                    int kc = Math.Min(KC, k - p0);
                    float blockBeta = p0 == 0 ? beta : 1f;
                    for (int q = 0; q < nPanels; q++)
                    {
                        int j = j0 + (q * NR);
                        PackBPanel(b, transposeB, n, k, p0, kc, j, Math.Min(NR, j1 - j), pB + ((long)q * NR * kc));
                    }

                    // An untransposed A is read in place by the AVX-512 kernel (its rows are contiguous in k), which
                    // saves a scalar transposing copy that costs a lot when op(B) has few columns.
                    if (!inPlaceA)
                    {
                        for (int q = 0; q < mPanels; q++)
                        {
                            int i = i0 + (q * MR);
                            PackAPanel(a, transposeA, m, k, p0, kc, i, Math.Min(MR, i1 - i), pA + ((long)q * MR * kc));
                        }
                    }

                    for (int ib = i0; ib < i1; ib += MC)
                    {
                        for (int jb = j0; jb < j1; jb += NC)
                        {
                            int iEnd = Math.Min(i1, ib + MC), jEnd = Math.Min(j1, jb + NC);
                            for (int j = jb; j < jEnd; j += NR)
                            {
                                float* bPanel = pB + ((long)((j - j0) / NR) * NR * kc);
                                int cols = Math.Min(NR, jEnd - j);
                                for (int i = ib; i < iEnd; i += MR)
                                {
                                    float* aPanel = pA + ((long)((i - i0) / MR) * MR * kc);
                                    if (inPlaceA)
                                    {
                                        Kernel512Rows(kc, a + ((long)i * k) + p0, k, Math.Min(MR, i1 - i), bPanel, tile);
                                    }
                                    else if (NR == 32)
                                    {
                                        Kernel512(kc, aPanel, bPanel, 32, tile);
                                    }
                                    else
                                    {
                                        Kernel(kc, aPanel, bPanel, tile);
                                    }

                                    Store(tile, c + ((long)i * n) + j, n, Math.Min(MR, iEnd - i), cols, alpha, blockBeta);
                                }
                            }
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

    // Columns [j0, j0+cols) of op(B) for k in [p0, p0+kc), k-major (NR values per k), zero past column cols.
    private static void PackBPanel(float* b, bool transposeB, int n, int k, int p0, int kc, int j0, int cols, float* dst)
    {
        if (!transposeB && cols == NR)
        {
            for (int p = 0; p < kc; p++)
            {
                Buffer.MemoryCopy(b + ((long)(p0 + p) * n) + j0, dst, NR * sizeof(float), NR * sizeof(float));
                dst += NR;
            }

            return;
        }

        if (transposeB && cols == NR && Avx.IsSupported)
        {
            PackTransposedPanel(b + ((long)j0 * k) + p0, k, kc, dst);
            return;
        }

        if (transposeB)
        {
            for (int q = 0; q < NR; q++)
            {
                float* src = b + ((long)(j0 + Math.Min(q, cols - 1)) * k) + p0;
                if (q < cols)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        dst[(p * NR) + q] = src[p];
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        dst[(p * NR) + q] = 0f;
                    }
                }
            }

            return;
        }

        for (int p = 0; p < kc; p++)
        {
            float* src = b + ((long)(p0 + p) * n) + j0;
            for (int q = 0; q < NR; q++)
            {
                dst[q] = q < cols ? src[q] : 0f;
            }

            dst += NR;
        }
    }

    // A full panel of a transposed B: NR rows of B (ldb apart, kc values each) become kc rows of NR values, eight by
    // eight through register transposes; the last kc mod 8 values are moved one by one.
    private static void PackTransposedPanel(float* src, int ldb, int kc, float* dst)
    {
        int kc8 = kc & ~7;
        for (int q0 = 0; q0 < NR; q0 += 8)
        {
            float* s0 = src + ((long)q0 * ldb);
            float* s1 = s0 + ldb, s2 = s1 + ldb, s3 = s2 + ldb, s4 = s3 + ldb, s5 = s4 + ldb, s6 = s5 + ldb, s7 = s6 + ldb;
            float* d = dst + q0;
            for (int p = 0; p < kc8; p += 8)
            {
                var t0 = Avx.UnpackLow(Vector256.Load(s0 + p), Vector256.Load(s1 + p));
                var t1 = Avx.UnpackHigh(Vector256.Load(s0 + p), Vector256.Load(s1 + p));
                var t2 = Avx.UnpackLow(Vector256.Load(s2 + p), Vector256.Load(s3 + p));
                var t3 = Avx.UnpackHigh(Vector256.Load(s2 + p), Vector256.Load(s3 + p));
                var t4 = Avx.UnpackLow(Vector256.Load(s4 + p), Vector256.Load(s5 + p));
                var t5 = Avx.UnpackHigh(Vector256.Load(s4 + p), Vector256.Load(s5 + p));
                var t6 = Avx.UnpackLow(Vector256.Load(s6 + p), Vector256.Load(s7 + p));
                var t7 = Avx.UnpackHigh(Vector256.Load(s6 + p), Vector256.Load(s7 + p));

                // u_c holds column c (rows 0–3) in its low half and column c + 4 in its high half; v_c the same for rows 4–7.
                var u0 = Avx.Shuffle(t0, t2, 0x44);
                var u1 = Avx.Shuffle(t0, t2, 0xEE);
                var u2 = Avx.Shuffle(t1, t3, 0x44);
                var u3 = Avx.Shuffle(t1, t3, 0xEE);
                var v0 = Avx.Shuffle(t4, t6, 0x44);
                var v1 = Avx.Shuffle(t4, t6, 0xEE);
                var v2 = Avx.Shuffle(t5, t7, 0x44);
                var v3 = Avx.Shuffle(t5, t7, 0xEE);
                float* row = d + ((long)p * NR);
                Avx.Permute2x128(u0, v0, 0x20).Store(row);
                Avx.Permute2x128(u1, v1, 0x20).Store(row + NR);
                Avx.Permute2x128(u2, v2, 0x20).Store(row + (2 * NR));
                Avx.Permute2x128(u3, v3, 0x20).Store(row + (3 * NR));
                Avx.Permute2x128(u0, v0, 0x31).Store(row + (4 * NR));
                Avx.Permute2x128(u1, v1, 0x31).Store(row + (5 * NR));
                Avx.Permute2x128(u2, v2, 0x31).Store(row + (6 * NR));
                Avx.Permute2x128(u3, v3, 0x31).Store(row + (7 * NR));
            }

            for (int p = kc8; p < kc; p++)
            {
                float* row = d + ((long)p * NR);
                row[0] = s0[p]; row[1] = s1[p]; row[2] = s2[p]; row[3] = s3[p];
                row[4] = s4[p]; row[5] = s5[p]; row[6] = s6[p]; row[7] = s7[p];
            }
        }
    }

    // Rows [i0, i0+rows) of op(A) for k in [p0, p0+kc), k-major (MR values per k), zero past row rows.
    private static void PackAPanel(float* a, bool transposeA, int m, int k, int p0, int kc, int i0, int rows, float* dst)
    {
        if (transposeA)
        {
            for (int p = 0; p < kc; p++)
            {
                float* src = a + ((long)(p0 + p) * m) + i0;
                for (int r = 0; r < MR; r++)
                {
                    dst[r] = r < rows ? src[r] : 0f;
                }

                dst += MR;
            }

            return;
        }

        for (int r = 0; r < MR; r++)
        {
            float* src = a + ((long)(i0 + Math.Min(r, rows - 1)) * k) + p0;
            if (r < rows)
            {
                for (int p = 0; p < kc; p++)
                {
                    dst[(p * MR) + r] = src[p];
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    dst[(p * MR) + r] = 0f;
                }
            }
        }
    }

    // C ← alpha·tile + beta·C for a rows×cols corner of a 6×NR tile (C is not read when beta is 0).
    private static void Store(float* tile, float* c, int ldc, int rows, int cols, float alpha, float beta)
    {
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

    // How many threads a product of this many multiply-adds, cut into `pieces` independent pieces, is split over.
    private static int Parts(long multiplyAdds, int pieces) =>
        !onOneThread && multiplyAdds >= ParallelThreshold && Environment.ProcessorCount > 1 ? Math.Max(1, Math.Min(Environment.ProcessorCount, pieces)) : 1;

    // Set while a caller that already runs several products in parallel asks for each to stay on its thread.
    [ThreadStatic]
    private static bool onOneThread;

    /// <summary>
    /// <see cref="Multiply"/> on the calling thread only, for callers that run many small independent products in
    /// parallel themselves (splitting each across cores would cost a fork and a join per product).
    /// </summary>
    public static void MultiplyOnThisThread(bool transposeA, bool transposeB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, ReadOnlySpan<float> b, float beta, Span<float> c)
    {
        bool was = onOneThread;
        onOneThread = true;
        try
        {
            Multiply(transposeA, transposeB, m, n, k, alpha, a, b, beta, c);
        }
        finally
        {
            onOneThread = was;
        }
    }

    // Runs body(first, end) over `parts` contiguous ranges of [0, count), in parallel when parts > 1.
    private static void Split(int count, int parts, Action<int, int> body)
    {
        if (parts <= 1)
        {
            body(0, count);
            return;
        }

        Parallel.For(0, parts, part => body((int)((long)count * part / parts), (int)((long)count * (part + 1) / parts)));
    }

    /// <summary>
    /// Few rows of op(A) times a transposed B (B stored [n, k], as a Linear or LSTM weight is): every element of C is
    /// the dot product of two contiguous rows, so B is read in place. Packing a transposed B costs about as much as the
    /// product itself when A has few rows, as in an LSTM's per-step recurrent product h·W_hhᵀ. Needs k ≥ 16.
    /// </summary>
    private static void RowDotProducts(bool transposeA, int m, int n, int k, float alpha, ReadOnlySpan<float> a, ReadOnlySpan<float> b, float beta, Span<float> c)
    {
        float[]? rows = transposeA ? ArrayPool<float>.Shared.Rent(m * k) : null;
        try
        {
            fixed (float* pa = a, pb = b, pc = c, pr = rows)
            {
                float* rowsA = pa;
                if (transposeA)
                {
                    for (int p = 0; p < k; p++)
                    {
                        for (int i = 0; i < m; i++)
                        {
                            pr[((long)i * k) + p] = pa[((long)p * m) + i];
                        }
                    }

                    rowsA = pr;
                }

                nint ua = (nint)rowsA, ub = (nint)pb, uc = (nint)pc;
                int groups = (n + DotColumns - 1) / DotColumns;
                Split(groups, Parts((long)m * n * k, groups), (g0, g1) =>
                    DotRange((float*)ua, (float*)ub, (float*)uc, m, n, k, g0 * DotColumns, Math.Min(n, g1 * DotColumns), alpha, beta));
            }
        }
        finally
        {
            if (rows is not null)
            {
                ArrayPool<float>.Shared.Return(rows);
            }
        }
    }

    // Tile of the dot-product path: DotRows rows of A against DotColumns rows of B (24 accumulators of 16 lanes).
    private const int DotRows = 6;
    private const int DotColumns = 4;

    // Columns [j0, j1) of C = alpha·A·Bᵀ + beta·C with A [m, k] and B [n, k] row-major. A tile's missing rows or
    // columns (at the edges) repeat the last real one and are computed but not stored.
    [SkipLocalsInit]
    private static void DotRange(float* a, float* b, float* c, int m, int n, int k, int j0, int j1, float alpha, float beta)
    {
        int kFull = k & ~15;
        int tail = k - kFull;

        // The tail is one vector ending at k; lanes before kFull were counted already and are masked off.
        var tailMask = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create(16 - tail)).AsSingle();
        float* sums = stackalloc float[DotRows * DotColumns];
        float** ar = stackalloc float*[DotRows];
        float** br = stackalloc float*[DotColumns];
        for (int j = j0; j < j1; j += DotColumns)
        {
            int cols = Math.Min(DotColumns, j1 - j);
            for (int q = 0; q < DotColumns; q++)
            {
                br[q] = b + ((long)(j + Math.Min(q, cols - 1)) * k);
            }

            for (int i = 0; i < m; i += DotRows)
            {
                int rows = Math.Min(DotRows, m - i);
                for (int r = 0; r < DotRows; r++)
                {
                    ar[r] = a + ((long)(i + Math.Min(r, rows - 1)) * k);
                }

                Dot6x4(kFull, tail, tailMask, ar, br, sums);
                for (int r = 0; r < rows; r++)
                {
                    float* dst = c + ((long)(i + r) * n) + j;
                    float* src = sums + (r * DotColumns);
                    if (cols == DotColumns)
                    {
                        var v = Vector128.Load(src) * alpha;
                        if (beta != 0f)
                        {
                            v += Vector128.Load(dst) * beta;
                        }

                        v.Store(dst);
                    }
                    else
                    {
                        for (int q = 0; q < cols; q++)
                        {
                            dst[q] = beta == 0f ? alpha * src[q] : (alpha * src[q]) + (beta * dst[q]);
                        }
                    }
                }
            }
        }
    }

    // sums[r·4 + q] = Σ_p a_r[p]·b_q[p] over p < kFull + tail, for 6 rows a_r and 4 rows b_q.
    private static void Dot6x4(int kFull, int tail, Vector512<float> tailMask, float** ar, float** br, float* sums)
    {
        float* a0 = ar[0], a1 = ar[1], a2 = ar[2], a3 = ar[3], a4 = ar[4], a5 = ar[5];
        float* b0 = br[0], b1 = br[1], b2 = br[2], b3 = br[3];
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        Vector512<float> c40 = default, c41 = default, c42 = default, c43 = default;
        Vector512<float> c50 = default, c51 = default, c52 = default, c53 = default;
        int p = 0;
        var mask = Vector512<float>.AllBitsSet;
        while (true)
        {
            if (p >= kFull)
            {
                if (tail == 0 || p > kFull)
                {
                    break;
                }

                // One more pass over the last 16 values, with the lanes already counted masked off.
                p = kFull + tail - 16;
                mask = tailMask;
            }

            var x0 = Vector512.Load(a0 + p) & mask;
            var x1 = Vector512.Load(a1 + p) & mask;
            var x2 = Vector512.Load(a2 + p) & mask;
            var x3 = Vector512.Load(a3 + p) & mask;
            var x4 = Vector512.Load(a4 + p) & mask;
            var x5 = Vector512.Load(a5 + p) & mask;
            var y = Vector512.Load(b0 + p) & mask;
            c00 = Avx512F.FusedMultiplyAdd(x0, y, c00);
            c10 = Avx512F.FusedMultiplyAdd(x1, y, c10);
            c20 = Avx512F.FusedMultiplyAdd(x2, y, c20);
            c30 = Avx512F.FusedMultiplyAdd(x3, y, c30);
            c40 = Avx512F.FusedMultiplyAdd(x4, y, c40);
            c50 = Avx512F.FusedMultiplyAdd(x5, y, c50);
            y = Vector512.Load(b1 + p) & mask;
            c01 = Avx512F.FusedMultiplyAdd(x0, y, c01);
            c11 = Avx512F.FusedMultiplyAdd(x1, y, c11);
            c21 = Avx512F.FusedMultiplyAdd(x2, y, c21);
            c31 = Avx512F.FusedMultiplyAdd(x3, y, c31);
            c41 = Avx512F.FusedMultiplyAdd(x4, y, c41);
            c51 = Avx512F.FusedMultiplyAdd(x5, y, c51);
            y = Vector512.Load(b2 + p) & mask;
            c02 = Avx512F.FusedMultiplyAdd(x0, y, c02);
            c12 = Avx512F.FusedMultiplyAdd(x1, y, c12);
            c22 = Avx512F.FusedMultiplyAdd(x2, y, c22);
            c32 = Avx512F.FusedMultiplyAdd(x3, y, c32);
            c42 = Avx512F.FusedMultiplyAdd(x4, y, c42);
            c52 = Avx512F.FusedMultiplyAdd(x5, y, c52);
            y = Vector512.Load(b3 + p) & mask;
            c03 = Avx512F.FusedMultiplyAdd(x0, y, c03);
            c13 = Avx512F.FusedMultiplyAdd(x1, y, c13);
            c23 = Avx512F.FusedMultiplyAdd(x2, y, c23);
            c33 = Avx512F.FusedMultiplyAdd(x3, y, c33);
            c43 = Avx512F.FusedMultiplyAdd(x4, y, c43);
            c53 = Avx512F.FusedMultiplyAdd(x5, y, c53);
            p += 16;
        }

        Sum4(c00, c01, c02, c03).Store(sums);
        Sum4(c10, c11, c12, c13).Store(sums + 4);
        Sum4(c20, c21, c22, c23).Store(sums + 8);
        Sum4(c30, c31, c32, c33).Store(sums + 12);
        Sum4(c40, c41, c42, c43).Store(sums + 16);
        Sum4(c50, c51, c52, c53).Store(sums + 20);
    }

    // The lane sums of four vectors, as one vector [Σw, Σx, Σy, Σz].
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4(Vector512<float> w, Vector512<float> x, Vector512<float> y, Vector512<float> z)
    {
        var w8 = w.GetLower() + w.GetUpper();
        var x8 = x.GetLower() + x.GetUpper();
        var y8 = y.GetLower() + y.GetUpper();
        var z8 = z.GetLower() + z.GetUpper();
        var w4 = w8.GetLower() + w8.GetUpper();
        var x4 = x8.GetLower() + x8.GetUpper();
        var y4 = y8.GetLower() + y8.GetUpper();
        var z4 = z8.GetLower() + z8.GetUpper();
        return Sse3.HorizontalAdd(Sse3.HorizontalAdd(w4, x4), Sse3.HorizontalAdd(y4, z4));
    }

    /// <summary>
    /// Few rows of op(A) times an untransposed B: A (small) is packed once for the whole k, and the micro-kernel reads
    /// B's rows in place, one 32-column strip at a time with k blocked so that the strip's block stays in the
    /// first-level cache across A's panels; only a ragged last strip is copied, zero-padded.
    /// </summary>
    private static void StreamB(bool transposeA, int m, int n, int k, float alpha, ReadOnlySpan<float> a, ReadOnlySpan<float> b, float beta, Span<float> c)
    {
        int mPanels = (m + MR - 1) / MR;
        float[] packed = ArrayPool<float>.Shared.Rent(mPanels * MR * k);
        try
        {
            fixed (float* pa = a, pb = b, pc = c, pp = packed)
            {
                for (int i = 0; i < mPanels; i++)
                {
                    PackAPanel(pa, transposeA, m, k, 0, k, i * MR, Math.Min(MR, m - (i * MR)), pp + ((long)i * MR * k));
                }

                nint ub = (nint)pb, uc = (nint)pc, up = (nint)pp;
                int strips = (n + 31) / 32;
                Split(strips, Parts((long)m * n * k, strips), (s0, s1) =>
                    StreamStrips((float*)up, (float*)ub, (float*)uc, m, n, k, s0, s1, alpha, beta));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
        }
    }

    [SkipLocalsInit]
    private static void StreamStrips(float* packedA, float* b, float* c, int m, int n, int k, int s0, int s1, float alpha, float beta)
    {
        int mPanels = (m + MR - 1) / MR;
        float* tile = stackalloc float[MR * 32];
        float[]? edge = null;
        try
        {
            for (int s = s0; s < s1; s++)
            {
                int j = s * 32;
                int cols = Math.Min(32, n - j);
                float* strip = b + j;
                int ldb = n;
                if (cols < 32)
                {
                    edge = ArrayPool<float>.Shared.Rent(k * 32);
                    fixed (float* pe = edge)
                    {
                        for (int p = 0; p < k; p++)
                        {
                            for (int q = 0; q < 32; q++)
                            {
                                pe[(p * 32) + q] = q < cols ? b[((long)p * n) + j + q] : 0f;
                            }
                        }

                        StreamStrip(packedA, pe, 32, c + j, m, mPanels, n, k, cols, alpha, beta, tile);
                    }

                    continue;
                }

                StreamStrip(packedA, strip, ldb, c + j, m, mPanels, n, k, cols, alpha, beta, tile);
            }
        }
        finally
        {
            if (edge is not null)
            {
                ArrayPool<float>.Shared.Return(edge);
            }
        }
    }

    private static void StreamStrip(float* packedA, float* strip, int ldb, float* c, int m, int mPanels, int ldc, int k, int cols, float alpha, float beta, float* tile)
    {
        for (int p0 = 0; p0 < k; p0 += KC)
        {
            int kc = Math.Min(KC, k - p0);
            float blockBeta = p0 == 0 ? beta : 1f;
            for (int i = 0; i < mPanels; i++)
            {
                Kernel512(kc, packedA + ((long)i * MR * k) + ((long)p0 * MR), strip + ((long)p0 * ldb), ldb, tile);
                Store(tile, c + ((long)i * MR * ldc), ldc, Math.Min(MR, m - (i * MR)), cols, alpha, blockBeta);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : (a * b) + c;

    // The 6×32 AVX-512 micro-kernel: twelve 16-wide accumulators stay in registers across the whole k loop. B's rows
    // of 32 values lie ldb apart (32 in a packed panel; the matrix's own row length when it is read in place).
    private static void Kernel512(int kc, float* a, float* b, int ldb, float* tile)
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
            b += ldb;
        }

        c00.Store(tile); c01.Store(tile + 16);
        c10.Store(tile + 32); c11.Store(tile + 48);
        c20.Store(tile + 64); c21.Store(tile + 80);
        c30.Store(tile + 96); c31.Store(tile + 112);
        c40.Store(tile + 128); c41.Store(tile + 144);
        c50.Store(tile + 160); c51.Store(tile + 176);
    }

    // The 6×32 AVX-512 micro-kernel with A read in place: row r of the tile's A is a + r·lda, k contiguous. Rows past
    // `rows` repeat the last real one (their results are not stored). B is a packed panel, 32 values a k.
    private static void Kernel512Rows(int kc, float* a, int lda, int rows, float* b, float* tile)
    {
        float* a0 = a;
        float* a1 = a + ((long)Math.Min(1, rows - 1) * lda);
        float* a2 = a + ((long)Math.Min(2, rows - 1) * lda);
        float* a3 = a + ((long)Math.Min(3, rows - 1) * lda);
        float* a4 = a + ((long)Math.Min(4, rows - 1) * lda);
        float* a5 = a + ((long)Math.Min(5, rows - 1) * lda);
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a0[p]);
            c00 = Avx512F.FusedMultiplyAdd(x, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a1[p]);
            c10 = Avx512F.FusedMultiplyAdd(x, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a2[p]);
            c20 = Avx512F.FusedMultiplyAdd(x, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a3[p]);
            c30 = Avx512F.FusedMultiplyAdd(x, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a4[p]);
            c40 = Avx512F.FusedMultiplyAdd(x, b0, c40);
            c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a5[p]);
            c50 = Avx512F.FusedMultiplyAdd(x, b0, c50);
            c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
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
