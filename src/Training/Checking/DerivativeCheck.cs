using OnePass.Training.Graphs;
using OnePass.Training.Models;
using OnePass.Training.Tensors;

namespace OnePass.Training.Checking;

/// <summary>
/// gradcheck for OnePass models: compares the engine's gradient and exact Hessian-vector products of the
/// training loss with central differences of the double-precision reference loss, at random weights and data.
/// </summary>
public static class DerivativeCheck
{
    /// <summary>
    /// Runs the check on <paramref name="backend"/>. Gradient: (L(w+h·eᵢ) − L(w−h·eᵢ)) / 2h per weight.
    /// HVP along v: the mixed second difference [L(w+hv+heᵢ) − L(w+hv−heᵢ) − L(w−hv+heᵢ) + L(w−hv−heᵢ)] / 4h²,
    /// at the step of <see cref="HvpDifferenceOracle"/> that agrees best (robust to ReLU kinks).
    /// Symmetry: u·(Hv) against v·(Hu).
    /// </summary>
    public static DerivativeCheckResult Run(Model model, IBackend backend, int rows, int seed, int vectors = 3, double tolerance = 1e-3)
    {
        var random = new Random(seed);
        var (inputs, targets) = RandomBatch(model, rows, random);
        float[] weights = model.InitialWeights(seed);
        // Spread the weights a little beyond the initial range so that curvature terms are not negligible.
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] *= 2f;
        }

        var reference = new ReferenceEvaluator(model, Array.ConvertAll(inputs, x => (double)x), Array.ConvertAll(targets, x => (double)x), rows);
        double[] w64 = Array.ConvertAll(weights, x => (double)x);
        int n = model.ParameterCount;

        using var executor = new GraphExecutor(model, backend);
        using var w = backend.Allocate(n);
        using var g = backend.Allocate(n);
        using var v = backend.Allocate(n);
        using var u = backend.Allocate(n);
        using var hv = backend.Allocate(n);
        using var hu = backend.Allocate(n);
        backend.Upload(weights, w);
        executor.SetBatch(inputs, targets, rows);
        executor.Forward(w);
        executor.Backward(g);
        var gradient = new float[n];
        backend.Download(g, gradient);

        const double h1 = 1e-6;
        var fdGradient = new double[n];
        var probe = (double[])w64.Clone();
        for (int i = 0; i < n; i++)
        {
            probe[i] = w64[i] + h1;
            double plus = reference.Loss(probe);
            probe[i] = w64[i] - h1;
            double minus = reference.Loss(probe);
            probe[i] = w64[i];
            fdGradient[i] = (plus - minus) / (2 * h1);
        }

        double gradientError = RelativeError(gradient, fdGradient);
        double hvpError = 0, symmetryError = 0;
        for (int k = 0; k < vectors; k++)
        {
            float[] direction = RandomVector(n, random);
            float[] other = RandomVector(n, random);
            backend.Upload(direction, v);
            backend.Upload(other, u);
            executor.HessianVectorProduct(v, hv);
            executor.HessianVectorProduct(u, hu);
            var product = new float[n];
            backend.Download(hv, product);

            // Steps that cross a ReLU kink measure the jump, not the Hessian: see HvpDifferenceOracle.
            hvpError = Math.Max(hvpError, HvpDifferenceOracle.Error(p => reference.Loss(p), w64, direction, product, tolerance));
            double uHv = backend.Dot(u, hv), vHu = backend.Dot(v, hu);
            symmetryError = Math.Max(symmetryError, Math.Abs(uHv - vHu) / Math.Max(Math.Max(Math.Abs(uHv), Math.Abs(vHu)), 1e-12));
        }

        return new DerivativeCheckResult(gradientError, hvpError, symmetryError, n, 2 * vectors, tolerance);
    }

    /// <summary>‖a − b‖ / max(‖b‖, 1e-12): the normwise relative error of a against the oracle b.</summary>
    public static double RelativeError(ReadOnlySpan<float> a, ReadOnlySpan<double> b)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < b.Length; i++)
        {
            diff += (a[i] - b[i]) * (a[i] - b[i]);
            norm += b[i] * b[i];
        }

        return Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-12);
    }

    /// <summary>Random inputs (standard normal) and targets (normal, or uniform class indices) for a model.</summary>
    public static (float[] Inputs, float[] Targets) RandomBatch(Model model, int rows, Random random)
    {
        var inputs = new float[rows * model.InputWidth];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = Normal(random);
        }

        float[] targets = model.LossKind == LossKind.CrossEntropy
            ? Enumerable.Range(0, rows).Select(_ => (float)random.Next(model.OutputWidth)).ToArray()
            : Enumerable.Range(0, rows * model.OutputWidth).Select(_ => Normal(random)).ToArray();
        return (inputs, targets);
    }

    private static float[] RandomVector(int n, Random random) => Enumerable.Range(0, n).Select(_ => Normal(random)).ToArray();

    private static float Normal(Random random) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
}
