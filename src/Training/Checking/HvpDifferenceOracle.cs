namespace OnePass.Training.Checking;

/// <summary>
/// The finite-difference oracle for Hessian-vector products, made robust to kinks. A piecewise-linear activation
/// (ReLU) or a max-pool has a Hessian that jumps where a unit changes sign or a window changes its winner; a mixed
/// second difference whose step carries some unit across that kink measures the jump, not the Hessian, and
/// disagrees with the exact product although the engine is right. The oracle therefore differences at a ladder of
/// steps, from 1e-4 (accurate in double precision for smooth losses) down to 1e-6 (where a kink is unlikely to lie
/// within reach), and keeps the step that agrees best with the engine as a whole vector. A wrong product disagrees
/// at every step, so a failure still means a wrong product.
/// </summary>
/// <remarks>
/// The step along v moves the weights by h in norm (v is scaled to unit length, and the difference scaled back by
/// ‖v‖): with v drawn per weight, a step of h·v would move a ResNet's tens of thousands of weights by h·√n, far
/// outside the quadratic regime.
/// </remarks>
public static class HvpDifferenceOracle
{
    /// <summary>The steps tried, largest first.</summary>
    public static IReadOnlyList<double> Steps { get; } = [1e-4, 3e-5, 1e-5, 3e-6, 1e-6];

    /// <summary>
    /// Compares <paramref name="product"/> (the engine's H·<paramref name="direction"/> at <paramref name="weights"/>)
    /// with central mixed second differences of <paramref name="loss"/>; returns the smallest normwise relative
    /// error over <see cref="Steps"/>, stopping early once one is below a tenth of <paramref name="tolerance"/>.
    /// </summary>
    public static double Error(Func<double[], double> loss, double[] weights, ReadOnlySpan<float> direction, ReadOnlySpan<float> product, double tolerance) =>
        Error(loss, weights, direction, product.ToArray(), Enumerable.Range(0, weights.Length).ToArray(), tolerance);

    /// <summary>
    /// As <see cref="Error(Func{double[], double}, double[], ReadOnlySpan{float}, ReadOnlySpan{float}, double)"/>, comparing
    /// only the entries at <paramref name="coordinates"/>; <paramref name="sampledProduct"/> holds the engine's
    /// product at those coordinates, in the same order.
    /// </summary>
    public static double Error(Func<double[], double> loss, double[] weights, ReadOnlySpan<float> direction, float[] sampledProduct, int[] coordinates, double tolerance)
    {
        double best = double.PositiveInfinity;
        float[] v = direction.ToArray();
        foreach (double h in Steps)
        {
            double[] fd = Difference(loss, weights, v, h, coordinates);
            best = Math.Min(best, DerivativeCheck.RelativeError(sampledProduct, fd));
            if (best < tolerance / 10)
            {
                break;
            }
        }

        return best;
    }

    /// <summary>
    /// [L(w+hv̂+heᵢ) − L(w+hv̂−heᵢ) − L(w−hv̂+heᵢ) + L(w−hv̂−heᵢ)] / 4h² · ‖v‖ with v̂ = v/‖v‖, for every i in
    /// <paramref name="coordinates"/> (all weights when null): (Hv)ᵢ to O(h²) where L is smooth.
    /// </summary>
    public static double[] Difference(Func<double[], double> loss, double[] weights, float[] direction, double h, int[]? coordinates = null)
    {
        int n = weights.Length;
        coordinates ??= Enumerable.Range(0, n).ToArray();
        double norm = Math.Sqrt(direction.Sum(x => (double)x * x));
        double along = norm > 0 ? h / norm : h;
        var probe = new double[n];
        var fd = new double[coordinates.Length];
        for (int c = 0; c < coordinates.Length; c++)
        {
            int i = coordinates[c];
            double Shifted(double a, double b)
            {
                for (int j = 0; j < n; j++)
                {
                    probe[j] = weights[j] + (a * along * direction[j]);
                }

                probe[i] += b;
                return loss(probe);
            }

            fd[c] = (Shifted(1, h) - Shifted(1, -h) - Shifted(-1, h) + Shifted(-1, -h)) / (4 * along * h);
        }

        return fd;
    }
}
