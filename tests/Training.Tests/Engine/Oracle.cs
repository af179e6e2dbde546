namespace OnePass.Training.Tests.Engine;

/// <summary>
/// Test-local double-precision implementations of every op's forward computation, written independently of
/// the engine (neither its rules nor its ReferenceForward), and finite-difference helpers over them.
/// </summary>
internal static class Oracle
{
    public static double[] Linear(double[] x, double[] w, double[] b, int n, int inF, int outF)
    {
        var y = new double[n * outF];
        for (int r = 0; r < n; r++)
        {
            for (int o = 0; o < outF; o++)
            {
                double s = b[o];
                for (int i = 0; i < inF; i++)
                {
                    s += x[(r * inF) + i] * w[(o * inF) + i];
                }

                y[(r * outF) + o] = s;
            }
        }

        return y;
    }

    public static double[] Activate(string f, double[] x) => Array.ConvertAll(x, v => f switch
    {
        "Relu" => v > 0 ? v : 0,
        "Tanh" => (Math.Exp(v) - Math.Exp(-v)) / (Math.Exp(v) + Math.Exp(-v)),
        "Sigmoid" => Math.Exp(v) / (1 + Math.Exp(v)),
        _ => throw new ArgumentException(f),
    });

    public static double CrossEntropy(double[] z, double[] labels, int n, int classes)
    {
        double total = 0;
        for (int r = 0; r < n; r++)
        {
            double sum = 0;
            for (int c = 0; c < classes; c++)
            {
                sum += Math.Exp(z[(r * classes) + c]);
            }

            total -= Math.Log(Math.Exp(z[(r * classes) + (int)labels[r]]) / sum);
        }

        return total / n;
    }

    public static double Mse(double[] p, double[] t) => p.Zip(t, (a, b) => (a - b) * (a - b)).Sum() / p.Length;

    /// <summary>Loss of an MLP written out layer by layer (weights in the engine's flat order: W1, b1, W2, b2, …).</summary>
    public static double MlpLoss(int[] sizes, string activation, bool crossEntropy, double[] weights, double[] x, double[] t, int n)
    {
        double[] h = x;
        int offset = 0;
        for (int l = 1; l < sizes.Length; l++)
        {
            int inF = sizes[l - 1], outF = sizes[l];
            double[] w = weights.AsSpan(offset, inF * outF).ToArray();
            offset += inF * outF;
            double[] b = weights.AsSpan(offset, outF).ToArray();
            offset += outF;
            h = Linear(h, w, b, n, inF, outF);
            if (l < sizes.Length - 1)
            {
                h = Activate(activation, h);
            }
        }

        return crossEntropy ? CrossEntropy(h, t, n, sizes[^1]) : Mse(h, t);
    }

    /// <summary>‖a − b‖ / ‖b‖.</summary>
    public static double RelativeError(IReadOnlyList<float> a, IReadOnlyList<double> b)
    {
        double d = 0, s = 0;
        for (int i = 0; i < b.Count; i++)
        {
            d += (a[i] - b[i]) * (a[i] - b[i]);
            s += b[i] * b[i];
        }

        return Math.Sqrt(d) / Math.Max(Math.Sqrt(s), 1e-300);
    }

    public static float[] Normal(Random random, int n, double scale = 1) =>
        Enumerable.Range(0, n).Select(_ => (float)(scale * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
}
