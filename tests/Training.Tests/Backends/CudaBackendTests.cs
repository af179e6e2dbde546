using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Backends;

/// <summary>Every <see cref="IBackend"/> method of the CUDA backend against the CPU reference on random data.</summary>
public sealed class CudaBackendTests
{
    [GpuFact, Trait("Category", "Gpu")]
    public void Memory_round_trips_and_fills()
    {
        using var p = new BackendPair();
        var a = p.Random(1000);
        var b = p.Of(new float[1000]);
        p.Cpu.Copy(a.Cpu, b.Cpu);
        p.Gpu.Copy(a.Gpu, b.Gpu);
        p.AssertClose(b, 0);

        var zero = p.Of(new float[37]);
        var fresh = (p.Cpu.Allocate(37), p.Gpu.Allocate(37));
        p.AssertClose(fresh, 0);
        p.Cpu.Fill(zero.Cpu, -3.25f);
        p.Gpu.Fill(zero.Gpu, -3.25f);
        p.AssertClose(zero, 0);

        var slice = (a.Cpu.Slice(100, 50), a.Gpu.Slice(100, 50));
        p.Cpu.Fill(slice.Item1, 9f);
        p.Gpu.Fill(slice.Item2, 9f);
        p.AssertClose(a, 0);
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Allocator_reuses_blocks_after_warm_up()
    {
        using var p = new BackendPair();
        for (int i = 0; i < 3; i++)
        {
            using var x = p.Gpu.Allocate(1000);
            using var y = p.Gpu.Allocate(5000);
        }

        int after = p.Gpu.DeviceAllocations;
        for (int i = 0; i < 10; i++)
        {
            using var x = p.Gpu.Allocate(1000);
            using var y = p.Gpu.Allocate(5000);
        }

        Assert.Equal(after, p.Gpu.DeviceAllocations);
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Gemm_matches_for_every_transpose_combination()
    {
        using var p = new BackendPair();
        const int m = 37, n = 53, k = 29;
        foreach (bool ta in new[] { false, true })
        {
            foreach (bool tb in new[] { false, true })
            {
                var a = p.Random(m * k);
                var b = p.Random(k * n);
                var c = p.Random(m * n);
                p.Cpu.Gemm(ta, tb, m, n, k, 0.75f, a.Cpu, b.Cpu, 0.5f, c.Cpu);
                p.Gpu.Gemm(ta, tb, m, n, k, 0.75f, a.Gpu, b.Gpu, 0.5f, c.Gpu);
                p.AssertClose(c);
            }
        }
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Gemm_with_zero_beta_ignores_nan_in_c()
    {
        using var p = new BackendPair();
        var a = p.Random(4 * 3);
        var b = p.Random(3 * 5);
        var c = p.Of(Enumerable.Repeat(float.NaN, 20).ToArray());
        p.Cpu.Gemm(false, false, 4, 5, 3, 1f, a.Cpu, b.Cpu, 0f, c.Cpu);
        p.Gpu.Gemm(false, false, 4, 5, 3, 1f, a.Gpu, b.Gpu, 0f, c.Gpu);
        p.AssertClose(c);
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Elementwise_arithmetic_matches()
    {
        using var p = new BackendPair();
        var x = p.Random(3001);
        var y = p.Random(3001);
        var r = p.Random(3001);
        p.Cpu.Axpy(-0.3f, x.Cpu, y.Cpu);
        p.Gpu.Axpy(-0.3f, x.Gpu, y.Gpu);
        p.AssertClose(y);

        p.Cpu.Scale(1.7f, x.Cpu);
        p.Gpu.Scale(1.7f, x.Gpu);
        p.AssertClose(x);

        p.Cpu.MultiplyAdd(0.4f, x.Cpu, y.Cpu, r.Cpu);
        p.Gpu.MultiplyAdd(0.4f, x.Gpu, y.Gpu, r.Gpu);
        p.AssertClose(r);

        p.Cpu.Multiply(x.Cpu, y.Cpu, x.Cpu);
        p.Gpu.Multiply(x.Gpu, y.Gpu, x.Gpu);
        p.AssertClose(x);
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Reductions_match()
    {
        using var p = new BackendPair();
        foreach (int n in new[] { 0, 1, 255, 257, 100_003, 1_000_000 })
        {
            var x = p.Random(n);
            var y = p.Random(n);
            BackendPair.AssertClose(p.Cpu.Dot(x.Cpu, y.Cpu), p.Gpu.Dot(x.Gpu, y.Gpu), n == 0 ? 0 : 1e-4);
            BackendPair.AssertClose(p.Cpu.Sum(x.Cpu), p.Gpu.Sum(x.Gpu), n == 0 ? 0 : 1e-4);
        }
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void All_finite_detects_nan_and_infinity()
    {
        using var p = new BackendPair();
        var values = p.RandomValues(5000);
        Assert.True(p.Gpu.AllFinite(p.Of(values).Gpu));
        values[4321] = float.NaN;
        Assert.False(p.Gpu.AllFinite(p.Of(values).Gpu));
        values[4321] = float.NegativeInfinity;
        Assert.False(p.Gpu.AllFinite(p.Of(values).Gpu));
        Assert.True(p.Gpu.AllFinite(p.Gpu.Allocate(0)));
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Bias_helpers_match()
    {
        using var p = new BackendPair();
        const int rows = 300, cols = 17;
        var matrix = p.Random(rows * cols);
        var row = p.Random(cols);
        var sums = p.Random(cols);
        p.Cpu.AddRowVector(matrix.Cpu, rows, cols, row.Cpu);
        p.Gpu.AddRowVector(matrix.Gpu, rows, cols, row.Gpu);
        p.AssertClose(matrix);
        p.Cpu.AddColumnSums(matrix.Cpu, rows, cols, sums.Cpu);
        p.Gpu.AddColumnSums(matrix.Gpu, rows, cols, sums.Gpu);
        p.AssertClose(sums);
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Activation_rules_match()
    {
        using var p = new BackendPair();
        const int n = 2049;
        foreach (Activation f in Enum.GetValues<Activation>())
        {
            var x = p.Random(n, -4f, 4f);
            var y = p.Of(new float[n]);
            p.Cpu.ActivationForward(f, x.Cpu, y.Cpu);
            p.Gpu.ActivationForward(f, x.Gpu, y.Gpu);
            p.AssertClose(y);

            var dy = p.Random(n);
            var dx = p.Random(n);
            p.Cpu.ActivationBackward(f, x.Cpu, y.Cpu, dy.Cpu, dx.Cpu);
            p.Gpu.ActivationBackward(f, x.Gpu, y.Gpu, dy.Gpu, dx.Gpu);
            p.AssertClose(dx);

            var xt = p.Random(n);
            var yt = p.Random(n);
            p.Cpu.ActivationForwardTangent(f, x.Cpu, y.Cpu, xt.Cpu, yt.Cpu);
            p.Gpu.ActivationForwardTangent(f, x.Gpu, y.Gpu, xt.Gpu, yt.Gpu);
            p.AssertClose(yt);

            var dyt = p.Random(n);
            var dxt = p.Random(n);
            p.Cpu.ActivationBackwardTangent(f, x.Cpu, y.Cpu, xt.Cpu, dy.Cpu, dyt.Cpu, dxt.Cpu);
            p.Gpu.ActivationBackwardTangent(f, x.Gpu, y.Gpu, xt.Gpu, dy.Gpu, dyt.Gpu, dxt.Gpu);
            p.AssertClose(dxt);

            p.Cpu.ActivationBackwardTangent(f, x.Cpu, y.Cpu, null, dy.Cpu, dyt.Cpu, dxt.Cpu);
            p.Gpu.ActivationBackwardTangent(f, x.Gpu, y.Gpu, null, dy.Gpu, dyt.Gpu, dxt.Gpu);
            p.AssertClose(dxt);
        }
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Softmax_cross_entropy_rules_match()
    {
        using var p = new BackendPair();
        foreach ((int rows, int classes) in new[] { (64, 10), (3, 1000), (1500, 7) })
        {
            var logits = p.Random(rows * classes, -5f, 5f);
            var labels = p.Labels(rows, classes);
            var probabilities = p.Of(new float[rows * classes]);
            var loss = p.Of(new float[1]);
            p.Cpu.SoftmaxCrossEntropyForward(logits.Cpu, labels.Cpu, rows, classes, probabilities.Cpu, loss.Cpu);
            p.Gpu.SoftmaxCrossEntropyForward(logits.Gpu, labels.Gpu, rows, classes, probabilities.Gpu, loss.Gpu);
            p.AssertClose(probabilities);
            p.AssertClose(loss);

            var logitsTangent = p.Random(rows * classes);
            var lossTangent = p.Of(new float[1]);
            p.Cpu.SoftmaxCrossEntropyForwardTangent(probabilities.Cpu, labels.Cpu, logitsTangent.Cpu, rows, classes, lossTangent.Cpu);
            p.Gpu.SoftmaxCrossEntropyForwardTangent(probabilities.Gpu, labels.Gpu, logitsTangent.Gpu, rows, classes, lossTangent.Gpu);
            p.AssertClose(lossTangent);

            var dLoss = p.Of([1.3f]);
            var dLogits = p.Random(rows * classes);
            p.Cpu.SoftmaxCrossEntropyBackward(probabilities.Cpu, labels.Cpu, rows, classes, dLoss.Cpu, dLogits.Cpu);
            p.Gpu.SoftmaxCrossEntropyBackward(probabilities.Gpu, labels.Gpu, rows, classes, dLoss.Gpu, dLogits.Gpu);
            p.AssertClose(dLogits);

            var dLossTangent = p.Of([-0.7f]);
            var dLogitsTangent = p.Random(rows * classes);
            p.Cpu.SoftmaxCrossEntropyBackwardTangent(probabilities.Cpu, labels.Cpu, logitsTangent.Cpu, rows, classes, dLoss.Cpu, dLossTangent.Cpu, dLogitsTangent.Cpu);
            p.Gpu.SoftmaxCrossEntropyBackwardTangent(probabilities.Gpu, labels.Gpu, logitsTangent.Gpu, rows, classes, dLoss.Gpu, dLossTangent.Gpu, dLogitsTangent.Gpu);
            p.AssertClose(dLogitsTangent);

            p.Cpu.SoftmaxCrossEntropyBackwardTangent(probabilities.Cpu, labels.Cpu, null, rows, classes, dLoss.Cpu, dLossTangent.Cpu, dLogitsTangent.Cpu);
            p.Gpu.SoftmaxCrossEntropyBackwardTangent(probabilities.Gpu, labels.Gpu, null, rows, classes, dLoss.Gpu, dLossTangent.Gpu, dLogitsTangent.Gpu);
            p.AssertClose(dLogitsTangent);

            p.Cpu.SoftmaxCrossEntropyBackwardTangent(probabilities.Cpu, labels.Cpu, logitsTangent.Cpu, rows, classes, dLoss.Cpu, null, dLogitsTangent.Cpu);
            p.Gpu.SoftmaxCrossEntropyBackwardTangent(probabilities.Gpu, labels.Gpu, logitsTangent.Gpu, rows, classes, dLoss.Gpu, null, dLogitsTangent.Gpu);
            p.AssertClose(dLogitsTangent);
        }
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Index_buffers_round_trip_copy_and_slice()
    {
        using var p = new BackendPair();
        int[] ids = [0, 7, 16777217, int.MaxValue, -5, 42];
        var a = p.OfIds(ids);
        var b = (p.Cpu.AllocateIndices(ids.Length), p.Gpu.AllocateIndices(ids.Length));
        p.AssertEqual(b);
        p.Cpu.Copy(a.Cpu, b.Item1);
        p.Gpu.Copy(a.Gpu, b.Item2);
        p.AssertEqual(b);
        var back = new int[3];
        p.Gpu.Download(a.Gpu.Slice(1, 3), back);
        Assert.Equal([7, 16777217, int.MaxValue], back);
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Argmax_and_correct_count_match_the_cpu_with_ties_and_nans()
    {
        using var p = new BackendPair();
        foreach ((int rows, int classes) in new[] { (64, 10), (3, 10000), (1500, 7), (5, 1) })
        {
            float[] values = p.RandomValues(rows * classes, -3f, 3f);
            for (int r = 0; r < rows; r++)
            {
                // Ties (the first wins), and a NaN in every fifth row (it counts as the largest).
                values[(r * classes) + ((r * 7) % classes)] = 10f;
                values[(r * classes) + ((r * 3) % classes)] = 10f;
                if (r % 5 == 4)
                {
                    values[(r * classes) + (r % classes)] = float.NaN;
                }
            }

            var logits = p.Of(values);
            var argmax = (p.Cpu.AllocateIndices(rows), p.Gpu.AllocateIndices(rows));
            p.Cpu.ArgMax(logits.Cpu, rows, classes, argmax.Item1);
            p.Gpu.ArgMax(logits.Gpu, rows, classes, argmax.Item2);
            p.AssertEqual(argmax);
            var labels = p.Labels(rows, classes);
            Assert.Equal(p.Cpu.CountCorrect(logits.Cpu, labels.Cpu, rows, classes), p.Gpu.CountCorrect(logits.Gpu, labels.Gpu, rows, classes));
        }
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void An_invalid_label_or_token_id_throws_at_the_next_synchronising_call()
    {
        using var p = new BackendPair();
        const int rows = 4, classes = 5;
        var logits = p.Random(rows * classes);
        var probabilities = p.Of(new float[rows * classes]);
        var loss = p.Of(new float[1]);
        var labels = p.OfIds([0, 4, 5, 1]);
        Assert.Contains("label 5 of row 2", Assert.Throws<ArgumentException>(() => p.Cpu.SoftmaxCrossEntropyForward(logits.Cpu, labels.Cpu, rows, classes, probabilities.Cpu, loss.Cpu)).Message, StringComparison.Ordinal);
        p.Gpu.SoftmaxCrossEntropyForward(logits.Gpu, labels.Gpu, rows, classes, probabilities.Gpu, loss.Gpu);
        Assert.Contains("label 5 of row 2", Assert.Throws<ArgumentException>(() => p.Gpu.Synchronize()).Message, StringComparison.Ordinal);
        p.Gpu.Synchronize(); // the record is cleared once reported

        var weight = p.Random(classes * 3);
        var output = p.Of(new float[rows * 3]);
        var ids = p.OfIds([1, -2, 3, 0]);
        p.Gpu.Recurrent.EmbeddingGather(ids.Gpu, weight.Gpu, classes, 3, output.Gpu);
        var host = new float[rows * 3];
        Assert.Contains("token id -2 at position 1", Assert.Throws<ArgumentException>(() => p.Gpu.Download(output.Gpu, host)).Message, StringComparison.Ordinal);
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Mean_squared_error_rules_match()
    {
        using var p = new BackendPair();
        const int n = 4097;
        var prediction = p.Random(n);
        var target = p.Random(n);
        var loss = p.Of(new float[1]);
        p.Cpu.MeanSquaredErrorForward(prediction.Cpu, target.Cpu, loss.Cpu);
        p.Gpu.MeanSquaredErrorForward(prediction.Gpu, target.Gpu, loss.Gpu);
        p.AssertClose(loss);

        var predictionTangent = p.Random(n);
        var lossTangent = p.Of(new float[1]);
        p.Cpu.MeanSquaredErrorForwardTangent(prediction.Cpu, target.Cpu, predictionTangent.Cpu, lossTangent.Cpu);
        p.Gpu.MeanSquaredErrorForwardTangent(prediction.Gpu, target.Gpu, predictionTangent.Gpu, lossTangent.Gpu);
        p.AssertClose(lossTangent);

        var dLoss = p.Of([0.9f]);
        var dPrediction = p.Random(n);
        p.Cpu.MeanSquaredErrorBackward(prediction.Cpu, target.Cpu, dLoss.Cpu, dPrediction.Cpu);
        p.Gpu.MeanSquaredErrorBackward(prediction.Gpu, target.Gpu, dLoss.Gpu, dPrediction.Gpu);
        p.AssertClose(dPrediction);

        var dLossTangent = p.Of([1.1f]);
        var dPredictionTangent = p.Random(n);
        p.Cpu.MeanSquaredErrorBackwardTangent(prediction.Cpu, target.Cpu, predictionTangent.Cpu, dLoss.Cpu, dLossTangent.Cpu, dPredictionTangent.Cpu);
        p.Gpu.MeanSquaredErrorBackwardTangent(prediction.Gpu, target.Gpu, predictionTangent.Gpu, dLoss.Gpu, dLossTangent.Gpu, dPredictionTangent.Gpu);
        p.AssertClose(dPredictionTangent);

        p.Cpu.MeanSquaredErrorBackwardTangent(prediction.Cpu, target.Cpu, null, dLoss.Cpu, dLossTangent.Cpu, dPredictionTangent.Cpu);
        p.Gpu.MeanSquaredErrorBackwardTangent(prediction.Gpu, target.Gpu, null, dLoss.Gpu, dLossTangent.Gpu, dPredictionTangent.Gpu);
        p.AssertClose(dPredictionTangent);

        p.Cpu.MeanSquaredErrorBackwardTangent(prediction.Cpu, target.Cpu, predictionTangent.Cpu, dLoss.Cpu, null, dPredictionTangent.Cpu);
        p.Gpu.MeanSquaredErrorBackwardTangent(prediction.Gpu, target.Gpu, predictionTangent.Gpu, dLoss.Gpu, null, dPredictionTangent.Gpu);
        p.AssertClose(dPredictionTangent);
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Sgd_momentum_matches_with_scalar_and_per_element_hyperparameters()
    {
        using var p = new BackendPair();
        const int n = 1537;
        var weights = p.Random(n);
        var gradient = p.Random(n);
        var velocity = p.Random(n);
        for (int step = 0; step < 3; step++)
        {
            p.Cpu.SgdMomentumStep(weights.Cpu, gradient.Cpu, velocity.Cpu, HyperValue.Of(0.1f), HyperValue.Of(5e-4f), HyperValue.Of(0.9f));
            p.Gpu.SgdMomentumStep(weights.Gpu, gradient.Gpu, velocity.Gpu, HyperValue.Of(0.1f), HyperValue.Of(5e-4f), HyperValue.Of(0.9f));
        }

        p.AssertClose(weights);
        p.AssertClose(velocity);

        var lr = p.Random(n, 0.001f, 0.2f);
        var mu = p.Random(n, 0f, 0.99f);
        p.Cpu.SgdMomentumStep(weights.Cpu, gradient.Cpu, velocity.Cpu, HyperValue.Of(lr.Cpu), HyperValue.Of(1e-3f), HyperValue.Of(mu.Cpu));
        p.Gpu.SgdMomentumStep(weights.Gpu, gradient.Gpu, velocity.Gpu, HyperValue.Of(lr.Gpu), HyperValue.Of(1e-3f), HyperValue.Of(mu.Gpu));
        p.AssertClose(weights);
        p.AssertClose(velocity);
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Hyperparameter_helpers_match()
    {
        using var p = new BackendPair();
        var x = p.Random(999, -4f, 1f);
        var y = p.Of(new float[999]);
        p.Cpu.Exp10(x.Cpu, y.Cpu);
        p.Gpu.Exp10(x.Gpu, y.Gpu);
        p.AssertClose(y);

        p.Cpu.Clamp(x.Cpu, -2f, 0.5f);
        p.Gpu.Clamp(x.Gpu, -2f, 0.5f);
        p.AssertClose(x, 0);
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Adam_matches_over_several_steps()
    {
        using var p = new BackendPair();
        const int n = 777;
        var parameters = p.Random(n);
        var m = p.Of(new float[n]);
        var v = p.Of(new float[n]);
        for (int step = 1; step <= 5; step++)
        {
            var gradient = p.Random(n);
            p.Cpu.AdamStep(parameters.Cpu, gradient.Cpu, m.Cpu, v.Cpu, 0.01f, 0.9f, 0.999f, 1e-8f, step);
            p.Gpu.AdamStep(parameters.Gpu, gradient.Gpu, m.Gpu, v.Gpu, 0.01f, 0.9f, 0.999f, 1e-8f, step);
        }

        p.AssertClose(parameters);
        p.AssertClose(m);
        p.AssertClose(v);
    }
}
