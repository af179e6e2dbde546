namespace OnePass.Training.Tests.Engine;

/// <summary>
/// Test-local double-precision forwards of the convolution family, written independently of the engine (its
/// rules, kernels and ReferenceForward): every output element is computed straight from its definition.
/// </summary>
internal static class ConvolutionOracle
{
    private static int Index(int[] shape, int a, int b, int c, int d) => (((((a * shape[1]) + b) * shape[2]) + c) * shape[3]) + d;

    // Padded read: zero (convolution) or the given fill (max pooling) outside the input.
    private static double At(double[] x, int[] shape, int n, int c, int row, int col, double outside) =>
        row < 0 || row >= shape[2] || col < 0 || col >= shape[3] ? outside : x[Index(shape, n, c, row, col)];

    /// <summary>PyTorch's conv2d (cross-correlation) with zero padding; bias may be null.</summary>
    public static double[] Conv2d(double[] x, int[] xShape, double[] w, int[] wShape, double[]? bias, int stride, int padding)
    {
        int outH = (int)Math.Floor((xShape[2] + (2.0 * padding) - wShape[2]) / stride) + 1;
        int outW = (int)Math.Floor((xShape[3] + (2.0 * padding) - wShape[3]) / stride) + 1;
        int[] yShape = [xShape[0], wShape[0], outH, outW];
        var y = new double[yShape.Aggregate(1, (a, b) => a * b)];
        for (int n = 0; n < yShape[0]; n++)
        {
            for (int o = 0; o < yShape[1]; o++)
            {
                for (int r = 0; r < outH; r++)
                {
                    for (int q = 0; q < outW; q++)
                    {
                        double total = bias?[o] ?? 0.0;
                        for (int c = 0; c < xShape[1]; c++)
                        {
                            for (int u = 0; u < wShape[2]; u++)
                            {
                                for (int v = 0; v < wShape[3]; v++)
                                {
                                    double input = At(x, xShape, n, c, (r * stride) - padding + u, (q * stride) - padding + v, 0.0);
                                    total += input * w[Index(wShape, o, c, u, v)];
                                }
                            }
                        }

                        y[Index(yShape, n, o, r, q)] = total;
                    }
                }
            }
        }

        return y;
    }

    /// <summary>PyTorch's max_pool2d (floor mode, padding as −∞).</summary>
    public static double[] MaxPool2d(double[] x, int[] xShape, int kernel, int stride, int padding)
    {
        int outH = ((xShape[2] + (2 * padding) - kernel) / stride) + 1;
        int outW = ((xShape[3] + (2 * padding) - kernel) / stride) + 1;
        int[] yShape = [xShape[0], xShape[1], outH, outW];
        var y = new double[yShape.Aggregate(1, (a, b) => a * b)];
        for (int n = 0; n < yShape[0]; n++)
        {
            for (int c = 0; c < yShape[1]; c++)
            {
                for (int r = 0; r < outH; r++)
                {
                    for (int q = 0; q < outW; q++)
                    {
                        var window = new List<double>();
                        for (int u = 0; u < kernel; u++)
                        {
                            for (int v = 0; v < kernel; v++)
                            {
                                window.Add(At(x, xShape, n, c, (r * stride) - padding + u, (q * stride) - padding + v, double.NegativeInfinity));
                            }
                        }

                        y[Index(yShape, n, c, r, q)] = window.Max();
                    }
                }
            }
        }

        return y;
    }

    /// <summary>Mean over each H×W plane: [N, C, H, W] → [N, C].</summary>
    public static double[] GlobalAveragePool(double[] x, int[] xShape)
    {
        int plane = xShape[2] * xShape[3];
        return Enumerable.Range(0, xShape[0] * xShape[1]).Select(p => x.Skip(p * plane).Take(plane).Average()).ToArray();
    }

    /// <summary>Elementwise sum.</summary>
    public static double[] Add(double[] a, double[] b) => a.Zip(b, (u, v) => u + v).ToArray();

    /// <summary>
    /// Values with no two closer than <paramref name="gap"/> (a shuffled ladder), so that max pooling has no
    /// ties and its winners do not change under the finite-difference steps.
    /// </summary>
    public static float[] Distinct(Random random, int n, double gap = 0.05)
    {
        var order = Enumerable.Range(0, n).OrderBy(_ => random.Next()).ToArray();
        return Array.ConvertAll(order, k => (float)((k - (n / 2.0)) * gap));
    }
}
