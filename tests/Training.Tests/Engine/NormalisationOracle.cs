namespace OnePass.Training.Tests.Engine;

/// <summary>
/// Test-local double-precision batch normalisation, written independently of the engine (neither its kernels
/// nor BatchNorm2dOp.ReferenceForward): each channel is gathered into a list, normalised, and scattered back.
/// </summary>
internal static class NormalisationOracle
{
    /// <summary>Indices of channel <paramref name="c"/>'s elements in x [N, C, spatial].</summary>
    private static IEnumerable<int> ChannelIndices(int batch, int channels, int spatial, int c) =>
        from n in Enumerable.Range(0, batch)
        from i in Enumerable.Range(0, spatial)
        select (n * channels * spatial) + (c * spatial) + i;

    /// <summary>Per-channel batch mean and biased variance.</summary>
    public static (double[] Mean, double[] Variance) BatchStatistics(double[] x, int batch, int channels, int spatial)
    {
        var mean = new double[channels];
        var variance = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            double[] v = ChannelIndices(batch, channels, spatial, c).Select(k => x[k]).ToArray();
            mean[c] = v.Average();
            variance[c] = v.Select(e => (e - mean[c]) * (e - mean[c])).Average();
        }

        return (mean, variance);
    }

    /// <summary>y = γ (x − μ)/√(σ² + ε) + β with the given per-channel μ and σ².</summary>
    public static double[] Normalise(double[] x, double[] gamma, double[] beta, double[] mean, double[] variance, int batch, int channels, int spatial, double epsilon)
    {
        var y = new double[x.Length];
        for (int c = 0; c < channels; c++)
        {
            double std = Math.Sqrt(variance[c] + epsilon);
            foreach (int k in ChannelIndices(batch, channels, spatial, c))
            {
                y[k] = (gamma[c] * ((x[k] - mean[c]) / std)) + beta[c];
            }
        }

        return y;
    }

    /// <summary>Training mode: batch statistics.</summary>
    public static double[] Training(double[] x, double[] gamma, double[] beta, int batch, int channels, int spatial, double epsilon = 1e-5)
    {
        var (mean, variance) = BatchStatistics(x, batch, channels, spatial);
        return Normalise(x, gamma, beta, mean, variance, batch, channels, spatial, epsilon);
    }

    /// <summary>Evaluation mode: running statistics from <paramref name="state"/> (mean then variance).</summary>
    public static double[] Evaluation(double[] x, double[] gamma, double[] beta, double[] state, int batch, int channels, int spatial, double epsilon = 1e-5) =>
        Normalise(x, gamma, beta, state[..channels], state[channels..], batch, channels, spatial, epsilon);

    /// <summary>PyTorch's running-statistics update with the unbiased batch variance.</summary>
    public static double[] UpdatedState(double[] state, double[] x, int batch, int channels, int spatial, double momentum)
    {
        var (mean, variance) = BatchStatistics(x, batch, channels, spatial);
        int m = batch * spatial;
        var next = new double[2 * channels];
        for (int c = 0; c < channels; c++)
        {
            next[c] = ((1 - momentum) * state[c]) + (momentum * mean[c]);
            next[channels + c] = ((1 - momentum) * state[channels + c]) + (momentum * variance[c] * m / (m - 1));
        }

        return next;
    }
}
