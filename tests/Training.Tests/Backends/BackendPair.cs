using OnePass.Training.Backends;
using OnePass.Training.Backends.Cuda;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Backends;

/// <summary>A CPU backend and a CUDA backend fed the same data, for comparing every method.</summary>
internal sealed class BackendPair : IDisposable
{
    private readonly Random random = new(1234);

    public CpuBackend Cpu { get; } = new();

    public CudaBackend Gpu { get; } = CudaBackend.Create();

    /// <summary>Buffers of equal contents on both backends.</summary>
    public (DeviceBuffer Cpu, DeviceBuffer Gpu) Of(float[] values)
    {
        DeviceBuffer c = Cpu.Allocate(values.Length), g = Gpu.Allocate(values.Length);
        Cpu.Upload(values, c);
        Gpu.Upload(values, g);
        return (c, g);
    }

    public float[] RandomValues(int length, float low = -2f, float high = 2f) =>
        Enumerable.Range(0, length).Select(_ => low + ((high - low) * random.NextSingle())).ToArray();

    public (DeviceBuffer Cpu, DeviceBuffer Gpu) Random(int length, float low = -2f, float high = 2f) => Of(RandomValues(length, low, high));

    /// <summary>Index buffers of equal contents on both backends.</summary>
    public (IndexBuffer Cpu, IndexBuffer Gpu) OfIds(int[] values)
    {
        IndexBuffer c = Cpu.AllocateIndices(values.Length), g = Gpu.AllocateIndices(values.Length);
        Cpu.Upload(values, c);
        Gpu.Upload(values, g);
        return (c, g);
    }

    public (IndexBuffer Cpu, IndexBuffer Gpu) Labels(int rows, int classes) =>
        OfIds(Enumerable.Range(0, rows).Select(_ => random.Next(classes)).ToArray());

    /// <summary>Asserts both index buffers hold the same ids.</summary>
    public void AssertEqual((IndexBuffer Cpu, IndexBuffer Gpu) pair)
    {
        var expected = new int[pair.Cpu.Length];
        var actual = new int[pair.Gpu.Length];
        Cpu.Download(pair.Cpu, expected);
        Gpu.Download(pair.Gpu, actual);
        Assert.Equal(expected, actual);
    }

    /// <summary>Asserts both buffers agree elementwise within 1e-4 relative (to the element, floored at 1% of the largest).</summary>
    public void AssertClose((DeviceBuffer Cpu, DeviceBuffer Gpu) pair, double tolerance = 1e-4)
    {
        var expected = new float[pair.Cpu.Length];
        var actual = new float[pair.Gpu.Length];
        Cpu.Download(pair.Cpu, expected);
        Gpu.Download(pair.Gpu, actual);
        double largest = expected.Length == 0 ? 0 : expected.Max(v => Math.Abs((double)v));
        for (int i = 0; i < expected.Length; i++)
        {
            double scale = Math.Max(Math.Abs((double)expected[i]), Math.Max(0.01 * largest, 1e-6));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * scale,
                $"element {i}: cpu {expected[i]:G9}, cuda {actual[i]:G9}");
        }
    }

    public static void AssertClose(double expected, double actual, double tolerance = 1e-4) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance * Math.Max(Math.Abs(expected), 1e-6), $"cpu {expected:G12}, cuda {actual:G12}");

    public void Dispose()
    {
        Gpu.Dispose();
        Cpu.Dispose();
    }
}
