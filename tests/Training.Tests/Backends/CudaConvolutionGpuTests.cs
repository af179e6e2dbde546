using OnePass.Native.Interop;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Backends;

/// <summary>
/// The GPU convolution paths against the CPU family on a real device: cuDNN (when libcudnn.so.9 is found) and the
/// im2col kernels around cuBLAS, for the whole-convolution calls with their beta and accumulation semantics. Skipped
/// without a GPU; <c>onepass selftest --backend cuda</c> covers the same ground through the op rules and models.
/// </summary>
public sealed class CudaConvolutionGpuTests
{
    private static readonly (ConvolutionGeometry Geometry, int OutChannels)[] Shapes =
    [
        (new ConvolutionGeometry(2, 3, 5, 5, 3, 3, 2, 1), 4),
        (new ConvolutionGeometry(3, 4, 6, 5, 3, 2, 1, 1), 5),
        (new ConvolutionGeometry(2, 2, 9, 9, 7, 7, 2, 3), 3),
        (new ConvolutionGeometry(4, 8, 7, 7, 1, 1, 2, 0), 6),
        (new ConvolutionGeometry(5, 32, 40, 40, 3, 3, 1, 1), 8), // several im2col chunks on the fallback path
    ];

    private static void Compare(BackendPair p, IConvolutionKernels gpu, ConvolutionGeometry g, int o)
    {
        int input = g.Batch * g.Channels * g.InputPlane, weights = o * g.ColumnRows, output = g.Batch * o * g.OutputPlane;
        var x = p.Random(input);
        var w = p.Random(weights);
        var y = p.Of(Enumerable.Repeat(float.NaN, output).ToArray());
        p.Cpu.Convolution.ConvolutionForward(x.Cpu, w.Cpu, g, o, y.Cpu, 0f);
        gpu.ConvolutionForward(x.Gpu, w.Gpu, g, o, y.Gpu, 0f);
        p.AssertClose(y);

        var x2 = p.Random(input);
        var w2 = p.Random(weights);
        p.Cpu.Convolution.ConvolutionForward(x2.Cpu, w2.Cpu, g, o, y.Cpu, 1f);
        gpu.ConvolutionForward(x2.Gpu, w2.Gpu, g, o, y.Gpu, 1f);
        p.AssertClose(y);

        var bias = p.Random(o);
        p.Cpu.Convolution.AddChannelBias(y.Cpu, g.Batch, o, g.OutputPlane, bias.Cpu);
        gpu.AddChannelBias(y.Gpu, g.Batch, o, g.OutputPlane, bias.Gpu);
        p.AssertClose(y);

        var dy = p.Random(output);
        var dx = p.Random(input);
        p.Cpu.Convolution.ConvolutionBackwardData(dy.Cpu, w.Cpu, g, o, dx.Cpu);
        gpu.ConvolutionBackwardData(dy.Gpu, w.Gpu, g, o, dx.Gpu);
        p.AssertClose(dx);

        var dw = p.Random(weights);
        p.Cpu.Convolution.ConvolutionBackwardFilter(x.Cpu, dy.Cpu, g, o, dw.Cpu);
        gpu.ConvolutionBackwardFilter(x.Gpu, dy.Gpu, g, o, dw.Gpu);
        p.AssertClose(dw);
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Backend_convolutions_match_the_cpu()
    {
        using var p = new BackendPair();
        foreach (var (g, o) in Shapes)
        {
            Compare(p, p.Gpu.Convolution, g, o);
        }
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Im2col_fallback_matches_the_cpu()
    {
        using var p = new BackendPair();
        var fallback = p.Gpu.ConvolutionWithoutCudnn();
        foreach (var (g, o) in Shapes)
        {
            Compare(p, fallback, g, o);
        }
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Cudnn_is_used_exactly_when_it_is_found()
    {
        using var p = new BackendPair();
        bool found = NativeLibraryResolver.Find(NativeLibraryResolver.CudnnName).Found;

        Assert.Equal(found, p.Gpu.ConvolutionLibrary.StartsWith("cuDNN 9.", StringComparison.Ordinal));
        Assert.Equal(!found, p.Gpu.ConvolutionLibrary == "no cuDNN");
        Assert.Contains(p.Gpu.ConvolutionLibrary, p.Gpu.Description);
    }

    [GpuFact, Trait("Category", "Gpu")]
    public void Repeated_convolutions_stop_allocating_after_the_first()
    {
        using var p = new BackendPair();
        var (g, o) = Shapes[^1];
        var x = p.Random(g.Batch * g.Channels * g.InputPlane);
        var w = p.Random(o * g.ColumnRows);
        var y = p.Random(g.Batch * o * g.OutputPlane);
        var dx = p.Random(g.Batch * g.Channels * g.InputPlane);
        var dw = p.Random(o * g.ColumnRows);
        void Step()
        {
            p.Gpu.Convolution.ConvolutionForward(x.Gpu, w.Gpu, g, o, y.Gpu, 0f);
            p.Gpu.Convolution.ConvolutionBackwardData(y.Gpu, w.Gpu, g, o, dx.Gpu);
            p.Gpu.Convolution.ConvolutionBackwardFilter(x.Gpu, y.Gpu, g, o, dw.Gpu);
        }

        Step();
        Step();
        int after = p.Gpu.DeviceAllocations;
        for (int i = 0; i < 5; i++)
        {
            Step();
        }

        p.Gpu.Synchronize();
        Assert.Equal(after, p.Gpu.DeviceAllocations);
    }
}
