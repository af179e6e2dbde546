using OnePass.Training.Backends;
using OnePass.Training.Graphs;
using OnePass.Training.Graphs.Ops;
using OnePass.Training.Models;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Engine;

/// <summary>
/// Graphs that are not chains: a value read by two nodes (a residual add), a value read twice by one node, and one
/// weight tensor feeding two Linear or two Conv2d nodes. The executor's gradient and Hessian-vector products are
/// compared with central differences of the loss written out by hand in double precision here (not the engine's
/// reference evaluator), so a lost or overwritten contribution of a second use shows up as a wrong derivative.
/// </summary>
public sealed class GraphStructureTests
{
    private const double Tolerance = 1e-3;

    [Fact]
    public void ResidualAddOfAValueUsedTwiceHasTheRightGradientAndHessianVectorProducts()
    {
        // h = relu(x·W1ᵀ + b1); y = h + (h·W2ᵀ + b2); logits = y·W3ᵀ + b3; softmax cross-entropy.
        const int rows = 5, inputs = 3, hidden = 4, classes = 3;
        var graph = new Graph();
        var x = graph.AddInput("x", Value.Batch, inputs);
        var target = graph.AddIndexTarget("target", Value.Batch);
        var w1 = graph.AddParameter("w1", hidden, inputs);
        var b1 = graph.AddParameter("b1", hidden);
        var w2 = graph.AddParameter("w2", hidden, hidden);
        var b2 = graph.AddParameter("b2", hidden);
        var w3 = graph.AddParameter("w3", classes, hidden);
        var b3 = graph.AddParameter("b3", classes);
        var h = graph.Apply(new ActivationOp(Activation.Relu), "h", graph.Apply(new LinearOp(), "pre", x, w1, b1));
        var y = graph.Apply(new AddOp(), "y", h, graph.Apply(new LinearOp(), "branch", h, w2, b2));
        var logits = graph.Apply(new LinearOp(), "logits", y, w3, b3);
        var loss = graph.Apply(new SoftmaxCrossEntropyOp(), "loss", logits, target);
        var model = new Model(graph, x, target, logits, loss, LossKind.CrossEntropy, "residual MLP", new Dictionary<Value, ParameterInit>());

        var random = new Random(101);
        float[] data = Oracle.Normal(random, rows * inputs);
        float[] labels = Enumerable.Range(0, rows).Select(_ => (float)random.Next(classes)).ToArray();
        double[] x64 = Array.ConvertAll(data, v => (double)v);

        double Loss(double[] w)
        {
            var p = Parameters(model, w);
            double[] hh = Oracle.Activate("Relu", Oracle.Linear(x64, p["w1"], p["b1"], rows, inputs, hidden));
            double[] branch = Oracle.Linear(hh, p["w2"], p["b2"], rows, hidden, hidden);
            double[] sum = hh.Zip(branch, (a, b) => a + b).ToArray();
            return Oracle.CrossEntropy(Oracle.Linear(sum, p["w3"], p["b3"], rows, hidden, classes), Array.ConvertAll(labels, v => (double)v), rows, classes);
        }

        CheckDerivatives(model, data, labels, rows, Oracle.Normal(random, model.ParameterCount, 0.8), Loss, random);
    }

