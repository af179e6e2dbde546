namespace OnePass.Training.Tests.Engine;

/// <summary>
/// Test-local double-precision forwards of the recurrent family (embedding lookup, an LSTM layer with PyTorch's
/// equations), written independently of the engine's rules and ReferenceForward.
/// </summary>
internal static class RecurrentOracle
{
    public static double[] Embedding(double[] ids, double[] weight, int dimension)
    {
        var y = new List<double>();
        foreach (double id in ids)
        {
            for (int e = 0; e < dimension; e++)
            {
                y.Add(weight[((int)Math.Round(id) * dimension) + e]);
            }
        }

        return [.. y];
    }

    private static double Logistic(double v) => Math.Exp(v) / (1 + Math.Exp(v));

    // Row `row` of a [rows, cols] matrix dotted with v.
    private static double RowDot(double[] m, int row, int cols, double[] v, int vOffset)
    {
        double s = 0;
        for (int k = 0; k < cols; k++)
        {
            s += m[(row * cols) + k] * v[vOffset + k];
        }

        return s;
    }

    /// <summary>
    /// An LSTM layer over x [T, N, I]: gates (i, f, g, o) = rows [0, H), [H, 2H), [2H, 3H), [3H, 4H) of
    /// W_ih·x + W_hh·h + b_ih + b_hh; returns every h_t as [T, N, H] and the final cell state [N, H].
    /// </summary>
    public static (double[] Output, double[] FinalCell) Lstm(double[] x, int steps, int batch, int inputs, int hidden,
        double[] wih, double[] whh, double[] bih, double[] bhh, double[] h0, double[] c0)
    {
        var output = new double[steps * batch * hidden];
        var h = (double[])h0.Clone();
        var c = (double[])c0.Clone();
        for (int t = 0; t < steps; t++)
        {
            var hNew = new double[batch * hidden];
            var cNew = new double[batch * hidden];
            for (int n = 0; n < batch; n++)
            {
                int xo = ((t * batch) + n) * inputs, ho = n * hidden;
                double Pre(int gate, int j)
                {
                    int row = (gate * hidden) + j;
                    return RowDot(wih, row, inputs, x, xo) + RowDot(whh, row, hidden, h, ho) + bih[row] + bhh[row];
                }

                for (int j = 0; j < hidden; j++)
                {
                    double input = Logistic(Pre(0, j)), forget = Logistic(Pre(1, j)), candidate = Math.Tanh(Pre(2, j)), outGate = Logistic(Pre(3, j));
                    cNew[ho + j] = (forget * c[ho + j]) + (input * candidate);
                    hNew[ho + j] = outGate * Math.Tanh(cNew[ho + j]);
                }
            }

            h = hNew;
            c = cNew;
            h.CopyTo(output, t * batch * hidden);
        }

        return (output, c);
    }
}
