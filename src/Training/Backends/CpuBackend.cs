using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>
/// The host backend: SIMD elementwise kernels from <see cref="TensorPrimitives"/> and a packed, cache-blocked,
/// multi-threaded SGEMM. Work runs synchronously on the calling thread (matrix products fan out to the pool).
/// </summary>
public sealed class CpuBackend : IBackend
{
    /// <summary>Creates the backend and its op-family kernels.</summary>
    public CpuBackend()
    {
        Convolution = new CpuConvolution();
        Normalisation = new CpuNormalisation();
        Recurrent = new CpuRecurrent();
    }

    /// <inheritdoc />
    public IConvolutionKernels Convolution { get; }

    /// <inheritdoc />
    public INormalisationKernels Normalisation { get; }

    /// <inheritdoc />
    public IRecurrentKernels Recurrent { get; }

    /// <inheritdoc />
    public string Name => "cpu";

    /// <inheritdoc />
    public string Description => $"CPU: {Environment.ProcessorCount} cores, {RuntimeInformation.ProcessArchitecture}, " +
        $"{(System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "AVX2" : "no 256-bit SIMD")}";

    private static Span<float> S(DeviceBuffer buffer) => Cpu(buffer).Span;

    private static CpuBuffer Cpu(DeviceBuffer buffer) =>
        buffer as CpuBuffer ?? throw new ArgumentException($"buffer of type {buffer.GetType().Name} was not allocated by the CPU backend");

    /// <summary>The host span of an index buffer allocated by the CPU backend.</summary>
    internal static Span<int> Ids(IndexBuffer buffer) =>
        (buffer as CpuIndexBuffer ?? throw new ArgumentException($"index buffer of type {buffer.GetType().Name} was not allocated by the CPU backend")).Span;

