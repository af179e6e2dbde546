using OnePass.Training.Graphs;
using OnePass.Training.Graphs.Ops;
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
    /// <remarks>
    /// Models with more than <paramref name="maxCoordinates"/> weights are compared on that many weights drawn at
    /// random (the engine's full gradient and products are computed; only the oracle is sampled), so that a
    /// ResNet's check takes seconds. In <see cref="ExecutionMode.Evaluation"/> the state (running statistics) is
    /// first moved by a few training forward passes on other random batches, so that it is not the trivial initial one.
    /// </remarks>
    public static DerivativeCheckResult Run(Model model, IBackend backend, int rows, int seed, int vectors = 3, double tolerance = 1e-3,
        ExecutionMode mode = ExecutionMode.Training, int maxCoordinates = 400)
    {
        var random = new Random(seed);
        var (inputs, targets) = RandomBatch(model, rows, random);
        float[] weights = model.InitialWeights(seed);
        // Spread the weights a little beyond the initial range so that curvature terms are not negligible.
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] *= 2f;
        }

        int n = model.ParameterCount;
        using var executor = new GraphExecutor(model, backend);
        using var w = backend.Allocate(n);
        backend.Upload(weights, w);
        float[] state = model.InitialState();
        if (mode == ExecutionMode.Evaluation && model.StateCount > 0)
        {
            for (int k = 0; k < 3; k++)
            {
                var (x, t) = RandomBatch(model, rows, random);
                executor.SetBatch(x, t, rows);
                executor.Forward(w, updateState: true);
            }

            backend.Download(executor.State!, state);
        }

        executor.Mode = mode;
        var reference = new ReferenceEvaluator(model, Array.ConvertAll(inputs, x => (double)x), Array.ConvertAll(targets, x => (double)x), rows,
            mode, Array.ConvertAll(state, x => (double)x));
        double[] w64 = Array.ConvertAll(weights, x => (double)x);
        int[] coordinates = n <= maxCoordinates
            ? Enumerable.Range(0, n).ToArray()
            : Enumerable.Range(0, n).OrderBy(_ => random.Next()).Take(maxCoordinates).Order().ToArray();

        using var g = backend.Allocate(n);
        using var v = backend.Allocate(n);
        using var u = backend.Allocate(n);
        using var hv = backend.Allocate(n);
        using var hu = backend.Allocate(n);
        executor.SetBatch(inputs, targets, rows);
        executor.Forward(w);
        executor.Backward(g);
        var gradient = new float[n];
        backend.Download(g, gradient);

        const double h1 = 1e-6;
        var fdGradient = new double[coordinates.Length];
        var probe = (double[])w64.Clone();
        for (int c = 0; c < coordinates.Length; c++)
        {
            int i = coordinates[c];
            probe[i] = w64[i] + h1;
            double plus = reference.Loss(probe);
            probe[i] = w64[i] - h1;
            double minus = reference.Loss(probe);
            probe[i] = w64[i];
            fdGradient[c] = (plus - minus) / (2 * h1);
        }

        double gradientError = RelativeError(Sample(gradient, coordinates), fdGradient);
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
            float[] sampled = Sample(product, coordinates);

            // Steps that cross a ReLU or max-pool kink measure the jump, not the Hessian: see HvpDifferenceOracle.
            hvpError = Math.Max(hvpError, HvpDifferenceOracle.Error(p => reference.Loss(p), w64, direction, sampled, coordinates, tolerance));
            double uHv = backend.Dot(u, hv), vHu = backend.Dot(v, hu);
            symmetryError = Math.Max(symmetryError, Math.Abs(uHv - vHu) / Math.Max(Math.Max(Math.Abs(uHv), Math.Abs(vHu)), 1e-12));
        }

        return new DerivativeCheckResult(gradientError, hvpError, symmetryError, n, 2 * vectors, tolerance) { CheckedWeights = coordinates.Length, Mode = mode };
    }

    private static float[] Sample(float[] values, int[] coordinates) => Array.ConvertAll(coordinates, i => values[i]);

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

    /// <summary>
    /// Random inputs (standard normal, or token ids uniform in [0, vocabulary) when the input feeds an embedding, as a
    /// language model's does) and targets (normal, or uniform class indices: one per row of a classifier, one per
    /// position of a language model's [rows, sequences] targets).
    /// </summary>
    public static (float[] Inputs, float[] Targets) RandomBatch(Model model, int rows, Random random)
    {
        ArgumentNullException.ThrowIfNull(model);
        var inputs = new float[rows * model.InputWidth];
        int vocabulary = TokenVocabulary(model);
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = vocabulary > 0 ? random.Next(vocabulary) : Normal(random);
        }

        int perRow = model.Target.Shape.Skip(1).Aggregate(1, (a, d) => a * d);
        float[] targets = model.LossKind == LossKind.CrossEntropy
            ? Enumerable.Range(0, rows * perRow).Select(_ => (float)random.Next(model.OutputWidth)).ToArray()
            : Enumerable.Range(0, rows * model.OutputWidth).Select(_ => Normal(random)).ToArray();
        return (inputs, targets);
    }

    /// <summary>
    /// The vocabulary of the embedding the model's input feeds (its weight's first dimension), or 0 when the input is
    /// not token ids.
    /// </summary>
    public static int TokenVocabulary(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var node in model.Graph.Nodes)
        {
            if (node.Op is EmbeddingOp && node.Inputs[0] == model.Input)
            {
                return node.Inputs[1].Shape[0];
            }
        }

        return model.Spec?.Architecture == "lstm" ? model.OutputWidth : 0;
    }

    private static float[] RandomVector(int n, Random random) => Enumerable.Range(0, n).Select(_ => Normal(random)).ToArray();

    private static float Normal(Random random) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
}