    [Fact]
    public void OneWeightFeedingTwoLinearNodesAndAValueReadTwiceByOneNodeAccumulate()
    {
        // h1 = tanh(x·Wᵀ + b1); h2 = h1·Wᵀ + b2 (the same W); prediction = h2 + h2 (one node reading h2 twice); MSE.
        const int rows = 4, width = 4;
        var graph = new Graph();
        var x = graph.AddInput("x", Value.Batch, width);
        var target = graph.AddTarget("target", Value.Batch, width);
        var w = graph.AddParameter("w", width, width);
        var b1 = graph.AddParameter("b1", width);
        var b2 = graph.AddParameter("b2", width);
        var h1 = graph.Apply(new ActivationOp(Activation.Tanh), "h1", graph.Apply(new LinearOp(), "pre1", x, w, b1));
        var h2 = graph.Apply(new LinearOp(), "h2", h1, w, b2);
        var prediction = graph.Apply(new AddOp(), "prediction", h2, h2);
        var loss = graph.Apply(new MeanSquaredErrorOp(), "loss", prediction, target);
        var model = new Model(graph, x, target, prediction, loss, LossKind.MeanSquaredError, "shared-weight MLP", new Dictionary<Value, ParameterInit>());
        Assert.Equal((width * width) + (2 * width), model.ParameterCount); // one slot for W, however often it is used

        var random = new Random(202);
        float[] data = Oracle.Normal(random, rows * width);
        float[] targets = Oracle.Normal(random, rows * width);
        double[] x64 = Array.ConvertAll(data, v => (double)v), t64 = Array.ConvertAll(targets, v => (double)v);

        double Loss(double[] weights)
        {
            var p = Parameters(model, weights);
            double[] a = Oracle.Activate("Tanh", Oracle.Linear(x64, p["w"], p["b1"], rows, width, width));
            double[] b = Oracle.Linear(a, p["w"], p["b2"], rows, width, width);
            return Oracle.Mse(Array.ConvertAll(b, v => 2 * v), t64);
        }

        CheckDerivatives(model, data, targets, rows, Oracle.Normal(random, model.ParameterCount, 0.7), Loss, random);
    }

    [Theory]
    [InlineData("Tanh")]
    [InlineData("Relu")]
    public void ConvBlockWithIdentityShortcutAndOneKernelUsedTwice(string activation)
    {
        // h = act(conv(x, K)); y = h + conv(h, K) (the same K, 3×3, padding 1: an identity shortcut around it);
        // logits = flatten(y)·Wᵀ + b; softmax cross-entropy.
        const int rows = 3, channels = 2, size = 5, classes = 3;
        int features = channels * size * size;
        var graph = new Graph();
        var x = graph.AddInput("x", Value.Batch, channels, size, size);
        var target = graph.AddIndexTarget("target", Value.Batch);
        var kernel = graph.AddParameter("kernel", channels, channels, 3, 3);
        var fcWeight = graph.AddParameter("fc.weight", classes, features);
        var fcBias = graph.AddParameter("fc.bias", classes);
        var act = Enum.Parse<Activation>(activation);
        var h = graph.Apply(new ActivationOp(act), "h", graph.Apply(new Conv2dOp(1, 1), "conv1", x, kernel));
        var y = graph.Apply(new AddOp(), "y", h, graph.Apply(new Conv2dOp(1, 1), "conv2", h, kernel));
        var logits = graph.Apply(new LinearOp(), "logits", graph.Apply(new FlattenOp(), "flat", y), fcWeight, fcBias);
        var loss = graph.Apply(new SoftmaxCrossEntropyOp(), "loss", logits, target);
        var model = new Model(graph, x, target, logits, loss, LossKind.CrossEntropy, "shared-kernel conv block", new Dictionary<Value, ParameterInit>());

        var random = new Random(activation == "Tanh" ? 303 : 304);
        float[] data = Oracle.Normal(random, rows * features);
        float[] labels = Enumerable.Range(0, rows).Select(_ => (float)random.Next(classes)).ToArray();
        double[] x64 = Array.ConvertAll(data, v => (double)v);

        double Loss(double[] weights)
        {
            var p = Parameters(model, weights);
            double[] hh = Oracle.Activate(activation, Conv3x3Same(x64, p["kernel"], rows, channels, size));
            double[] branch = Conv3x3Same(hh, p["kernel"], rows, channels, size);
            double[] sum = hh.Zip(branch, (a, b) => a + b).ToArray();
            return Oracle.CrossEntropy(Oracle.Linear(sum, p["fc.weight"], p["fc.bias"], rows, features, classes), Array.ConvertAll(labels, v => (double)v), rows, classes);
        }

        float[] weights = Oracle.Normal(random, model.ParameterCount, 0.4);
        CheckDerivatives(model, data, labels, rows, weights, Loss, random);
    }

