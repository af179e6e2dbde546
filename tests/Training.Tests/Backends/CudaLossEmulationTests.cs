using OnePass.Training.Backends;
using OnePass.Training.Backends.Cuda;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Backends;

/// <summary>
/// The kernels of <c>kernels/losses.cu</c> that take int32 labels (softmax cross-entropy, the argmax and correct count)
/// against the CPU backend, run by <see cref="CudaKernelEmulator"/> on the host with one block of one thread (the
/// block reductions' shuffles made neutral): their arithmetic, label handling and argument lists, without a GPU.
/// </summary>
public sealed class CudaLossEmulationTests
{
    private static KernelArgument I(int value) => KernelArgument.Int(value);

    private static KernelArgument P(ulong pointer) => KernelArgument.Pointer(pointer);

    private static KernelArgument P(DeviceBuffer buffer) => KernelArgument.Pointer(((CudaBuffer)buffer).Pointer);

    private static KernelArgument P(IndexBuffer buffer) => KernelArgument.Pointer(((CudaIndexBuffer)buffer).Pointer);

    [KernelEmulatorTheory]
    [InlineData(40, 7)]
    [InlineData(6, 1)]
    [InlineData(3, 300)]
    public void Argmax_and_correct_count_kernel_agrees_with_the_host_with_ties_and_nans(int rows, int classes)
    {
        using var emulator = new CudaKernelEmulator("kernels/losses.cu");
        float[] values = IndexBufferTests.LogitsWithTiesAndNaNs(rows, classes, rows + classes);
        int[] expected = Enumerable.Range(0, rows).Select(r => IndexBufferTests.HostArgMax(values.AsSpan(r * classes, classes))).ToArray();
        var logits = emulator.Upload(values);
        var argmax = emulator.UploadIds(new int[rows]);
        nint kernel = emulator.Function("argmax_rows_i32");
        emulator.Launch(kernel, 1, I(rows), I(classes), P(logits), P(argmax), P(0), P(0));
        Assert.Equal(expected, emulator.DownloadIds(argmax));

        int[] labels = expected.Select((e, r) => r % 3 == 0 ? (e + 1) % Math.Max(2, classes) : e).ToArray();
        labels[^1] = -1;
        var counter = emulator.Upload(new float[2]); // a 64-bit counter
        emulator.Launch(kernel, 1, I(rows), I(classes), P(logits), P(0), P(emulator.UploadIds(labels)), P(counter));
        float[] bits = emulator.Download(counter);
        ulong count = BitConverter.SingleToUInt32Bits(bits[0]) | ((ulong)BitConverter.SingleToUInt32Bits(bits[1]) << 32);
        Assert.Equal((ulong)expected.Zip(labels).Count(p => p.First == p.Second), count);
    }

