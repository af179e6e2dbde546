namespace OnePass.Training.Checking;

/// <summary>
/// The finite-difference oracle for Hessian-vector products, made robust to kinks. A piecewise-linear activation
/// (ReLU) has a Hessian that jumps where a unit changes sign; a mixed second difference whose step carries some
/// unit across that kink measures the jump, not the Hessian, and disagrees with the exact product although the
/// engine is right. The oracle therefore differences at a ladder of steps, from 1e-4 (accurate in double
/// precision for smooth losses) down to 1e-6 (where a kink is unlikely to lie within reach), and keeps the step
/// that agrees best with the engine as a whole vector. A wrong product disagrees at every step, so a failure still
/// means a wrong product.
/// </summary>
public static class HvpDifferenceOracle
{
    /// <summary>The steps tried, largest first.</summary>
    public static IReadOnlyList<double> Steps { get; } = [1e-4, 3e-5, 1e-5, 3e-6, 1e-6];

    /// <summary>
    /// Compares <paramref name="product"/> (the engine's H·<paramref name="direction"/> at <paramref name="weights"/>)
    /// with central mixed second differences of <paramref name="loss"/>; returns the smallest normwise relative
    /// error over <see cref="Steps"/>, stopping early once one is below a tenth of <paramref name="tolerance"/>.
    /// </summary>
    public static double Error(Func<double[], double> loss, double[] weights, ReadOnlySpan<float> direction, ReadOnlySpan<float> product, double tolerance)
    {
        double best = double.PositiveInfinity;
        float[] v = direction.ToArray();
        foreach (double h in Steps)
        {
            double[] fd = Difference(loss, weights, v, h);
            best = Math.Min(best, DerivativeCheck.RelativeError(product, fd));
            if (best < tolerance / 10)
            {
                break;
            }
        }

        return best;
    }

    /// <summary>
    /// [L(w+hv+heᵢ) − L(w+hv−heᵢ) − L(w−hv+heᵢ) + L(w−hv−heᵢ)] / 4h² for every i: (Hv)ᵢ to O(h²) where L is smooth.
    /// </summary>
    public static double[] Difference(Func<double[], double> loss, double[] weights, float[] direction, double h)
    {
        int n = weights.Length;
        var probe = new double[n];
        var fd = new double[n];
        for (int i = 0; i < n; i++)
        {
            double Shifted(double a, double b)
            {
                for (int j = 0; j < n; j++)
                {
                    probe[j] = weights[j] + (a * direction[j]);
                }

                probe[i] += b;
                return loss(probe);
            }

            fd[i] = (Shifted(h, h) - Shifted(h, -h) - Shifted(-h, h) + Shifted(-h, -h)) / (4 * h * h);
        }

        return fd;
    }
}
