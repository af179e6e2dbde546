using OnePass.Training.Backends;
using OnePass.Training.Backends.Cuda;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Backends;

/// <summary>
/// The GPU recurrent family (<see cref="CudaRecurrent"/> launching <c>kernels/recurrent.cu</c>) against the CPU family,
/// with the kernels run by <see cref="CudaKernelEmulator"/> on the host: every kernel's arithmetic and every launch
/// site's argument list, without a GPU.
/// </summary>
public sealed class CudaRecurrentEmulationTests
{
    private const int Batch = 3, Hidden = 4, Vocabulary = 7, Dimension = 5;

    // Runs the whole family once on one implementation; returns every buffer it wrote, in order, with a name.
    private static List<(string Name, float[] Values)> Scenario(IRecurrentKernels family, Func<float[], DeviceBuffer> up, Func<int[], IndexBuffer> upIds, Func<DeviceBuffer, float[]> down, bool withPrevious)
    {
        var random = new Random(withPrevious ? 11 : 12);
        float[] Normal(int n) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();
        var seen = new List<(string, float[])>();
        void Keep(string name, DeviceBuffer buffer) => seen.Add((name, down(buffer)));

        int states = Batch * Hidden, gateCount = 4 * states;
        var ids = upIds([3, 0, 3, 6, 1, 3]);
        var weight = up(Normal(Vocabulary * Dimension));
        var embedded = up(new float[ids.Length * Dimension]);
        family.EmbeddingGather(ids, weight, Vocabulary, Dimension, embedded);
        Keep("embedding gather", embedded);
        var weightGradient = up(Normal(Vocabulary * Dimension));
        family.EmbeddingScatterAdd(ids, up(Normal(ids.Length * Dimension)), Vocabulary, Dimension, weightGradient);
        Keep("embedding scatter-add", weightGradient);

        var gates = up(Normal(gateCount));
        DeviceBuffer? previous = withPrevious ? up(Normal(states)) : null;
        DeviceBuffer? previousTangent = withPrevious ? up(Normal(states)) : null;
        var cell = up(new float[states]);
        var tanhCell = up(new float[states]);
        var output = up(new float[states]);
        family.LstmCellForward(gates, previous, Batch, Hidden, cell, tanhCell, output);
        Keep("forward gates", gates);
        Keep("forward cell", cell);
        Keep("forward tanh(cell)", tanhCell);
        Keep("forward output", output);

        var gateTangents = up(Normal(gateCount));
        var cellTangent = up(new float[states]);
        var outputTangent = up(new float[states]);
        family.LstmCellForwardTangent(gates, previous, tanhCell, previousTangent, Batch, Hidden, gateTangents, cellTangent, outputTangent);
        Keep("tangent gates", gateTangents);
        Keep("tangent cell", cellTangent);
        Keep("tangent output", outputTangent);

        var outputGradient = up(Normal(states));
        DeviceBuffer? recurrentGradient = withPrevious ? up(Normal(states)) : null;
        var carry = up(Normal(states));
        var hiddenGradient = up(new float[states]);
        var cellGradient = up(new float[states]);
        var gateGradients = up(Normal(gateCount));
        family.LstmCellBackward(gates, previous, tanhCell, outputGradient, recurrentGradient, Batch, Hidden, carry, hiddenGradient, cellGradient, gateGradients);
        Keep("backward carry", carry);
        Keep("backward hidden gradient", hiddenGradient);
        Keep("backward cell gradient", cellGradient);
        Keep("backward gate gradients", gateGradients);

        DeviceBuffer? outputGradientTangent = up(Normal(states));
        DeviceBuffer? recurrentGradientTangent = withPrevious ? up(Normal(states)) : null;
        var carryTangent = up(Normal(states));
        var gateGradientTangents = up(Normal(gateCount));
        family.LstmCellBackwardTangent(gates, previous, tanhCell, gateTangents, previousTangent, cellTangent, hiddenGradient, cellGradient,
            outputGradientTangent, recurrentGradientTangent, Batch, Hidden, carryTangent, gateGradientTangents);
        Keep("R-backward carry", carryTangent);
        Keep("R-backward gate gradients", gateGradientTangents);
        return seen;
    }

    [KernelEmulatorTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void Every_kernel_matches_the_cpu_family(bool withPreviousState)
    {
        using var cpu = new CpuBackend();
        DeviceBuffer CpuUp(float[] values)
        {
            var buffer = cpu.Allocate(values.Length);
            cpu.Upload(values, buffer);
            return buffer;
        }

        IndexBuffer CpuUpIds(int[] values)
        {
            var buffer = cpu.AllocateIndices(values.Length);
            cpu.Upload(values, buffer);
            return buffer;
        }

        float[] CpuDown(DeviceBuffer buffer)
        {
            var values = new float[buffer.Length];
            cpu.Download(buffer, values);
            return values;
        }

        using var emulator = new CudaKernelEmulator("kernels/recurrent.cu");
        var gpu = new CudaRecurrent(emulator, emulator.Function);

        var expected = Scenario(cpu.Recurrent, CpuUp, CpuUpIds, CpuDown, withPreviousState);
        var actual = Scenario(gpu, emulator.Upload, emulator.UploadIds, b => emulator.Download((CudaBuffer)b), withPreviousState);
        Assert.Equal([0, 0, 0, 0], emulator.TakeIndexError());

        Assert.Equal(expected.Count, actual.Count);
        for (int k = 0; k < expected.Count; k++)
        {
            double error = Checking.OpRuleCheck.RelativeError(actual[k].Values, Array.ConvertAll(expected[k].Values, v => (double)v));
            Assert.True(error < 1e-5, $"{expected[k].Name}: relative error {error:E2}");
        }
    }

    [KernelEmulatorFact]
    public void An_invalid_token_id_gathers_nan_scatters_nothing_and_is_recorded()
    {
        using var emulator = new CudaKernelEmulator("kernels/recurrent.cu");
        var gpu = new CudaRecurrent(emulator, emulator.Function);
        var ids = emulator.UploadIds([1, -1, Vocabulary]);
        var weight = emulator.Upload(Enumerable.Range(0, Vocabulary * 2).Select(i => (float)i).ToArray());
        var output = emulator.Upload(new float[6]);
        var weightGradient = emulator.Upload(new float[Vocabulary * 2]);

        gpu.EmbeddingGather(ids, weight, Vocabulary, 2, output);
        // The first invalid id met is recorded (kind 1: the gather; id, vocabulary, position), later ones are not.
        Assert.Equal([1, -1, Vocabulary, 1], emulator.TakeIndexError());
        gpu.EmbeddingScatterAdd(ids, emulator.Upload([1, 1, 1, 1, 1, 1]), Vocabulary, 2, weightGradient);
        Assert.Equal([2, -1, Vocabulary, 1], emulator.TakeIndexError());
        Assert.Contains("token id -1 at position 1 is not in [0, 7)", CudaBackend.IndexErrorMessage(1, -1, Vocabulary, 1), StringComparison.Ordinal);

        float[] y = emulator.Download(output);
        Assert.Equal([2f, 3f], y[..2]);
        Assert.All(y[2..], v => Assert.True(float.IsNaN(v)));
        Assert.Equal(2f, emulator.Download(weightGradient).Sum());
    }
}
