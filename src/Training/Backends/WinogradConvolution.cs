using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>
/// The CPU's 3×3 stride-1 convolution by Winograd's minimal filtering (Lavin and Gray, 2016): each m×m block of
/// outputs is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over its (m+2)×(m+2) input tile d, so a block costs (m+2)² multiplications per
/// (output channel, input channel) pair instead of 9m², and the sum over input channels becomes (m+2)² independent
/// products U_ξ·V_ξ (ξ a position in the tile) that run on the packed SGEMM. The two adjoints are the same three steps
/// transposed: backward data is dV_ξ = U_ξᵀ·dM_ξ with dM = A dY Aᵀ and dd = B dV Bᵀ added back into the overlapping
/// tiles; backward filter is dU_ξ = dM_ξ·V_ξᵀ summed over tiles, then dg = Gᵀ dU G. Each is the exact adjoint of the
/// computed forward, so the derivative rules built on these calls stay exact to rounding.
/// </summary>
/// <remarks>
/// Two tile sizes: F(2×2, 3×3) (<see cref="F2x3"/>, the default) and F(4×4, 3×3) (<see cref="F4x3"/>). F(4×4, 3×3)
/// multiplies less (2.25 per output against 4) but its transforms lose more precision: on random data its relative
/// error is about 19 times that of the direct sum in float32 where F(2×2, 3×3)'s is about 3 times, and the batch-3
/// ResNet derivative check, whose batch norms over three values amplify any rounding, fails with it (Hessian-vector
/// error 1.4e-3 against 1.8e-4 without Winograd). <c>ONEPASS_CPU_WINOGRAD</c> = <c>0</c> turns Winograd off,
/// <c>4</c> selects F(4×4, 3×3) for speed comparisons. Winograd is used only where it multiplies at most 70 % of what
/// the padding-aware path (<see cref="TapClassConvolution"/>) does; it does not on 1×1 or 2×2 planes.
/// </remarks>
internal static class WinogradConvolution
{
    // Winograd is used when its multiplications are at most this fraction of the padding-aware path's.
    private const double MaximumCostRatio = 0.7;

    /// <summary>The environment variable that selects the tiles.</summary>
    public const string Variable = "ONEPASS_CPU_WINOGRAD";

    internal enum Tiles
    {
        Off,
        Two,
        Four,
    }

    private static Tiles? choice;

    // Read at the first convolution (not in a static initialiser, so that a bad value is reported as itself).
    private static Tiles Choice => choice ??= ReadChoice(Environment.GetEnvironmentVariable(Variable));

    internal static Tiles ReadChoice(string? value) => value switch
    {
        null or "" or "2" => Tiles.Two,
        "0" => Tiles.Off,
        "4" => Tiles.Four,
        _ => throw new ArgumentException($"{Variable} is '{value}'; use 0 (off), 2 (F(2x2,3x3), the default) or 4 (F(4x4,3x3))"),
    };

    /// <summary>
    /// Whether <paramref name="g"/> is a 3×3 stride-1 convolution on which the chosen tiles multiply at most 70 % of
    /// what the padding-aware path does.
    /// </summary>
    public static bool Applies(ConvolutionGeometry g, int outChannels) => Choice != Tiles.Off && Worthwhile(g, outChannels, Choice == Tiles.Four);

    /// <summary>Whether F(2×2, 3×3) (or, with <paramref name="fourByFour"/>, F(4×4, 3×3)) pays on <paramref name="g"/>.</summary>
    internal static bool Worthwhile(ConvolutionGeometry g, int outChannels, bool fourByFour)
    {
        if (g.KernelHeight != 3 || g.KernelWidth != 3 || g.Stride != 1 || g.Padding > 2 || g.OutputHeight < 1 || g.OutputWidth < 1
            || g.Batch < 1 || g.Channels < 1 || outChannels < 1)
        {
            return false;
        }

        double direct = (double)ValidTaps(g.Height, g.OutputHeight, g.Padding) * ValidTaps(g.Width, g.OutputWidth, g.Padding);
        double winograd = fourByFour ? WinogradConvolution<F4x3>.Multiplications(g) : WinogradConvolution<F2x3>.Multiplications(g);
        return winograd <= MaximumCostRatio * direct;
    }

    // Σ over outputs along one axis of the kernel taps inside the input.
    private static long ValidTaps(int size, int outputs, int padding)
    {
        long taps = 0;
        for (int o = 0; o < outputs; o++)
        {
            for (int t = 0; t < 3; t++)
            {
                int i = o + t - padding;
                taps += i >= 0 && i < size ? 1 : 0;
            }
        }

        return taps;
    }

    /// <summary>y = conv(x, W) + beta·y.</summary>
    public static void Forward(CpuBuffer x, CpuBuffer weight, ConvolutionGeometry g, int outChannels, CpuBuffer y, float beta)
    {
        if (Choice == Tiles.Four)
        {
            WinogradConvolution<F4x3>.Forward(x, weight, g, outChannels, y, beta);
        }
        else
        {
            WinogradConvolution<F2x3>.Forward(x, weight, g, outChannels, y, beta);
        }
    }

    /// <summary>dx += the adjoint of conv(·, W) applied to dy.</summary>
    public static void BackwardData(CpuBuffer dy, CpuBuffer weight, ConvolutionGeometry g, int outChannels, CpuBuffer dx)
    {
        if (Choice == Tiles.Four)
        {
            WinogradConvolution<F4x3>.BackwardData(dy, weight, g, outChannels, dx);
        }
        else
        {
            WinogradConvolution<F2x3>.BackwardData(dy, weight, g, outChannels, dx);
        }
    }

    /// <summary>dW += the adjoint of conv(x, ·) applied to dy.</summary>
    public static void BackwardFilter(CpuBuffer x, CpuBuffer dy, ConvolutionGeometry g, int outChannels, CpuBuffer dWeight)
    {
        if (Choice == Tiles.Four)
        {
            WinogradConvolution<F4x3>.BackwardFilter(x, dy, g, outChannels, dWeight);
        }
        else
        {
            WinogradConvolution<F2x3>.BackwardFilter(x, dy, g, outChannels, dWeight);
        }
    }
}

