namespace OnePass.Native.Interop;

/// <summary>The kinds of cuDNN descriptor a <see cref="CudnnDescriptorHandle"/> may own.</summary>
public enum CudnnDescriptorKind
{
    /// <summary>cudnnTensorDescriptor_t.</summary>
    Tensor,

    /// <summary>cudnnFilterDescriptor_t.</summary>
    Filter,

    /// <summary>cudnnConvolutionDescriptor_t.</summary>
    Convolution,
}

/// <summary>A cuDNN descriptor (host memory only, no context needed); disposing calls its cudnnDestroy*Descriptor.</summary>
public sealed class CudnnDescriptorHandle : CudaResourceHandle
{
    private CudnnDescriptorHandle(nint value, CudnnDescriptorKind kind)
        : base(value, context: 0) => Kind = kind;

    /// <summary>Which descriptor this is.</summary>
    public CudnnDescriptorKind Kind { get; }

    /// <summary>The raw descriptor.</summary>
    public nint Value => handle;

    /// <summary>Creates an empty descriptor of <paramref name="kind"/>; throws <see cref="CudaException"/> on failure.</summary>
    public static CudnnDescriptorHandle Create(CudnnDescriptorKind kind)
    {
        (int status, nint value, string function) = kind switch
        {
            CudnnDescriptorKind.Tensor => (Cudnn.CreateTensorDescriptor(out nint t), t, "cudnnCreateTensorDescriptor"),
            CudnnDescriptorKind.Filter => (Cudnn.CreateFilterDescriptor(out nint f), f, "cudnnCreateFilterDescriptor"),
            CudnnDescriptorKind.Convolution => (Cudnn.CreateConvolutionDescriptor(out nint c), c, "cudnnCreateConvolutionDescriptor"),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        CudaCheck.Cudnn(status, function);
        return new CudnnDescriptorHandle(value, kind);
    }

    /// <inheritdoc />
    protected override int Release(nint value) => Kind switch
    {
        CudnnDescriptorKind.Tensor => Cudnn.DestroyTensorDescriptor(value),
        CudnnDescriptorKind.Filter => Cudnn.DestroyFilterDescriptor(value),
        _ => Cudnn.DestroyConvolutionDescriptor(value),
    };
}
