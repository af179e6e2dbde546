using OnePass.Training.Backends;
using OnePass.Training.Checking;
using OnePass.Training.Graphs;
using OnePass.Training.Models;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Engine;

/// <summary>Whole-model gradients and HVPs against a dense Hessian built column by column in double precision.</summary>
public sealed class HessianTests
{
    public static TheoryData<bool, string> Models() => new()
    {
        { true, "Tanh" }, { false, "Tanh" }, { true, "Sigmoid" }, { false, "Relu" }, { true, "Relu" },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void HessianVectorProductsMatchTheDenseFiniteDifferenceHessian(bool crossEntropy, string activation)
    {
        int[] sizes = crossEntropy ? [3, 4, 3] : [3, 4, 2];
        var model = Mlp.Build(sizes, Enum.Parse<Activation>(activation), crossEntropy ? LossKind.CrossEntropy : LossKind.MeanSquaredError);
        int n = model.ParameterCount, rows = 5;
        var random = new Random(42);
        var (inputs, targets) = DerivativeCheck.RandomBatch(model, rows, random);
        float[] weights = model.InitialWeights(3).Select(w => w * 3f).ToArray();
        double[] w64 = Array.ConvertAll(weights, v => (double)v);
        double[] x64 = Array.ConvertAll(inputs, v => (double)v), t64 = Array.ConvertAll(targets, v => (double)v);
        double Loss(double[] w) => Oracle.MlpLoss(sizes, activation, crossEntropy, w, x64, t64, rows);

        // Dense Hessian, column j from central differences of the central-difference gradient (mixed formula).
        const double h = 1e-4;
        var hessian = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = i; j < n; j++)
            {
                double At(double a, double b)
                {
                    var p = (double[])w64.Clone();
                    p[i] += a;
                    p[j] += b;
                    return Loss(p);
                }

                hessian[i, j] = hessian[j, i] = (At(h, h) - At(h, -h) - At(-h, h) + At(-h, -h)) / (4 * h * h);
            }
        }

        var backend = new CpuBackend();
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
        Assert.Equal(Loss(w64), executor.ReadLoss(), 5);

        // Gradient against central differences.
        executor.Backward(g);
        var gradient = new float[n];
        backend.Download(g, gradient);
        var fdGradient = new double[n];
        for (int i = 0; i < n; i++)
        {
            var p = (double[])w64.Clone();
            p[i] += 1e-6;
            double plus = Loss(p);
            p[i] -= 2e-6;
            fdGradient[i] = (plus - Loss(p)) / 2e-6;
        }

        Assert.True(Oracle.RelativeError(gradient, fdGradient) < 1e-3, "gradient differs from central differences");

        for (int trial = 0; trial < 3; trial++)
        {
            float[] direction = Oracle.Normal(random, n), other = Oracle.Normal(random, n);
            backend.Upload(direction, v);
            backend.Upload(other, u);
            executor.HessianVectorProduct(v, hv);
            executor.HessianVectorProduct(u, hu);
            var product = new float[n];
            backend.Download(hv, product);
            var expected = new double[n];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    expected[i] += hessian[i, j] * direction[j];
                }
            }

            double error = Oracle.RelativeError(product, expected);
            Assert.True(error < 1e-3, $"HVP relative error {error:E2} against the dense Hessian");
            double uHv = backend.Dot(u, hv), vHu = backend.Dot(v, hu);
            Assert.True(Math.Abs(uHv - vHu) <= 1e-4 * Math.Max(Math.Abs(uHv), 1e-3), $"u·Hv = {uHv}, v·Hu = {vHu}");
        }
    }

    [Fact]
    public void HessianVectorProductWithoutAPriorBackwardEqualsOneAfterIt()
    {
        var model = Mlp.Build([4, 6, 3], Activation.Tanh, LossKind.CrossEntropy);
        var backend = new CpuBackend();
        var random = new Random(5);
        var (inputs, targets) = DerivativeCheck.RandomBatch(model, 7, random);
        using var executor = new GraphExecutor(model, backend);
        using var w = backend.Allocate(model.ParameterCount);
        using var g = backend.Allocate(model.ParameterCount);
        using var v = backend.Allocate(model.ParameterCount);
        using var first = backend.Allocate(model.ParameterCount);
        using var second = backend.Allocate(model.ParameterCount);
        backend.Upload(model.InitialWeights(1), w);
        backend.Upload(Oracle.Normal(random, model.ParameterCount), v);
        executor.SetBatch(inputs, targets, 7);
        executor.Forward(w);
        executor.HessianVectorProduct(v, first);
        executor.Backward(g);
        executor.HessianVectorProduct(v, second);
        var a = new float[model.ParameterCount];
        var b = new float[model.ParameterCount];
        backend.Download(first, a);
        backend.Download(second, b);
        Assert.Equal(a, b);
    }

    [Theory]
    [InlineData("relu", false)]
    [InlineData("tanh", true)]
    [InlineData("sigmoid", true)]
    public void DerivativeCheckPassesOnCorrectRules(string activation, bool crossEntropy)
    {
        var model = Mlp.Build([5, 7, 3], Enum.Parse<Activation>(activation, true), crossEntropy ? LossKind.CrossEntropy : LossKind.MeanSquaredError);
        var result = DerivativeCheck.Run(model, new CpuBackend(), rows: 6, seed: 11);
        Assert.True(result.Passed, $"{result}");
    }
}