/// <summary>
/// One Winograd tile size: its output block <see cref="Out"/>, its tile <see cref="Alpha"/> = Out + 2, the filter's
/// one-dimensional transforms and the tile transforms (each with its transpose), on vectors of eight images.
/// </summary>
internal unsafe interface IWinogradTiles
{
    /// <summary>Outputs along one side of a block, m.</summary>
    static abstract int Out { get; }

    /// <summary>Inputs along one side of a tile, m + 2.</summary>
    static abstract int Alpha { get; }

    /// <summary>G (α×3) applied to p[0], p[s], p[2s], written to q[0..(α−1)t].</summary>
    static abstract void FilterRows(Vector256<float>* p, int s, Vector256<float>* q, int t);

    /// <summary>Gᵀ (3×α) applied to p[0..(α−1)s], written to q[0], q[t], q[2t].</summary>
    static abstract void FilterRowsAdjoint(Vector256<float>* p, int s, Vector256<float>* q, int t);

    /// <summary>
    /// Bᵀ d B of the tile whose vector (i, j) is at origin + (i·row + j)·8, its value ξ stored at target + ξ·stride.
    /// </summary>
    static abstract void InputTile(float* origin, int row, float* target, long stride);

    /// <summary>Aᵀ M A of the tile whose value ξ is at source + ξ·stride, its output (i, j) stored at origin + (i·row + j)·8.</summary>
    static abstract void OutputTile(float* source, long stride, float* origin, int row);

    /// <summary>The transpose of <see cref="InputTile"/>: B V Bᵀ of the values at source + ξ·stride, added into the tile at origin.</summary>
    static abstract void InputTileAdjoint(float* source, long stride, float* origin, int row);

    /// <summary>The transpose of <see cref="OutputTile"/>: A Y Aᵀ of the block at origin, value ξ stored at target + ξ·stride.</summary>
    static abstract void OutputTileAdjoint(float* origin, int row, float* target, long stride);
}

