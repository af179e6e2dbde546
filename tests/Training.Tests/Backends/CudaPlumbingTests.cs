using System.Text.RegularExpressions;
using OnePass.Training.Backends.Cuda;

namespace OnePass.Training.Tests.Backends;

/// <summary>The parts of the CUDA backend that need no GPU: bucketing, argument packing, embedded kernel sources.</summary>
public sealed class CudaPlumbingTests
{
    [Theory]
    [InlineData(0, 256)]
    [InlineData(4, 256)]
    [InlineData(256, 256)]
    [InlineData(257, 512)]
    [InlineData(4000, 4096)]
    [InlineData(64L << 20, 64L << 20)]
    [InlineData((64L << 20) + 1, (66L << 20))]
    [InlineData(100L << 20, 100L << 20)]
    public void Pool_buckets_round_up(long bytes, long bucket)
    {
        Assert.Equal(bucket, CudaMemoryPool.BucketBytes(bytes));
        Assert.True(CudaMemoryPool.BucketBytes(bytes) >= bytes);
    }

    [Fact]
    public void Kernel_arguments_keep_their_bits_in_the_low_bytes()
    {
        Assert.Equal(0xFFFFFFFFUL, KernelArgument.Int(-1).Bits);
        Assert.Equal(7UL, KernelArgument.Int(7).Bits);
        Assert.Equal((ulong)BitConverter.SingleToUInt32Bits(1.5f), KernelArgument.Float(1.5f).Bits);
        Assert.Equal(BitConverter.DoubleToUInt64Bits(0.25), KernelArgument.Double(0.25).Bits);
        Assert.Equal(0x7000_0000_1000UL, KernelArgument.Pointer(0x7000_0000_1000UL).Bits);
    }

    [Fact]
    public void Every_looked_up_kernel_is_defined_once_in_the_embedded_sources()
    {
        string all = string.Concat(CudaKernels.SourceNames.Select(CudaKernels.ReadSource));

        foreach (string name in CudaKernels.FunctionNames)
        {
            int definitions = Regex.Matches(all, $@"extern ""C"" __global__ void {name}\(").Count;
            Assert.True(definitions == 1, $"kernel {name} is defined {definitions} times");
        }
    }

    [Fact]
    public void Kernel_sources_need_no_headers()
    {
        foreach (string name in CudaKernels.SourceNames)
        {
            Assert.DoesNotContain("#include", CudaKernels.ReadSource(name));
        }
    }

    [Theory]
    [InlineData(0L, 0UL)]
    [InlineData(1L, 4UL)]
    [InlineData(1L << 29, 1UL << 31)]
    [InlineData(int.MaxValue, 8589934588UL)]
    public void Byte_counts_are_computed_in_64_bits(long floats, ulong bytes)
    {
        Assert.Equal((nuint)bytes, CudaBackend.FloatBytes(floats));
    }

    [Fact]
    public void Negative_lengths_have_no_byte_count()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CudaBackend.FloatBytes(-1));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("0", false)]
    [InlineData("1", true)]
    [InlineData(" true ", true)]
    [InlineData("ON", true)]
    public void Sync_mode_is_read_from_the_environment(string? value, bool expected)
    {
        Assert.Equal(expected, CudaBackend.SynchronousLaunchesRequested(name => name == CudaBackend.SyncVariable ? value : null));
    }
}