    // Cross-correlation with a [C, C, 3, 3] kernel, stride 1, zero padding 1, NCHW, no bias.
    private static double[] Conv3x3Same(double[] x, double[] k, int n, int c, int size)
    {
        var y = new double[n * c * size * size];
        for (int b = 0; b < n; b++)
        {
            for (int o = 0; o < c; o++)
            {
                for (int i = 0; i < size; i++)
                {
                    for (int j = 0; j < size; j++)
                    {
                        double s = 0;
                        for (int ci = 0; ci < c; ci++)
                        {
                            for (int di = 0; di < 3; di++)
                            {
                                for (int dj = 0; dj < 3; dj++)
                                {
                                    int ii = i + di - 1, jj = j + dj - 1;
                                    if (ii >= 0 && ii < size && jj >= 0 && jj < size)
                                    {
                                        s += x[(((b * c) + ci) * size * size) + (ii * size) + jj] * k[(((o * c) + ci) * 9) + (di * 3) + dj];
                                    }
                                }
                            }
                        }

                        y[(((b * c) + o) * size * size) + (i * size) + j] = s;
                    }
                }
            }
        }

        return y;
    }

    private static Dictionary<string, double[]> Parameters(Model model, double[] flat) =>
        model.Parameters.ToDictionary(p => p.Name, p => flat.AsSpan(p.Offset, p.Length).ToArray());

    // The executor's loss, gradient and two Hessian-vector products at `weights` against the hand-written double loss:
    // gradient (L(w+h·eᵢ) − L(w−h·eᵢ)) / 2h; Hv by [L(w+hv+heᵢ) − L(w+hv−heᵢ) − L(w−hv+heᵢ) + L(w−hv−heᵢ)] / 4h².
    private static void CheckDerivatives(Model model, float[] inputs, float[] targets, int rows, float[] weights, Func<double[], double> loss, Random random)
    {
        int n = model.ParameterCount;
        using var backend = new CpuBackend();
        using var executor = new GraphExecutor(model, backend);
        using var w = backend.Allocate(n);
        using var g = backend.Allocate(n);
        using var v = backend.Allocate(n);
        using var hv = backend.Allocate(n);
        backend.Upload(weights, w);
        executor.SetBatch(inputs, targets, rows);
        executor.Forward(w);
        double[] w64 = Array.ConvertAll(weights, x => (double)x);
        double expectedLoss = loss(w64);
        Assert.True(Math.Abs(executor.ReadLoss() - expectedLoss) <= 1e-5 * Math.Max(1, Math.Abs(expectedLoss)),
            $"executor loss {executor.ReadLoss()} differs from the hand-written loss {expectedLoss}");

        executor.Backward(g);
        var gradient = new float[n];
        backend.Download(g, gradient);
        const double h1 = 1e-6;
        var fdGradient = new double[n];
        var probe = (double[])w64.Clone();
        for (int i = 0; i < n; i++)
        {
            probe[i] = w64[i] + h1;
            double plus = loss(probe);
            probe[i] = w64[i] - h1;
            double minus = loss(probe);
            probe[i] = w64[i];
            fdGradient[i] = (plus - minus) / (2 * h1);
        }

        double gradientError = Oracle.RelativeError(gradient, fdGradient);
        Assert.True(gradientError < Tolerance, $"gradient relative error {gradientError:E2} against central differences");

        const double h2 = 1e-4;
        for (int trial = 0; trial < 2; trial++)
        {
            float[] direction = Oracle.Normal(random, n, 1 / Math.Sqrt(n));
            backend.Upload(direction, v);
            executor.HessianVectorProduct(v, hv);
            var product = new float[n];
            backend.Download(hv, product);
            var fd = new double[n];
            for (int i = 0; i < n; i++)
            {
                double At(double a, double b)
                {
                    for (int j = 0; j < n; j++)
                    {
                        probe[j] = w64[j] + (a * direction[j]);
                    }

                    probe[i] += b;
                    return loss(probe);
                }

                fd[i] = (At(h2, h2) - At(h2, -h2) - At(-h2, h2) + At(-h2, -h2)) / (4 * h2 * h2);
            }

            double error = Oracle.RelativeError(product, fd);
            Assert.True(error < Tolerance, $"Hessian-vector product {trial} relative error {error:E2} against mixed second differences");
        }
    }
}
