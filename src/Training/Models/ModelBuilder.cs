using OnePass.Training.Tensors;

namespace OnePass.Training.Models;

/// <summary>Builds the model a <see cref="ModelSpec"/> describes, one builder per architecture.</summary>
public static class ModelBuilder
{
    /// <summary>
    /// The model of <paramref name="spec"/>; throws <see cref="ArgumentException"/> naming the field when the spec
    /// is malformed (unknown architecture, sizes that do not fit).
    /// </summary>
    public static Model Build(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var loss = spec.LossKind;
        var model = spec.Architecture switch
        {
            "mlp" => BuildMlp(spec, loss),
            "cnn" => ConvNets.Cnn(spec),
            "resnet18" => ConvNets.ResNet18(spec),
            "lstm" => LanguageModels.Lstm(spec),
            _ => throw new ArgumentException($"unknown model architecture '{spec.Architecture}' (expected one of {string.Join(", ", ModelSpec.Architectures)})"),
        };
        model.Spec = spec;
        return model;
    }

    /// <summary>The first stage's channels when a configuration leaves base_width at 0: resnet18 64 (torchvision), cnn 32.</summary>
    public static int DefaultBaseWidth(string architecture) => architecture switch
    {
        "resnet18" => 64,
        "cnn" => 32,
        _ => 0,
    };

    private static Model BuildMlp(ModelSpec spec, LossKind loss)
    {
        if (spec.LayerSizes is not { Length: >= 2 } sizes)
        {
            throw new ArgumentException("an mlp needs layer_sizes with at least an input and an output size");
        }

        if (!Enum.TryParse<Activation>(spec.Activation, ignoreCase: true, out var activation) || !Enum.IsDefined(activation))
        {
            throw new ArgumentException($"unknown activation '{spec.Activation}' (expected relu, tanh or sigmoid)");
        }

        return Mlp.Build(sizes, activation, loss);
    }
}
