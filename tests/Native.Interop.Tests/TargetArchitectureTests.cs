using OnePass.Native.Interop;

namespace OnePass.Native.Interop.Tests;

public sealed class TargetArchitectureTests
{
    private static readonly int[] Nvrtc118 = [35, 37, 50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90];

    [Theory]
    [InlineData(9, 0, "sm_90")]
    [InlineData(8, 0, "sm_80")]
    [InlineData(8, 6, "sm_86")]
    [InlineData(7, 5, "sm_75")]
    public void A_gpu_nvrtc_knows_gets_its_own_cubin(int major, int minor, string expected)
    {
        TargetArchitecture choice = TargetArchitecture.Choose(major, minor, Nvrtc118, "11.8");

        Assert.Equal(expected, choice.Architecture);
        Assert.False(choice.IsPtx);
        Assert.Null(choice.Note);
    }

    [Theory]
    [InlineData(10, 0, "compute_90")]
    [InlineData(12, 0, "compute_90")]
    [InlineData(8, 8, "compute_87")]
    public void A_gpu_newer_than_nvrtc_gets_ptx_of_the_newest_architecture_not_above_it(int major, int minor, string expected)
    {
        TargetArchitecture choice = TargetArchitecture.Choose(major, minor, Nvrtc118, "11.8");

        Assert.Equal(expected, choice.Architecture);
        Assert.True(choice.IsPtx);
        Assert.Contains($"sm_{major}{minor}", choice.Note);
        Assert.Contains("NVRTC 11.8", choice.Note);
        Assert.Contains(expected, choice.Note);
    }

    [Fact]
    public void Without_a_supported_list_the_gpu_architecture_is_tried()
    {
        Assert.Equal("sm_100", TargetArchitecture.Choose(10, 0, [], "11.1").Architecture);
    }

    [Fact]
    public void A_gpu_older_than_every_supported_architecture_is_refused_with_the_range()
    {
        var error = Assert.Throws<NotSupportedException>(() => TargetArchitecture.Choose(3, 5, [50, 60, 70, 80, 90, 100, 120], "12.8"));

        Assert.Contains("sm_50 to sm_120", error.Message);
        Assert.Contains("sm_35", error.Message);
    }

    [Fact]
    public void Unsorted_lists_give_the_same_choice()
    {
        Assert.Equal("compute_90", TargetArchitecture.Choose(10, 3, [90, 80, 75], "x").Architecture);
    }
}