    [KernelEmulatorFact]
    public void Softmax_cross_entropy_kernels_match_the_cpu_and_record_an_invalid_label()
    {
        const int rows = 5, classes = 6;
        var random = new Random(3);
        float[] Normal(int n) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();
        float[] z = Normal(rows * classes), zt = Normal(rows * classes), d = Normal(rows * classes), dt = Normal(rows * classes);
        int[] labels = [0, 5, 2, 2, 4];

        using var cpu = new CpuBackend();
        DeviceBuffer Up(float[] v)
        {
            var b = cpu.Allocate(v.Length);
            cpu.Upload(v, b);
            return b;
        }

        float[] Down(DeviceBuffer b)
        {
            var v = new float[b.Length];
            cpu.Download(b, v);
            return v;
        }

        var cpuLabels = cpu.AllocateIndices(rows);
        cpu.Upload(labels, cpuLabels);
        var cpuP = cpu.Allocate(rows * classes);
        var cpuLoss = cpu.Allocate(1);
        cpu.SoftmaxCrossEntropyForward(Up(z), cpuLabels, rows, classes, cpuP, cpuLoss);
        var cpuLossTangent = cpu.Allocate(1);
        cpu.SoftmaxCrossEntropyForwardTangent(cpuP, cpuLabels, Up(zt), rows, classes, cpuLossTangent);
        var cpuD = Up(d);
        cpu.SoftmaxCrossEntropyBackward(cpuP, cpuLabels, rows, classes, Up([1.3f]), cpuD);
        var cpuDt = Up(dt);
        cpu.SoftmaxCrossEntropyBackwardTangent(cpuP, cpuLabels, Up(zt), rows, classes, Up([1.3f]), Up([-0.7f]), cpuDt);

        using var emulator = new CudaKernelEmulator("kernels/losses.cu");
        var gpuLabels = emulator.UploadIds(labels);
        var gpuP = emulator.Upload(new float[rows * classes]);
        var partials = emulator.Upload(new float[2]); // one double
        emulator.Launch(emulator.Function("softmax_xent_forward"), 1, I(rows), I(classes), P(emulator.Upload(z)), P(gpuLabels), P(gpuP), P(partials), P(emulator.IndexErrors));
        double Partial()
        {
            float[] bits = emulator.Download(partials);
            return BitConverter.UInt64BitsToDouble(BitConverter.SingleToUInt32Bits(bits[0]) | ((ulong)BitConverter.SingleToUInt32Bits(bits[1]) << 32));
        }

        Assert.True(Checking.OpRuleCheck.RelativeError(emulator.Download(gpuP), Array.ConvertAll(Down(cpuP), v => (double)v)) < 1e-5, "probabilities");
        Assert.Equal(Down(cpuLoss)[0], Partial() / rows, 5);
        emulator.Launch(emulator.Function("softmax_xent_forward_tangent"), 1, I(rows), I(classes), P(gpuP), P(gpuLabels), P(emulator.Upload(zt)), P(partials));
        Assert.Equal(Down(cpuLossTangent)[0], Partial() / rows, 5);
        var gpuD = emulator.Upload(d);
        emulator.Launch(emulator.Function("softmax_xent_backward"), 1, I(rows), I(classes), P(gpuP), P(gpuLabels), P(emulator.Upload([1.3f])), P(gpuD));
        Assert.True(Checking.OpRuleCheck.RelativeError(emulator.Download(gpuD), Array.ConvertAll(Down(cpuD), v => (double)v)) < 1e-5, "backward");
        var gpuDt = emulator.Upload(dt);
        emulator.Launch(emulator.Function("softmax_xent_backward_tangent"), 1, I(rows), I(classes), P(gpuP), P(gpuLabels), P(emulator.Upload(zt)),
            P(emulator.Upload([1.3f])), P(emulator.Upload([-0.7f])), P(gpuDt));
        Assert.True(Checking.OpRuleCheck.RelativeError(emulator.Download(gpuDt), Array.ConvertAll(Down(cpuDt), v => (double)v)) < 1e-5, "backward tangent");
        Assert.Equal([0, 0, 0, 0], emulator.TakeIndexError());

        // An invalid label: NaN loss, and the first one recorded (kind 3, label, classes, row) for the backend to throw on.
        var bad = emulator.UploadIds([0, 6, 2, -3, 4]);
        emulator.Launch(emulator.Function("softmax_xent_forward"), 1, I(rows), I(classes), P(emulator.Upload(z)), P(bad), P(gpuP), P(partials), P(emulator.IndexErrors));
        Assert.True(double.IsNaN(Partial()));
        Assert.Equal([3, 6, classes, 1], emulator.TakeIndexError());
        Assert.Contains("label 6 of row 1 is not a class index in [0, 6)", CudaBackend.IndexErrorMessage(3, 6, classes, 1), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => cpu.SoftmaxCrossEntropyForward(Up(z), Ids(cpu, [0, 6, 2, -3, 4]), rows, classes, cpuP, cpuLoss));
    }

    private static IndexBuffer Ids(CpuBackend cpu, int[] ids)
    {
        var buffer = cpu.AllocateIndices(ids.Length);
        cpu.Upload(ids, buffer);
        return buffer;
    }
}