/// <summary>
/// F(2×2, 3×3) on the points 0, 1, −1 and ∞: Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 −1 0 1],
/// G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], Aᵀ = [1 1 1 0; 0 1 −1 1].
/// </summary>
internal readonly unsafe struct F2x3 : IWinogradTiles
{
    public static int Out => 2;

    public static int Alpha => 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FilterRows(Vector256<float>* p, int s, Vector256<float>* q, int t)
    {
        Vector256<float> g0 = p[0], g1 = p[s], g2 = p[2 * s], outer = g0 + g2;
        q[0] = g0;
        q[t] = (outer + g1) * 0.5f;
        q[2 * t] = (outer - g1) * 0.5f;
        q[3 * t] = g2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FilterRowsAdjoint(Vector256<float>* p, int s, Vector256<float>* q, int t)
    {
        Vector256<float> u0 = p[0], u1 = p[s], u2 = p[2 * s], u3 = p[3 * s];
        Vector256<float> half = (u1 + u2) * 0.5f;
        q[0] = u0 + half;
        q[t] = (u1 - u2) * 0.5f;
        q[2 * t] = half + u3;
    }

    // The 2-D transforms written out, so that a tile stays in registers.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void InputTile(float* origin, int row, float* target, long stride)
    {
        float* o1 = origin + (row * 8), o2 = origin + (row * 16), o3 = origin + (row * 24);
        Vector256<float> a0 = Vector256.Load(origin), a1 = Vector256.Load(origin + 8), a2 = Vector256.Load(origin + 16), a3 = Vector256.Load(origin + 24);
        Vector256<float> b0 = Vector256.Load(o1), b1 = Vector256.Load(o1 + 8), b2 = Vector256.Load(o1 + 16), b3 = Vector256.Load(o1 + 24);
        Vector256<float> c0 = Vector256.Load(o2), c1 = Vector256.Load(o2 + 8), c2 = Vector256.Load(o2 + 16), c3 = Vector256.Load(o2 + 24);
        Vector256<float> e0 = Vector256.Load(o3), e1 = Vector256.Load(o3 + 8), e2 = Vector256.Load(o3 + 16), e3 = Vector256.Load(o3 + 24);

        // Row i of Bᵀ d (a combination of the tile's rows a, b, c, e), then that row times B.
        InputRow(a0 - c0, a1 - c1, a2 - c2, a3 - c3, target, stride);
        InputRow(b0 + c0, b1 + c1, b2 + c2, b3 + c3, target + (4 * stride), stride);
        InputRow(c0 - b0, c1 - b1, c2 - b2, c3 - b3, target + (8 * stride), stride);
        InputRow(e0 - b0, e1 - b1, e2 - b2, e3 - b3, target + (12 * stride), stride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputRow(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3, float* at, long stride)
    {
        Vector256.Store(x0 - x2, at);
        Vector256.Store(x1 + x2, at + stride);
        Vector256.Store(x2 - x1, at + (2 * stride));
        Vector256.Store(x3 - x1, at + (3 * stride));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void OutputTile(float* source, long stride, float* origin, int row)
    {
        // Rows 0 and 1 of Aᵀ M, column by column (s, t), then each row times A.
        Vector256<float> s0 = OutputColumn0(source, stride), s1 = OutputColumn0(source + stride, stride);
        Vector256<float> s2 = OutputColumn0(source + (2 * stride), stride), s3 = OutputColumn0(source + (3 * stride), stride);
        Vector256<float> t0 = OutputColumn1(source, stride), t1 = OutputColumn1(source + stride, stride);
        Vector256<float> t2 = OutputColumn1(source + (2 * stride), stride), t3 = OutputColumn1(source + (3 * stride), stride);
        float* next = origin + (row * 8);
        Vector256.Store(s0 + s1 + s2, origin);
        Vector256.Store(s1 - s2 + s3, origin + 8);
        Vector256.Store(t0 + t1 + t2, next);
        Vector256.Store(t1 - t2 + t3, next + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void InputTileAdjoint(float* source, long stride, float* origin, int row)
    {
        // B applied down each column gives rows q0..q3 of B e; AddRow applies B along each.
        Vector256<float> e00 = Vector256.Load(source), e01 = Vector256.Load(source + stride), e02 = Vector256.Load(source + (2 * stride)), e03 = Vector256.Load(source + (3 * stride));
        Vector256<float> e10 = Vector256.Load(source + (4 * stride)), e11 = Vector256.Load(source + (5 * stride)), e12 = Vector256.Load(source + (6 * stride)), e13 = Vector256.Load(source + (7 * stride));
        Vector256<float> e20 = Vector256.Load(source + (8 * stride)), e21 = Vector256.Load(source + (9 * stride)), e22 = Vector256.Load(source + (10 * stride)), e23 = Vector256.Load(source + (11 * stride));
        Vector256<float> e30 = Vector256.Load(source + (12 * stride)), e31 = Vector256.Load(source + (13 * stride)), e32 = Vector256.Load(source + (14 * stride)), e33 = Vector256.Load(source + (15 * stride));
        int r = row * 8;
        AddRow(e00, e01, e02, e03, origin);
        AddRow(e10 - e20 - e30, e11 - e21 - e31, e12 - e22 - e32, e13 - e23 - e33, origin + r);
        AddRow(e10 + e20 - e00, e11 + e21 - e01, e12 + e22 - e02, e13 + e23 - e03, origin + (2 * r));
        AddRow(e30, e31, e32, e33, origin + (3 * r));
    }

    // Adds B applied to the row (q0, q1, q2, q3) into the four vectors at `at`.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(Vector256<float> q0, Vector256<float> q1, Vector256<float> q2, Vector256<float> q3, float* at)
    {
        Vector256.Store(Vector256.Load(at) + q0, at);
        Vector256.Store(Vector256.Load(at + 8) + (q1 - q2 - q3), at + 8);
        Vector256.Store(Vector256.Load(at + 16) + (q1 + q2 - q0), at + 16);
        Vector256.Store(Vector256.Load(at + 24) + q3, at + 24);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void OutputTileAdjoint(float* origin, int row, float* target, long stride)
    {
        // A down each column gives rows (y0j, y0j + y1j, y0j − y1j, y1j); A along each row gives (u, u + v, u − v, v).
        float* next = origin + (row * 8);
        Vector256<float> y00 = Vector256.Load(origin), y01 = Vector256.Load(origin + 8), y10 = Vector256.Load(next), y11 = Vector256.Load(next + 8);
        OutputRowAdjoint(y00, y01, target, stride);
        OutputRowAdjoint(y00 + y10, y01 + y11, target + (4 * stride), stride);
        OutputRowAdjoint(y00 - y10, y01 - y11, target + (8 * stride), stride);
        OutputRowAdjoint(y10, y11, target + (12 * stride), stride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputRowAdjoint(Vector256<float> u, Vector256<float> v, float* at, long stride)
    {
        Vector256.Store(u, at);
        Vector256.Store(u + v, at + stride);
        Vector256.Store(u - v, at + (2 * stride));
        Vector256.Store(v, at + (3 * stride));
    }

    // Row 0 (m0 + m1 + m2) and row 1 (m1 − m2 + m3) of Aᵀ applied to the column starting at p.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> OutputColumn0(float* p, long stride) =>
        Vector256.Load(p) + Vector256.Load(p + (4 * stride)) + Vector256.Load(p + (8 * stride));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> OutputColumn1(float* p, long stride) =>
        Vector256.Load(p + (4 * stride)) - Vector256.Load(p + (8 * stride)) + Vector256.Load(p + (12 * stride));
}

/// <summary>
/// F(4×4, 3×3) on the points 0, ±1, ±2 and ∞ (Lavin and Gray's matrices): Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0;
/// 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1], G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙;
/// 1/24 −1/12 ⅙; 0 0 1], Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1].
/// </summary>
internal readonly unsafe struct F4x3 : IWinogradTiles
{
    public static int Out => 4;

    public static int Alpha => 6;

    public static void InputTile(float* origin, int row, float* target, long stride)
    {
        var d = stackalloc Vector256<float>[36];
        for (int i = 0; i < 6; i++)
        {
            for (int j = 0; j < 6; j++)
            {
                d[(i * 6) + j] = Vector256.Load(origin + (((i * row) + j) * 8));
            }
        }

        for (int j = 0; j < 6; j++)
        {
            InputRows(d + j, 6);
        }

        for (int i = 0; i < 6; i++)
        {
            InputRows(d + (i * 6), 1);
        }

        for (int xi = 0; xi < 36; xi++)
        {
            d[xi].Store(target + (xi * stride));
        }
    }

    public static void InputTileAdjoint(float* source, long stride, float* origin, int row)
    {
        var d = stackalloc Vector256<float>[36];
        for (int xi = 0; xi < 36; xi++)
        {
            d[xi] = Vector256.Load(source + (xi * stride));
        }

        for (int j = 0; j < 6; j++)
        {
            InputRowsAdjoint(d + j, 6);
        }

        for (int i = 0; i < 6; i++)
        {
            InputRowsAdjoint(d + (i * 6), 1);
        }

        for (int i = 0; i < 6; i++)
        {
            for (int j = 0; j < 6; j++)
            {
                float* at = origin + (((i * row) + j) * 8);
                (Vector256.Load(at) + d[(i * 6) + j]).Store(at);
            }
        }
    }

    public static void OutputTileAdjoint(float* origin, int row, float* target, long stride)
    {
        var s = stackalloc Vector256<float>[24];
        var r = stackalloc Vector256<float>[36];

        // A along each row (4×4 → 4×6), then along each column (4×6 → 6×6).
        for (int i = 0; i < 4; i++)
        {
            OutputRowsAdjoint((Vector256<float>*)(origin + (i * row * 8)), 1, s + (i * 6), 1);
        }

        for (int j = 0; j < 6; j++)
        {
            OutputRowsAdjoint(s + j, 6, r + j, 6);
        }

        for (int xi = 0; xi < 36; xi++)
        {
            r[xi].Store(target + (xi * stride));
        }
    }

    public static void OutputTile(float* source, long stride, float* origin, int row)
    {
        var r = stackalloc Vector256<float>[36];
        var s = stackalloc Vector256<float>[24];
        for (int xi = 0; xi < 36; xi++)
        {
            r[xi] = Vector256.Load(source + (xi * stride));
        }

        // Aᵀ along each column (6×6 → 4×6), then along each row (4×6 → 4×4).
        for (int j = 0; j < 6; j++)
        {
            OutputRows(r + j, 6, s + j, 6);
        }

        for (int i = 0; i < 4; i++)
        {
            OutputRows(s + (i * 6), 1, (Vector256<float>*)(origin + (i * row * 8)), 1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputRows(Vector256<float>* p, int s)
    {
        Vector256<float> d0 = p[0], d1 = p[s], d2 = p[2 * s], d3 = p[3 * s], d4 = p[4 * s], d5 = p[5 * s];
        Vector256<float> four = Vector256.Create(4f), five = Vector256.Create(5f), two = Vector256.Create(2f);
        p[0] = (four * d0) - (five * d2) + d4;
        p[s] = d4 + d3 - (four * (d1 + d2));
        p[2 * s] = d4 - d3 + (four * (d1 - d2));
        p[3 * s] = d4 - d2 + (two * (d3 - d1));
        p[4 * s] = d4 - d2 - (two * (d3 - d1));
        p[5 * s] = (four * d1) - (five * d3) + d5;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputRowsAdjoint(Vector256<float>* p, int s)
    {
        Vector256<float> e0 = p[0], e1 = p[s], e2 = p[2 * s], e3 = p[3 * s], e4 = p[4 * s], e5 = p[5 * s];
        Vector256<float> four = Vector256.Create(4f), five = Vector256.Create(5f), two = Vector256.Create(2f);
        p[0] = four * e0;
        p[s] = (four * (e2 - e1 + e5)) + (two * (e4 - e3));
        p[2 * s] = -(five * e0) - (four * (e1 + e2)) - e3 - e4;
        p[3 * s] = e1 - e2 + (two * (e3 - e4)) - (five * e5);
        p[4 * s] = e0 + e1 + e2 + e3 + e4;
        p[5 * s] = e5;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputRows(Vector256<float>* p, int s, Vector256<float>* q, int t)
    {
        Vector256<float> m0 = p[0], m1 = p[s], m2 = p[2 * s], m3 = p[3 * s], m4 = p[4 * s], m5 = p[5 * s];
        Vector256<float> plus12 = m1 + m2, minus12 = m1 - m2, plus34 = m3 + m4, minus34 = m3 - m4;
        q[0] = m0 + plus12 + plus34;
        q[t] = minus12 + (Vector256.Create(2f) * minus34);
        q[2 * t] = plus12 + (Vector256.Create(4f) * plus34);
        q[3 * t] = minus12 + (Vector256.Create(8f) * minus34) + m5;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputRowsAdjoint(Vector256<float>* p, int s, Vector256<float>* q, int t)
    {
        Vector256<float> y0 = p[0], y1 = p[s], y2 = p[2 * s], y3 = p[3 * s];
        Vector256<float> two = Vector256.Create(2f), four = Vector256.Create(4f), eight = Vector256.Create(8f);
        Vector256<float> even1 = y0 + y2, odd1 = y1 + y3, even2 = y0 + (four * y2), odd2 = (two * y1) + (eight * y3);
        q[0] = y0;
        q[t] = even1 + odd1;
        q[2 * t] = even1 - odd1;
        q[3 * t] = even2 + odd2;
        q[4 * t] = even2 - odd2;
        q[5 * t] = y3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FilterRows(Vector256<float>* p, int s, Vector256<float>* q, int t)
    {
        Vector256<float> g0 = p[0], g1 = p[s], g2 = p[2 * s];
        Vector256<float> outer = g0 + g2;
        q[0] = g0 * 0.25f;
        q[t] = (outer + g1) * (-1f / 6f);
        q[2 * t] = (outer - g1) * (-1f / 6f);
        Vector256<float> even = (g0 * (1f / 24f)) + (g2 * (1f / 6f)), odd = g1 * (1f / 12f);
        q[3 * t] = even + odd;
        q[4 * t] = even - odd;
        q[5 * t] = g2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FilterRowsAdjoint(Vector256<float>* p, int s, Vector256<float>* q, int t)
    {
        Vector256<float> u0 = p[0], u1 = p[s], u2 = p[2 * s], u3 = p[3 * s], u4 = p[4 * s], u5 = p[5 * s];
        Vector256<float> plus12 = u1 + u2, minus12 = u2 - u1, plus34 = u3 + u4, minus34 = u3 - u4;
        q[0] = (u0 * 0.25f) - (plus12 * (1f / 6f)) + (plus34 * (1f / 24f));
        q[t] = (minus12 * (1f / 6f)) + (minus34 * (1f / 12f));
        q[2 * t] = ((plus34 - plus12) * (1f / 6f)) + u5;
    }
}

/// <summary>
/// Winograd convolution with the tiles <typeparamref name="T"/> (see <see cref="WinogradConvolution"/>).
/// </summary>
/// <remarks>
/// Layout: the transforms run on vectors of eight images (lanes), so an input or output plane of eight images is
/// first turned into [position][lane] in a small buffer that stays in L1, and a tile's α² values are α² vectors. The
/// transformed matrices are V[ξ][c][t], M[ξ][k][t] and U[ξ][k·C + c], with column t = (group·tiles + tile)·8 + lane;
/// a batch whose images are not a multiple of eight gets zero lanes. The batch is cut into chunks of lane groups so
/// that V and M stay a few megabytes. The α² products of a pass are independent, so they run in parallel, each on
/// one core.
/// </remarks>
internal static unsafe class WinogradConvolution<T>
    where T : struct, IWinogradTiles
{
    private static int Out => T.Out;

    private static int Alpha => T.Alpha;

    private static int Positions => T.Alpha * T.Alpha;

    private const int Lanes = 8;

    // Elements of V or M in one chunk: small enough that one worker's V, M and share of U stay in its own caches.
    private const int ChunkElements = 1 << 17;

    // Below this many elements a transform stays on the calling thread.
    private const long ParallelThreshold = 1L << 15;

    private readonly record struct Plan(ConvolutionGeometry G, int OutChannels)
    {
        public int OutH => G.OutputHeight;

        public int OutW => G.OutputWidth;

        public int TilesY => (OutH + Out - 1) / Out;

        public int TilesX => (OutW + Out - 1) / Out;

        public int Tiles => TilesY * TilesX;

        public int Groups => (G.Batch + Lanes - 1) / Lanes;

        // The padded input plane a group's tiles read: every tile's 6×6 window, zeros outside the image.
        public int PaddedH => (TilesY * Out) + 2;

        public int PaddedW => (TilesX * Out) + 2;

        // Lane groups per chunk.
        public int GroupsPerChunk => Math.Clamp(ChunkElements / (Positions * Math.Max(G.Channels, OutChannels) * Tiles * Lanes), 1, Groups);
    }

    /// <summary>Multiplications per (output channel, input channel, image) of these tiles on <paramref name="g"/>.</summary>
    public static double Multiplications(ConvolutionGeometry g) => new Plan(g, 1).Tiles * (double)Positions;

    /// <summary>y = conv(x, W) + beta·y.</summary>
    public static void Forward(CpuBuffer x, CpuBuffer weight, ConvolutionGeometry g, int outChannels, CpuBuffer y, float beta)
    {
        var plan = new Plan(g, outChannels);
        int c = g.Channels, k = outChannels;
        WithFilter(weight, c, k, transposed: false, u => ForChunks(plan, (group0, groups, columns, v, m, _, _, inner) =>
        {
            InputTransform(plan, x, group0, groups, columns, v, inner);
            ForPositions(inner, (long)k * c * columns, xi =>
                CpuGemm.MultiplyOnThisThread(false, false, k, columns, c, 1f, u.AsSpan(xi * k * c, k * c), v.AsSpan(xi * Stride(c, columns), c * columns), 0f,
                    m.AsSpan(xi * Stride(k, columns), k * columns)));
            OutputTransform(plan, m, group0, groups, columns, y, beta, inner);
        }));
    }

    /// <summary>dx += the adjoint of conv(·, W) applied to dy.</summary>
    public static void BackwardData(CpuBuffer dy, CpuBuffer weight, ConvolutionGeometry g, int outChannels, CpuBuffer dx)
    {
        var plan = new Plan(g, outChannels);
        int c = g.Channels, k = outChannels;
        WithFilter(weight, c, k, transposed: true, u => ForChunks(plan, (group0, groups, columns, v, m, _, _, inner) =>
        {
            OutputAdjoint(plan, dy, group0, groups, columns, m, inner);
            ForPositions(inner, (long)k * c * columns, xi =>
                CpuGemm.MultiplyOnThisThread(false, false, c, columns, k, 1f, u.AsSpan(xi * k * c, k * c), m.AsSpan(xi * Stride(k, columns), k * columns), 0f,
                    v.AsSpan(xi * Stride(c, columns), c * columns)));
            InputAdjoint(plan, v, group0, groups, columns, dx, inner);
        }));
    }

    // Runs body with the transformed filter U (see FilterTransform), returning it to the pool afterwards.
    private static void WithFilter(CpuBuffer weight, int channels, int outChannels, bool transposed, Action<float[]> body)
    {
        float[] u = FilterTransform(weight, channels, outChannels, transposed);
        try
        {
            body(u);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(u);
        }
    }

    /// <summary>dW += the adjoint of conv(x, ·) applied to dy.</summary>
    public static void BackwardFilter(CpuBuffer x, CpuBuffer dy, ConvolutionGeometry g, int outChannels, CpuBuffer dWeight)
    {
        var plan = new Plan(g, outChannels);
        int c = g.Channels, k = outChannels;
        float[] du = ArrayPool<float>.Shared.Rent(Positions * k * c);
        try
        {
            ForChunks(plan, (group0, groups, columns, v, m, partial, first, inner) =>
            {
                InputTransform(plan, x, group0, groups, columns, v, inner);
                OutputAdjoint(plan, dy, group0, groups, columns, m, inner);
                ForPositions(inner, (long)k * c * columns, xi =>
                    CpuGemm.MultiplyOnThisThread(false, true, k, c, columns, 1f, m.AsSpan(xi * Stride(k, columns), k * columns), v.AsSpan(xi * Stride(c, columns), c * columns),
                        first ? 0f : 1f, partial!.AsSpan(xi * k * c, k * c)));
            }, du, Positions * k * c);
            FilterAdjoint(du, c, k, dWeight);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(du);
        }
    }

    // Elements from one position's matrix in V or M to the next: rows × columns plus one cache line, so that the
    // transforms' α² streams (one per position, written or read together) fall in different cache sets instead of
    // all in one, which a power-of-two size would do.
    private static int Stride(int rows, int columns) => (rows * columns) + 16;

    // At most one worker per core: the pool may add threads, and more workers than cores only share caches.
    private static readonly ParallelOptions Cores = new() { MaxDegreeOfParallelism = Environment.ProcessorCount };

    // One chunk's work: its lane groups [group0, group0 + groups), their columns, the V and M buffers, for the filter
    // gradient the dU it accumulates into (overwritten when first), and whether it may fork work across cores itself.
    private delegate void ChunkBody(int group0, int groups, int columns, float[] v, float[] m, float[]? partial, bool first, bool inner);

    // Runs body over the batch in chunks of lane groups. Several chunks run in parallel, each worker with its own V
    // and M (and, when sums are asked for, its own dU, added into sums, of the given length, at the end); a single
    // chunk runs on the calling thread and forks its transforms and products itself.
    private static void ForChunks(Plan plan, ChunkBody body, float[]? sums = null, int length = 0)
    {
        int per = plan.GroupsPerChunk, most = per * plan.Tiles * Lanes, chunks = (plan.Groups + per - 1) / per;
        int vLength = Positions * Stride(plan.G.Channels, most), mLength = Positions * Stride(plan.OutChannels, most);
        if (chunks == 1 || Environment.ProcessorCount == 1)
        {
            using var worker = new Worker(vLength, mLength, sums is null ? 0 : length);
            for (int chunk = 0; chunk < chunks; chunk++)
            {
                int group0 = chunk * per, groups = Math.Min(per, plan.Groups - group0);
                body(group0, groups, groups * plan.Tiles * Lanes, worker.V, worker.M, sums, chunk == 0, inner: chunks == 1);
            }

            return;
        }

        if (sums is not null)
        {
            sums.AsSpan(0, length).Clear();
        }

        Parallel.For(0, chunks, Cores, () => new Worker(vLength, mLength, sums is null ? 0 : length), (chunk, _, worker) =>
        {
            int group0 = chunk * per, groups = Math.Min(per, plan.Groups - group0);
            body(group0, groups, groups * plan.Tiles * Lanes, worker.V, worker.M, worker.Partial, !worker.Used, inner: false);
            worker.Used = true;
            return worker;
        }, worker =>
        {
            if (sums is not null && worker.Used)
            {
                lock (sums)
                {
                    System.Numerics.Tensors.TensorPrimitives.Add(sums.AsSpan(0, length), worker.Partial.AsSpan(0, length), sums.AsSpan(0, length));
                }
            }

            worker.Dispose();
        });
    }

    // One worker's buffers, rented from the shared pool.
    private sealed class Worker(int vLength, int mLength, int partialLength) : IDisposable
    {
        public float[] V { get; } = ArrayPool<float>.Shared.Rent(vLength);

        public float[] M { get; } = ArrayPool<float>.Shared.Rent(mLength);

        public float[] Partial { get; } = ArrayPool<float>.Shared.Rent(Math.Max(1, partialLength));

        public bool Used { get; set; }

        public void Dispose()
        {
            ArrayPool<float>.Shared.Return(V);
            ArrayPool<float>.Shared.Return(M);
            ArrayPool<float>.Shared.Return(Partial);
        }
    }

    // The 36 independent products of one pass, each on one thread, split across cores in contiguous runs of positions.
    private static void ForPositions(bool inner, long multiplyAdds, Action<int> product)
    {
        int cores = Environment.ProcessorCount;
        if (inner && cores > 1 && multiplyAdds * Positions >= ParallelProduct)
        {
            int parts = Math.Min(cores, Positions);
            Parallel.For(0, parts, part =>
            {
                for (int xi = Positions * part / parts; xi < Positions * (part + 1) / parts; xi++)
                {
                    product(xi);
                }
            });
        }
        else
        {
            for (int xi = 0; xi < Positions; xi++)
            {
                product(xi);
            }
        }
    }

    // Below this many multiply-adds in all a pass's products stay on the calling thread.
    private const long ParallelProduct = 1L << 19;

    private static void For(int count, long elements, Action<int> body, bool inner = true)
    {
        if (inner && count > 1 && elements >= ParallelThreshold && Environment.ProcessorCount > 1)
        {
            Parallel.For(0, count, Cores, body);
        }
        else
        {
            for (int i = 0; i < count; i++)
            {
                body(i);
            }
        }
    }

    // Runs body(b0, b1) over the blocks of eight (o, c) pairs in a few contiguous runs per core.
    private static void ForPairBlocks(int pairs, Action<int, int> body)
    {
        int blocks = (pairs + Lanes - 1) / Lanes, parts = Math.Max(1, Math.Min(blocks, 4 * Environment.ProcessorCount));
        For(parts, (long)pairs * Positions, part => body((int)((long)blocks * part / parts), (int)((long)blocks * (part + 1) / parts)));
    }

    // U[ξ][o·C + c] = (G W[o, c] Gᵀ)[ξ], or with transposed U[ξ][c·O + o] (the layout backward data multiplies by, so
    // that the product reads it in place), eight (o, c) pairs at a time (rented; the caller returns it).
    private static float[] FilterTransform(CpuBuffer weight, int channels, int outChannels, bool transposed)
    {
        int pairs = channels * outChannels;
        float[] u = ArrayPool<float>.Shared.Rent(Positions * pairs);
        float[] w = weight.Array;
        int offset = weight.Offset;
        ForPairBlocks(pairs, (b0, b1) =>
        {
            var lane = stackalloc float[Lanes];
            var g = stackalloc Vector256<float>[9];
            var t = stackalloc Vector256<float>[18];
            var r = stackalloc Vector256<float>[Positions];
            for (int b = b0; b < b1; b++)
            {
                int first = b * Lanes, count = Math.Min(Lanes, pairs - first);
                for (int tap = 0; tap < 9; tap++)
                {
                    for (int l = 0; l < Lanes; l++)
                    {
                        lane[l] = l < count ? w[offset + ((first + l) * 9) + tap] : 0f;
                    }

                    g[tap] = Vector256.Load(lane);
                }

                // Rows of G·g (6×3), then (G·g)·Gᵀ (6×6).
                for (int j = 0; j < 3; j++)
                {
                    T.FilterRows(g + j, 3, t + j, 3);
                }

                for (int i = 0; i < Alpha; i++)
                {
                    T.FilterRows(t + (i * 3), 1, r + (i * Alpha), 1);
                }

                for (int xi = 0; xi < Positions; xi++)
                {
                    if (transposed)
                    {
                        for (int l = 0; l < count; l++)
                        {
                            int pair = first + l, o = pair / channels, c = pair - (o * channels);
                            u[(xi * pairs) + (c * outChannels) + o] = r[xi].GetElement(l);
                        }
                    }
                    else
                    {
                        StoreLanes(r[xi], u, (xi * pairs) + first, count);
                    }
                }
            }
        });
        return u;
    }

    // dW[o, c] += (Gᵀ dU[o·C + c] G), eight pairs at a time.
    private static void FilterAdjoint(float[] du, int channels, int outChannels, CpuBuffer dWeight)
    {
        int pairs = channels * outChannels;
        float[] w = dWeight.Array;
        int offset = dWeight.Offset;
        ForPairBlocks(pairs, (b0, b1) =>
        {
            var lane = stackalloc float[Lanes];
            var r = stackalloc Vector256<float>[Positions];
            var t = stackalloc Vector256<float>[18];
            var g = stackalloc Vector256<float>[9];
            for (int b = b0; b < b1; b++)
            {
                int first = b * Lanes, count = Math.Min(Lanes, pairs - first);
                for (int xi = 0; xi < Positions; xi++)
                {
                    r[xi] = LoadLanes(du, (xi * pairs) + first, count, lane);
                }

                // Gᵀ along the rows of each column (6×6 → 3×6), then along each row (3×6 → 3×3).
                for (int j = 0; j < Alpha; j++)
                {
                    T.FilterRowsAdjoint(r + j, Alpha, t + j, Alpha);
                }

                for (int i = 0; i < 3; i++)
                {
                    T.FilterRowsAdjoint(t + (i * Alpha), 1, g + (i * 3), 1);
                }

                for (int tap = 0; tap < 9; tap++)
                {
                    g[tap].Store(lane);
                    for (int l = 0; l < count; l++)
                    {
                        w[offset + ((first + l) * 9) + tap] += lane[l];
                    }
                }
            }
        });
    }

    // A step on one channel's plane buffer for one lane group, and a step on one tile (at its origin in the buffer;
    // t is its first column in V or M).
    private delegate void GroupStep(float* buffer, int channel, int group);

    private delegate void TileStep(float* origin, int channel, int t);

    // For each of `channels` channels (in parallel when inner), a zeroed buffer of rows × row positions of eight
    // lanes; for each lane group: before, tile at every tile (origins Out positions apart), after. With
    // clearEachGroup the buffer is zeroed again for every group.
    private static void Sweep(Plan plan, int channels, int rows, int row, int groups, long elements, bool clearEachGroup, bool inner,
        GroupStep? before, TileStep tile, GroupStep? after)
    {
        int length = rows * row * Lanes;
        For(channels, elements, c =>
        {
            float[] rented = ArrayPool<float>.Shared.Rent(length);
            try
            {
                fixed (float* buffer = rented)
                {
                    for (int gi = 0; gi < groups; gi++)
                    {
                        if (gi == 0 || clearEachGroup)
                        {
                            new Span<float>(buffer, length).Clear();
                        }

                        before?.Invoke(buffer, c, gi);
                        for (int ty = 0; ty < plan.TilesY; ty++)
                        {
                            for (int tx = 0; tx < plan.TilesX; tx++)
                            {
                                tile(buffer + ((((ty * Out) * row) + (tx * Out)) * Lanes), c, ((gi * plan.Tiles) + (ty * plan.TilesX) + tx) * Lanes);
                            }
                        }

                        after?.Invoke(buffer, c, gi);
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(rented);
            }
        }, inner);
    }

    // V[ξ][c][t] for the chunk's groups: each channel's eight-image planes, padded, then Bᵀ d B per tile.
    private static void InputTransform(Plan plan, CpuBuffer x, int group0, int groups, int columns, float[] v, bool inner)
    {
        var g = plan.G;
        int channels = g.Channels, wp = plan.PaddedW;
        long stride = Stride(channels, columns);
        fixed (float* px = x.Array, pv = v)
        {
            nint source = (nint)(px + x.Offset), target = (nint)pv;
            Sweep(plan, channels, plan.PaddedH, wp, groups, (long)channels * groups * Lanes * g.InputPlane, clearEachGroup: false, inner,
                (buffer, c, gi) => LoadPlanes((float*)source, (group0 + gi) * Lanes, g.Batch, channels, c, g.Height, g.Width, buffer, wp, g.Padding),
                (origin, c, t) => T.InputTile(origin, wp, (float*)target + (c * columns) + t, stride),
                null);
        }
    }

    // dx[n, c] += the interior of Σ over tiles of B dV Bᵀ placed at each tile's window.
    private static void InputAdjoint(Plan plan, float[] v, int group0, int groups, int columns, CpuBuffer dx, bool inner)
    {
        var g = plan.G;
        int channels = g.Channels, wp = plan.PaddedW;
        long stride = Stride(channels, columns);
        fixed (float* px = dx.Array, pv = v)
        {
            nint source = (nint)pv, target = (nint)(px + dx.Offset);
            Sweep(plan, channels, plan.PaddedH, wp, groups, (long)channels * groups * Lanes * g.InputPlane, clearEachGroup: true, inner,
                null,
                (origin, c, t) => T.InputTileAdjoint((float*)source + (c * columns) + t, stride, origin, wp),
                (buffer, c, gi) => AddPlanes(buffer, wp, g.Padding, (group0 + gi) * Lanes, g.Batch, channels, c, g.Height, g.Width, (float*)target));
        }
    }

    // y[n, k] = beta·y[n, k] + Aᵀ M A per tile.
    private static void OutputTransform(Plan plan, float[] m, int group0, int groups, int columns, CpuBuffer y, float beta, bool inner)
    {
        int outChannels = plan.OutChannels, tw = plan.TilesX * Out;
        long stride = Stride(outChannels, columns);
        fixed (float* py = y.Array, pm = m)
        {
            nint source = (nint)pm, target = (nint)(py + y.Offset);
            Sweep(plan, outChannels, plan.TilesY * Out, tw, groups, (long)outChannels * groups * Lanes * plan.G.OutputPlane, clearEachGroup: false, inner,
                null,
                (origin, k, t) => T.OutputTile((float*)source + (k * columns) + t, stride, origin, tw),
                (buffer, k, gi) => StorePlanes(buffer, tw, (group0 + gi) * Lanes, plan.G.Batch, outChannels, k, plan.OutH, plan.OutW, beta, (float*)target));
        }
    }

    // dM[ξ][k][t] = (A dY Aᵀ)[ξ] per tile, dY zero beyond the output.
    private static void OutputAdjoint(Plan plan, CpuBuffer dy, int group0, int groups, int columns, float[] m, bool inner)
    {
        int outChannels = plan.OutChannels, tw = plan.TilesX * Out;
        long stride = Stride(outChannels, columns);
        fixed (float* py = dy.Array, pm = m)
        {
            nint source = (nint)(py + dy.Offset), target = (nint)pm;
            Sweep(plan, outChannels, plan.TilesY * Out, tw, groups, (long)outChannels * groups * Lanes * plan.G.OutputPlane, clearEachGroup: false, inner,
                (buffer, k, gi) => LoadPlanes((float*)source, (group0 + gi) * Lanes, plan.G.Batch, outChannels, k, plan.OutH, plan.OutW, buffer, tw, 0),
                (origin, k, t) => T.OutputTileAdjoint(origin, tw, (float*)target + (k * columns) + t, stride),
                null);
        }
    }

    // Copies plane `channel` of images n0..n0+7 of an [N, C, H, W] tensor into buf[(i + pad)·stride + j + pad][lane]
    // (lanes of missing images are zeroed; the rest of buf is left as it is). Eight consecutive positions of eight
    // images are moved at a time through an 8×8 register transpose.
    private static void LoadPlanes(float* source, int n0, int batch, int channels, int channel, int height, int width, float* buf, int stride, int pad)
    {
        int plane = height * width, full = n0 + Lanes <= batch && Avx.IsSupported ? plane & ~7 : 0;
        var r = stackalloc Vector256<float>[Lanes];
        float* first = source + ((((long)n0 * channels) + channel) * plane);
        long step = (long)channels * plane;
        for (int at = 0; at < full; at += 8)
        {
            for (int l = 0; l < Lanes; l++)
            {
                r[l] = Vector256.Load(first + (l * step) + at);
            }

            Transpose(r);
            for (int q = 0; q < 8; q++)
            {
                int i = (at + q) / width, j = (at + q) - (i * width);
                r[q].Store(buf + (((((i + pad) * stride) + j + pad)) * Lanes));
            }
        }

        for (int l = 0; l < Lanes; l++)
        {
            int n = n0 + l;
            float* from = n < batch ? first + (l * step) : null;
            for (int at = full; at < plane; at++)
            {
                int i = at / width, j = at - (i * width);
                buf[((((i + pad) * stride) + j + pad) * Lanes) + l] = from is null ? 0f : from[at];
            }
        }
    }

    // target[n, c] += buf's interior (rows and columns from pad), for the images that exist.
    private static void AddPlanes(float* buf, int stride, int pad, int n0, int batch, int channels, int channel, int height, int width, float* target)
    {
        int plane = height * width, full = n0 + Lanes <= batch && Avx.IsSupported ? plane & ~7 : 0;
        var r = stackalloc Vector256<float>[Lanes];
        float* first = target + ((((long)n0 * channels) + channel) * plane);
        long step = (long)channels * plane;
        for (int at = 0; at < full; at += 8)
        {
            for (int q = 0; q < 8; q++)
            {
                int i = (at + q) / width, j = (at + q) - (i * width);
                r[q] = Vector256.Load(buf + (((((i + pad) * stride) + j + pad)) * Lanes));
            }

            Transpose(r);
            for (int l = 0; l < Lanes; l++)
            {
                float* to = first + (l * step) + at;
                (Vector256.Load(to) + r[l]).Store(to);
            }
        }

        for (int l = 0; l < Lanes && n0 + l < batch; l++)
        {
            float* to = first + (l * step);
            for (int at = full; at < plane; at++)
            {
                int i = at / width, j = at - (i * width);
                to[at] += buf[((((i + pad) * stride) + j + pad) * Lanes) + l];
            }
        }
    }

    // target[n, k] = beta·target[n, k] + buf (the first height × width of a stride-wide plane).
    private static void StorePlanes(float* buf, int stride, int n0, int batch, int channels, int channel, int height, int width, float beta, float* target)
    {
        int plane = height * width, full = n0 + Lanes <= batch && Avx.IsSupported ? plane & ~7 : 0;
        var r = stackalloc Vector256<float>[Lanes];
        float* first = target + ((((long)n0 * channels) + channel) * plane);
        long step = (long)channels * plane;
        for (int at = 0; at < full; at += 8)
        {
            for (int q = 0; q < 8; q++)
            {
                int i = (at + q) / width, j = (at + q) - (i * width);
                r[q] = Vector256.Load(buf + (((i * stride) + j) * Lanes));
            }

            Transpose(r);
            for (int l = 0; l < Lanes; l++)
            {
                float* to = first + (l * step) + at;
                (beta == 0f ? r[l] : (Vector256.Load(to) * beta) + r[l]).Store(to);
            }
        }

        for (int l = 0; l < Lanes && n0 + l < batch; l++)
        {
            float* to = first + (l * step);
            for (int at = full; at < plane; at++)
            {
                int i = at / width, j = at - (i * width);
                float value = buf[(((i * stride) + j) * Lanes) + l];
                to[at] = beta == 0f ? value : (beta * to[at]) + value;
            }
        }
    }

    // r[0..7] (eight rows of eight) replaced by their transpose.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(Vector256<float>* r)
    {
        Vector256<float> t0 = Avx.UnpackLow(r[0], r[1]), t1 = Avx.UnpackHigh(r[0], r[1]);
        Vector256<float> t2 = Avx.UnpackLow(r[2], r[3]), t3 = Avx.UnpackHigh(r[2], r[3]);
        Vector256<float> t4 = Avx.UnpackLow(r[4], r[5]), t5 = Avx.UnpackHigh(r[4], r[5]);
        Vector256<float> t6 = Avx.UnpackLow(r[6], r[7]), t7 = Avx.UnpackHigh(r[6], r[7]);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE), s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE), s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        r[0] = Avx.Permute2x128(s0, s4, 0x20);
        r[1] = Avx.Permute2x128(s1, s5, 0x20);
        r[2] = Avx.Permute2x128(s2, s6, 0x20);
        r[3] = Avx.Permute2x128(s3, s7, 0x20);
        r[4] = Avx.Permute2x128(s0, s4, 0x31);
        r[5] = Avx.Permute2x128(s1, s5, 0x31);
        r[6] = Avx.Permute2x128(s2, s6, 0x31);
        r[7] = Avx.Permute2x128(s3, s7, 0x31);
    }

    private static Vector256<float> LoadLanes(float[] source, int first, int count, float* lane)
    {
        for (int l = 0; l < Lanes; l++)
        {
            lane[l] = l < count ? source[first + l] : 0f;
        }

        return Vector256.Load(lane);
    }

    private static void StoreLanes(Vector256<float> value, float[] target, int first, int count)
    {
        for (int l = 0; l < count; l++)
        {
            target[first + l] = value.GetElement(l);
        }
    }
}
