using System.Reflection;
using System.Runtime.InteropServices;
using OnePass.Native.Interop;

namespace OnePass.Native.Interop.Tests;

/// <summary>
/// The cuDNN bindings without a GPU: every [LibraryImport] entry point is one of the documented cuDNN 9 names and is
/// listed in <see cref="Cudnn.ExportedNames"/>, the performance struct has the C layout, and where libcudnn.so.9 is
/// installed every listed name is really exported by it.
/// </summary>
public sealed class CudnnBindingTests
{
    // The public cuDNN 9 API functions this project uses (cudnn_graph.h, cudnn_ops.h, cudnn_cnn.h).
    private static readonly string[] Documented =
    [
        "cudnnGetVersion", "cudnnGetErrorString", "cudnnCreate", "cudnnDestroy", "cudnnSetStream",
        "cudnnCreateTensorDescriptor", "cudnnSetTensor4dDescriptor", "cudnnDestroyTensorDescriptor",
        "cudnnCreateFilterDescriptor", "cudnnSetFilter4dDescriptor", "cudnnDestroyFilterDescriptor",
        "cudnnCreateConvolutionDescriptor", "cudnnSetConvolution2dDescriptor", "cudnnSetConvolutionMathType", "cudnnDestroyConvolutionDescriptor",
        "cudnnGetConvolutionForwardAlgorithm_v7", "cudnnGetConvolutionBackwardDataAlgorithm_v7", "cudnnGetConvolutionBackwardFilterAlgorithm_v7",
        "cudnnGetConvolutionForwardWorkspaceSize", "cudnnGetConvolutionBackwardDataWorkspaceSize", "cudnnGetConvolutionBackwardFilterWorkspaceSize",
        "cudnnConvolutionForward", "cudnnConvolutionBackwardData", "cudnnConvolutionBackwardFilter",
    ];

    private static List<string> BoundEntryPoints() =>
        typeof(Cudnn).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Select(m => m.GetCustomAttribute<LibraryImportAttribute>())
            .Where(a => a is not null)
            .Select(a => a!.EntryPoint ?? "")
            .ToList();

    [Fact]
    public void Every_bound_entry_point_is_documented_and_listed()
    {
        var bound = BoundEntryPoints();

        Assert.Equal(Documented.Length, bound.Count);
        Assert.Equal(Documented.Order(StringComparer.Ordinal), bound.Order(StringComparer.Ordinal));
        Assert.Equal(Documented.Order(StringComparer.Ordinal), Cudnn.ExportedNames.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Algorithm_performance_has_the_c_layout()
    {
        // { int algo; int status; float time; size_t memory; int determinism; int mathType; int reserved[3]; } on 64 bits.
        Assert.Equal(48, Marshal.SizeOf<Cudnn.AlgorithmPerformance>());
        Assert.Equal(16, (int)Marshal.OffsetOf<Cudnn.AlgorithmPerformance>(nameof(Cudnn.AlgorithmPerformance.Memory)));
        Assert.Equal(24, (int)Marshal.OffsetOf<Cudnn.AlgorithmPerformance>(nameof(Cudnn.AlgorithmPerformance.Determinism)));
    }

    [Fact]
    public void Versions_print_as_major_minor_patch()
    {
        Assert.Equal("9.1.0", Cudnn.FormatVersion(90100));
        Assert.Equal("9.10.2", Cudnn.FormatVersion(91002));
    }

    [Fact]
    public void Every_listed_name_is_exported_where_cudnn_is_installed()
    {
        var found = NativeLibraryResolver.Find(NativeLibraryResolver.CudnnName);
        if (!found.Found)
        {
            return; // nothing to check on a machine without cuDNN 9 (CI's); a GPU machine with it checks the names
        }

        var missing = Cudnn.ExportedNames.Where(name => !NativeLibrary.TryGetExport(found.Handle, name, out _)).ToList();
        Assert.Empty(missing);
    }
}