    private static void SameLength(DeviceBuffer a, DeviceBuffer b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"buffer lengths differ: {a.Length} and {b.Length}");
        }
    }

    /// <inheritdoc />
    public DeviceBuffer Allocate(int length) => new CpuBuffer(new float[length], 0, length);

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<float> source, DeviceBuffer destination)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"upload of {source.Length} values into a buffer of {destination.Length}");
        }

        source.CopyTo(S(destination));
    }

    /// <inheritdoc />
    public void Download(DeviceBuffer source, Span<float> destination)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"download of a buffer of {source.Length} values into {destination.Length}");
        }

        S(source).CopyTo(destination);
    }

    /// <inheritdoc />
    public void Copy(DeviceBuffer source, DeviceBuffer destination)
    {
        SameLength(source, destination);
        S(source).CopyTo(S(destination));
    }

    /// <inheritdoc />
    public void Fill(DeviceBuffer buffer, float value) => S(buffer).Fill(value);

    /// <inheritdoc />
    public void Synchronize()
    {
    }

    /// <inheritdoc />
    public IndexBuffer AllocateIndices(int length) => new CpuIndexBuffer(new int[length], 0, length);

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<int> source, IndexBuffer destination)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"upload of {source.Length} ids into an index buffer of {destination.Length}");
        }

        source.CopyTo(Ids(destination));
    }

    /// <inheritdoc />
    public void Download(IndexBuffer source, Span<int> destination)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"download of an index buffer of {source.Length} ids into {destination.Length}");
        }

        Ids(source).CopyTo(destination);
    }

    /// <inheritdoc />
    public void Copy(IndexBuffer source, IndexBuffer destination)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"index buffer lengths differ: {source.Length} and {destination.Length}");
        }

        Ids(source).CopyTo(Ids(destination));
    }

    /// <inheritdoc />
    public void Gemm(bool transposeA, bool transposeB, int m, int n, int k, float alpha, DeviceBuffer a, DeviceBuffer b, float beta, DeviceBuffer c)
    {
        if (a.Length < (long)m * k || b.Length < (long)k * n || c.Length < (long)m * n)
        {
            throw new ArgumentException($"GEMM {m}x{k} by {k}x{n} does not fit buffers of {a.Length}, {b.Length}, {c.Length}");
        }

        CpuGemm.Multiply(transposeA, transposeB, m, n, k, alpha, S(a), S(b), beta, S(c));
    }

    /// <inheritdoc />
    public void Axpy(float alpha, DeviceBuffer x, DeviceBuffer y)
    {
        SameLength(x, y);
        TensorPrimitives.MultiplyAdd(S(x), alpha, S(y), S(y));
    }

    /// <inheritdoc />
    public void Scale(float alpha, DeviceBuffer x) => TensorPrimitives.Multiply(S(x), alpha, S(x));

    /// <inheritdoc />
    public void Multiply(DeviceBuffer a, DeviceBuffer b, DeviceBuffer result)
    {
        SameLength(a, b);
        SameLength(a, result);
        TensorPrimitives.Multiply(S(a), S(b), S(result));
    }

    /// <inheritdoc />
    public void MultiplyAdd(float alpha, DeviceBuffer a, DeviceBuffer b, DeviceBuffer result)
    {
        SameLength(a, b);
        SameLength(a, result);
        Span<float> x = S(a), y = S(b), r = S(result);
        if (alpha == 1f)
        {
            TensorPrimitives.MultiplyAdd(x, y, r, r);
            return;
        }

        for (int i = 0; i < r.Length; i++)
        {
            r[i] += alpha * x[i] * y[i];
        }
    }

    /// <inheritdoc />
    public double Dot(DeviceBuffer x, DeviceBuffer y)
    {
        SameLength(x, y);
        Span<float> a = S(x), b = S(y);
        // Float SIMD within short chunks, double across chunks: accurate to ~1e-7 relative for any length we use.
        double total = 0;
        const int chunk = 1024;
        for (int i = 0; i < a.Length; i += chunk)
        {
            int len = Math.Min(chunk, a.Length - i);
            total += TensorPrimitives.Dot(a.Slice(i, len), b.Slice(i, len));
        }

        return total;
    }

    /// <inheritdoc />
    public double Sum(DeviceBuffer x)
    {
        Span<float> a = S(x);
        double total = 0;
        const int chunk = 1024;
        for (int i = 0; i < a.Length; i += chunk)
        {
            total += TensorPrimitives.Sum(a.Slice(i, Math.Min(chunk, a.Length - i)));
        }

        return total;
    }

    /// <inheritdoc />
    public bool AllFinite(DeviceBuffer x)
    {
        foreach (float v in S(x))
        {
            if (!float.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc />
    public void AddRowVector(DeviceBuffer matrix, int rows, int cols, DeviceBuffer row)
    {
        Span<float> m = S(matrix);
        Span<float> r = S(row)[..cols];
        for (int i = 0; i < rows; i++)
        {
            Span<float> line = m.Slice(i * cols, cols);
            TensorPrimitives.Add(line, r, line);
        }
    }

    /// <inheritdoc />
    public void AddColumnSums(DeviceBuffer matrix, int rows, int cols, DeviceBuffer result)
    {
        Span<float> m = S(matrix);
        Span<float> r = S(result)[..cols];
        for (int i = 0; i < rows; i++)
        {
            TensorPrimitives.Add(r, m.Slice(i * cols, cols), r);
        }
    }

    /// <inheritdoc />
    public void ActivationForward(Activation f, DeviceBuffer x, DeviceBuffer y)
    {
        SameLength(x, y);
        switch (f)
        {
            case Activation.Relu: TensorPrimitives.Max(S(x), 0f, S(y)); break;
            case Activation.Tanh: TensorPrimitives.Tanh(S(x), S(y)); break;
            case Activation.Sigmoid: TensorPrimitives.Sigmoid(S(x), S(y)); break;
            default: throw new ArgumentOutOfRangeException(nameof(f), f, null);
        }
    }

    // f'(x) written in terms of x and y = f(x), as all three activations allow.
    // result (+)= relu'(x)·v, SIMD: the derivative as a 1/0 mask multiplied in, so a NaN in v propagates exactly as
    // the scalar rule's 0·NaN does.
    private static void ReluDerivativeTimes(ReadOnlySpan<float> x, ReadOnlySpan<float> v, Span<float> result, bool accumulate)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            int width = System.Numerics.Vector<float>.Count;
            var one = System.Numerics.Vector<float>.One;
            var zero = System.Numerics.Vector<float>.Zero;
            for (; i <= result.Length - width; i += width)
            {
                var mask = System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.GreaterThan(new System.Numerics.Vector<float>(x[i..]), zero), one, zero);
                var term = mask * new System.Numerics.Vector<float>(v[i..]);
                (accumulate ? term + new System.Numerics.Vector<float>(result[i..]) : term).CopyTo(result[i..]);
            }
        }

        for (; i < result.Length; i++)
        {
            float term = (x[i] > 0f ? 1f : 0f) * v[i];
            result[i] = accumulate ? result[i] + term : term;
        }
    }

    private static float Derivative(Activation f, float x, float y) => f switch
    {
        Activation.Relu => x > 0f ? 1f : 0f,
        Activation.Tanh => 1f - (y * y),
        Activation.Sigmoid => y * (1f - y),
        _ => throw new ArgumentOutOfRangeException(nameof(f), f, null),
    };

    private static float SecondDerivative(Activation f, float y) => f switch
    {
        Activation.Relu => 0f,
        Activation.Tanh => -2f * y * (1f - (y * y)),
        Activation.Sigmoid => y * (1f - y) * (1f - (2f * y)),
        _ => throw new ArgumentOutOfRangeException(nameof(f), f, null),
    };

    /// <inheritdoc />
    public void ActivationBackward(Activation f, DeviceBuffer x, DeviceBuffer y, DeviceBuffer dy, DeviceBuffer dx)
    {
        Span<float> xs = S(x), ys = S(y), g = S(dy), d = S(dx);
        if (f == Activation.Relu)
        {
            ReluDerivativeTimes(xs, g, d, accumulate: true);
            return;
        }

        for (int i = 0; i < d.Length; i++)
        {
            d[i] += Derivative(f, xs[i], ys[i]) * g[i];
        }
    }

    /// <inheritdoc />
    public void ActivationForwardTangent(Activation f, DeviceBuffer x, DeviceBuffer y, DeviceBuffer xTangent, DeviceBuffer yTangent)
    {
        Span<float> xs = S(x), ys = S(y), xt = S(xTangent), yt = S(yTangent);
        if (f == Activation.Relu)
        {
            ReluDerivativeTimes(xs, xt, yt, accumulate: false);
            return;
        }

        for (int i = 0; i < yt.Length; i++)
        {
            yt[i] = Derivative(f, xs[i], ys[i]) * xt[i];
        }
    }

    /// <inheritdoc />
    public void ActivationBackwardTangent(Activation f, DeviceBuffer x, DeviceBuffer y, DeviceBuffer? xTangent, DeviceBuffer dy, DeviceBuffer dyTangent, DeviceBuffer dxTangent)
    {
        Span<float> xs = S(x), ys = S(y), g = S(dy), gt = S(dyTangent), dt = S(dxTangent);
        if (f == Activation.Relu)
        {
            // ReLU's second derivative is zero away from the kink, so only the first-order term remains.
            ReluDerivativeTimes(xs, gt, dt, accumulate: true);
            return;
        }

        if (xTangent is null)
        {
            for (int i = 0; i < dt.Length; i++)
            {
                dt[i] += Derivative(f, xs[i], ys[i]) * gt[i];
            }

            return;
        }

        Span<float> xt = S(xTangent);
        for (int i = 0; i < dt.Length; i++)
        {
            dt[i] += (Derivative(f, xs[i], ys[i]) * gt[i]) + (SecondDerivative(f, ys[i]) * xt[i] * g[i]);
        }
    }

    private static int Label(int label, int row, int classes)
    {
        if ((uint)label >= (uint)classes)
        {
            throw new ArgumentException($"label {label} of row {row} is not a class index in [0, {classes})");
        }

        return label;
    }

    private static void CheckLabels(IndexBuffer labels, int rows)
    {
        if (labels.Length < rows)
        {
            throw new ArgumentException($"labels has {labels.Length} elements; {rows} are needed");
        }
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropyForward(DeviceBuffer logits, IndexBuffer labels, int rows, int classes, DeviceBuffer probabilities, DeviceBuffer loss)
    {
        CheckLabels(labels, rows);
        Span<float> z = S(logits), p = S(probabilities);
        Span<int> y = Ids(labels);
        double total = 0;
        for (int r = 0; r < rows; r++)
        {
            Span<float> zr = z.Slice(r * classes, classes), pr = p.Slice(r * classes, classes);
            float max = TensorPrimitives.Max(zr);
            TensorPrimitives.Subtract(zr, max, pr);
            TensorPrimitives.Exp(pr, pr);
            double sum = TensorPrimitives.Sum(pr);
            TensorPrimitives.Multiply(pr, (float)(1.0 / sum), pr);
            int label = Label(y[r], r, classes);
            total += Math.Log(sum) - (zr[label] - max);
        }

        S(loss)[0] = (float)(total / rows);
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropyForwardTangent(DeviceBuffer probabilities, IndexBuffer labels, DeviceBuffer logitsTangent, int rows, int classes, DeviceBuffer lossTangent)
    {
        CheckLabels(labels, rows);
        Span<float> p = S(probabilities), zt = S(logitsTangent);
        Span<int> y = Ids(labels);
        double total = 0;
        for (int r = 0; r < rows; r++)
        {
            int label = Label(y[r], r, classes);
            total += TensorPrimitives.Dot(p.Slice(r * classes, classes), zt.Slice(r * classes, classes)) - zt[(r * classes) + label];
        }

        S(lossTangent)[0] = (float)(total / rows);
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropyBackward(DeviceBuffer probabilities, IndexBuffer labels, int rows, int classes, DeviceBuffer dLoss, DeviceBuffer dLogits)
    {
        CheckLabels(labels, rows);
        Span<float> p = S(probabilities), d = S(dLogits);
        Span<int> y = Ids(labels);
        float scale = S(dLoss)[0] / rows;
        for (int r = 0; r < rows; r++)
        {
            Span<float> dr = d.Slice(r * classes, classes);
            TensorPrimitives.MultiplyAdd(p.Slice(r * classes, classes), scale, dr, dr);
            dr[Label(y[r], r, classes)] -= scale;
        }
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropyBackwardTangent(DeviceBuffer probabilities, IndexBuffer labels, DeviceBuffer? logitsTangent, int rows, int classes, DeviceBuffer dLoss, DeviceBuffer? dLossTangent, DeviceBuffer dLogitsTangent)
    {
        CheckLabels(labels, rows);
        Span<float> p = S(probabilities), dt = S(dLogitsTangent);
        Span<int> y = Ids(labels);
        float scale = S(dLoss)[0] / rows;
        if (logitsTangent is not null)
        {
            Span<float> zt = S(logitsTangent);
            for (int r = 0; r < rows; r++)
            {
                Span<float> pr = p.Slice(r * classes, classes), ztr = zt.Slice(r * classes, classes), dtr = dt.Slice(r * classes, classes);
                float mean = TensorPrimitives.Dot(pr, ztr);
                for (int c = 0; c < classes; c++)
                {
                    dtr[c] += scale * pr[c] * (ztr[c] - mean);
                }
            }
        }

        if (dLossTangent is not null)
        {
            float tangentScale = S(dLossTangent)[0] / rows;
            for (int r = 0; r < rows; r++)
            {
                Span<float> dtr = dt.Slice(r * classes, classes);
                TensorPrimitives.MultiplyAdd(p.Slice(r * classes, classes), tangentScale, dtr, dtr);
                dtr[Label(y[r], r, classes)] -= tangentScale;
            }
        }
    }

    // The first largest value of a row, a NaN counting as the largest (the first NaN wins), as torch.argmax.
    internal static int RowArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        float max = row[0];
        if (float.IsNaN(max))
        {
            return 0;
        }

        for (int c = 1; c < row.Length; c++)
        {
            float v = row[c];
            if (float.IsNaN(v))
            {
                return c;
            }

            if (v > max)
            {
                max = v;
                best = c;
            }
        }

        return best;
    }

    private static void CheckArgMax(DeviceBuffer logits, int rows, int classes, int ids)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (logits.Length < (long)rows * classes || ids < rows)
        {
            throw new ArgumentException($"{rows} rows of {classes} classes do not fit logits of {logits.Length} and ids of {ids}");
        }
    }

    /// <inheritdoc />
    public void ArgMax(DeviceBuffer logits, int rows, int classes, IndexBuffer result)
    {
        CheckArgMax(logits, rows, classes, result.Length);
        Span<float> z = S(logits);
        Span<int> y = Ids(result);
        for (int r = 0; r < rows; r++)
        {
            y[r] = RowArgMax(z.Slice(r * classes, classes));
        }
    }

    /// <inheritdoc />
    public long CountCorrect(DeviceBuffer logits, IndexBuffer labels, int rows, int classes)
    {
        CheckArgMax(logits, rows, classes, labels.Length);
        Span<float> z = S(logits);
        Span<int> y = Ids(labels);
        long correct = 0;
        for (int r = 0; r < rows; r++)
        {
            if (RowArgMax(z.Slice(r * classes, classes)) == y[r])
            {
                correct++;
            }
        }

        return correct;
    }

    /// <inheritdoc />
    public void MeanSquaredErrorForward(DeviceBuffer prediction, DeviceBuffer target, DeviceBuffer loss)
    {
        SameLength(prediction, target);
        Span<float> p = S(prediction), t = S(target);
        double total = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double e = p[i] - t[i];
            total += e * e;
        }

        S(loss)[0] = (float)(total / p.Length);
    }

    /// <inheritdoc />
    public void MeanSquaredErrorForwardTangent(DeviceBuffer prediction, DeviceBuffer target, DeviceBuffer predictionTangent, DeviceBuffer lossTangent)
    {
        Span<float> p = S(prediction), t = S(target), pt = S(predictionTangent);
        double total = 0;
        for (int i = 0; i < p.Length; i++)
        {
            total += (double)(p[i] - t[i]) * pt[i];
        }

        S(lossTangent)[0] = (float)(2.0 * total / p.Length);
    }

    /// <inheritdoc />
    public void MeanSquaredErrorBackward(DeviceBuffer prediction, DeviceBuffer target, DeviceBuffer dLoss, DeviceBuffer dPrediction)
    {
        Span<float> p = S(prediction), t = S(target), d = S(dPrediction);
        float scale = 2f * S(dLoss)[0] / p.Length;
        for (int i = 0; i < p.Length; i++)
        {
            d[i] += scale * (p[i] - t[i]);
        }
    }

    /// <inheritdoc />
    public void MeanSquaredErrorBackwardTangent(DeviceBuffer prediction, DeviceBuffer target, DeviceBuffer? predictionTangent, DeviceBuffer dLoss, DeviceBuffer? dLossTangent, DeviceBuffer dPredictionTangent)
    {
        Span<float> p = S(prediction), t = S(target), dt = S(dPredictionTangent);
        if (predictionTangent is not null)
        {
            TensorPrimitives.MultiplyAdd(S(predictionTangent), 2f * S(dLoss)[0] / p.Length, dt, dt);
        }

        if (dLossTangent is not null)
        {
            float scale = 2f * S(dLossTangent)[0] / p.Length;
            for (int i = 0; i < p.Length; i++)
            {
                dt[i] += scale * (p[i] - t[i]);
            }
        }
    }

    /// <inheritdoc />
    public void SgdMomentumStep(DeviceBuffer weights, DeviceBuffer gradient, DeviceBuffer velocity, HyperValue learningRate, HyperValue weightDecay, HyperValue momentum)
    {
        SameLength(weights, gradient);
        SameLength(weights, velocity);
        Span<float> w = S(weights), g = S(gradient), b = S(velocity);
        if (learningRate.IsScalar && weightDecay.IsScalar && momentum.IsScalar)
        {
            ScalarSgdMomentumStep(w, g, b, learningRate.Scalar, weightDecay.Scalar, momentum.Scalar);
            return;
        }

        if (!learningRate.IsScalar && weightDecay.IsScalar && momentum.IsScalar)
        {
            PerWeightLrSgdMomentumStep(w, g, b, S(learningRate.PerElement!), weightDecay.Scalar, momentum.Scalar);
            return;
        }

        Span<float> lr = learningRate.IsScalar ? default : S(learningRate.PerElement!);
        Span<float> wd = weightDecay.IsScalar ? default : S(weightDecay.PerElement!);
        Span<float> mu = momentum.IsScalar ? default : S(momentum.PerElement!);
        for (int i = 0; i < w.Length; i++)
        {
            float d = g[i] + ((weightDecay.IsScalar ? weightDecay.Scalar : wd[i]) * w[i]);
            float v = ((momentum.IsScalar ? momentum.Scalar : mu[i]) * b[i]) + d;
            b[i] = v;
            w[i] -= (learningRate.IsScalar ? learningRate.Scalar : lr[i]) * v;
        }
    }

    // As below with one learning rate per weight (the ours-wd-hdlr-m case): w −= η ⊙ b.
    private static void PerWeightLrSgdMomentumStep(Span<float> w, ReadOnlySpan<float> g, Span<float> b, ReadOnlySpan<float> lr, float wd, float mu)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var vw = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(w);
            var vg = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(g);
            var vb = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(b);
            var vl = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(lr);
            for (int j = 0; j < vw.Length; j++)
            {
                var v = (mu * vb[j]) + vg[j] + (wd * vw[j]);
                vb[j] = v;
                vw[j] -= vl[j] * v;
            }

            i = vw.Length * System.Numerics.Vector<float>.Count;
        }

        for (; i < w.Length; i++)
        {
            float v = (mu * b[i]) + g[i] + (wd * w[i]);
            b[i] = v;
            w[i] -= lr[i] * v;
        }
    }

    // One SIMD pass: b = μ·b + (g + ξ·w); w −= η·b. The gradient is left untouched.
    private static void ScalarSgdMomentumStep(Span<float> w, ReadOnlySpan<float> g, Span<float> b, float lr, float wd, float mu)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var vw = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(w);
            var vg = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(g);
            var vb = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(b);
            for (int j = 0; j < vw.Length; j++)
            {
                var v = (mu * vb[j]) + vg[j] + (wd * vw[j]);
                vb[j] = v;
                vw[j] -= lr * v;
            }

            i = vw.Length * System.Numerics.Vector<float>.Count;
        }

        for (; i < w.Length; i++)
        {
            float v = (mu * b[i]) + g[i] + (wd * w[i]);
            b[i] = v;
            w[i] -= lr * v;
        }
    }

    /// <inheritdoc />
    public void Exp10(DeviceBuffer x, DeviceBuffer y)
    {
        SameLength(x, y);
        TensorPrimitives.Exp10<float>(S(x), S(y));
    }

    /// <inheritdoc />
    public void Clamp(DeviceBuffer x, float min, float max)
    {
        TensorPrimitives.Max(S(x), min, S(x));
        TensorPrimitives.Min(S(x), max, S(x));
    }

    /// <inheritdoc />
    public void AdamStep(DeviceBuffer parameters, DeviceBuffer gradient, DeviceBuffer firstMoment, DeviceBuffer secondMoment, float learningRate, float beta1, float beta2, float epsilon, int step)
    {
        Span<float> x = S(parameters), g = S(gradient), m = S(firstMoment), v = S(secondMoment);
        double correction1 = 1 - Math.Pow(beta1, step), correction2 = 1 - Math.Pow(beta2, step);
        float stepSize = (float)(learningRate / correction1);
        float rootCorrection2 = (float)Math.Sqrt(correction2);
        for (int i = 0; i < x.Length; i++)
        {
            m[i] = (beta1 * m[i]) + ((1 - beta1) * g[i]);
            v[i] = (beta2 * v[i]) + ((1 - beta2) * g[i] * g[i]);
            x[i] -= stepSize * m[i] / ((MathF.Sqrt(v[i]) / rootCorrection2) + epsilon);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
