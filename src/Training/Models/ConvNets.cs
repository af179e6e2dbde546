using OnePass.Training.Graphs;
using OnePass.Training.Graphs.Ops;
using OnePass.Training.Tensors;

namespace OnePass.Training.Models;

/// <summary>
/// Builders of the convolutional architectures: torchvision's ImageNet-style ResNet-18 and a small
/// two-block CNN. Parameters are named as torchvision names them (conv1.weight, layer2.0.downsample.1.bias, fc.weight);
/// initialisation is PyTorch's default (Kaiming-normal, fan-out, for convolutions; batch-norm scale 1 and
/// shift 0; Linear uniform in ±1/√fan_in).
/// </summary>
public static class ConvNets
{
    /// <summary>ResNet-18 with <paramref name="spec"/>'s input shape, base width and outputs.</summary>
    public static Model ResNet18(ModelSpec spec)
    {
        var b = new Builder(spec);
        int w = spec.BaseWidth;
        var h = b.ConvBnRelu(b.Input, "conv1", "bn1", w, kernel: 7, stride: 2, padding: 3);
        h = b.Graph.Apply(new MaxPool2dOp(3, 2, 1), "maxpool", h);
        int channels = w;
        for (int stage = 1; stage <= 4; stage++)
        {
            int width = w << (stage - 1);
            for (int block = 0; block < 2; block++)
            {
                int stride = stage > 1 && block == 0 ? 2 : 1;
                h = b.BasicBlock(h, $"layer{stage}.{block}", channels, width, stride);
                channels = width;
            }
        }

        h = b.Graph.Apply(new GlobalAveragePoolOp(), "avgpool", h);
        return b.Finish(b.Linear(h, "fc", channels, spec.Outputs), $"ResNet-18 (base width {w}) on {Shape(spec)}, {spec.Outputs} classes");
    }

    /// <summary>
    /// A small CNN: two blocks of conv 3×3 (padding 1) → batch norm → ReLU → max-pool 2×2, with base width and
    /// twice that many channels, then a Linear layer to the outputs.
    /// </summary>
    public static Model Cnn(ModelSpec spec)
    {
        var b = new Builder(spec);
        int w = spec.BaseWidth;
        var h = b.ConvBnRelu(b.Input, "block1.conv", "block1.bn", w, kernel: 3, stride: 1, padding: 1);
        h = b.Graph.Apply(new MaxPool2dOp(2, 2, 0), "block1.pool", h);
        h = b.ConvBnRelu(h, "block2.conv", "block2.bn", 2 * w, kernel: 3, stride: 1, padding: 1);
        h = b.Graph.Apply(new MaxPool2dOp(2, 2, 0), "block2.pool", h);
        h = b.Graph.Apply(new FlattenOp(), "flatten", h);
        return b.Finish(b.Linear(h, "fc", h.Shape[1], spec.Outputs), $"CNN (base width {w}) on {Shape(spec)}, {spec.Outputs} classes");
    }

    private static string Shape(ModelSpec spec) => string.Join("x", spec.InputShape);

    private sealed class Builder
    {
        private readonly ModelSpec _spec;
        private readonly Dictionary<Value, ParameterInit> _init = [];

        public Builder(ModelSpec spec)
        {
            if (spec.InputShape is not [> 0, > 0, > 0])
            {
                throw new ArgumentException($"{spec.Architecture} needs input_shape [channels, height, width], got [{string.Join(", ", spec.InputShape)}]");
            }

            if (spec.Outputs < 2)
            {
                throw new ArgumentException($"{spec.Architecture} is a classifier and needs at least 2 classes, got {spec.Outputs}");
            }

            if (spec.BaseWidth < 1)
            {
                throw new ArgumentException($"{spec.Architecture} needs a positive base_width, got {spec.BaseWidth}");
            }

            if (spec.LossKind != LossKind.CrossEntropy)
            {
                throw new ArgumentException($"{spec.Architecture} trains with cross-entropy, not {spec.Loss}");
            }

            _spec = spec;
            Input = Graph.AddInput("input", [Value.Batch, .. spec.InputShape]);
            Target = Graph.AddIndexTarget("target", Value.Batch);
        }

        public Graph Graph { get; } = new();

        public Value Input { get; }

        public Value Target { get; }

        public Value Conv(Value x, string name, int outChannels, int kernel, int stride, int padding)
        {
            int inChannels = x.Shape[1];
            var weight = Graph.AddParameter($"{name}.weight", outChannels, inChannels, kernel, kernel);
            _init[weight] = new ParameterInit.Normal(MathF.Sqrt(2f / (outChannels * kernel * kernel)));
            try
            {
                return Graph.Apply(new Conv2dOp(stride, padding), name, x, weight);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"input_shape [{string.Join(", ", _spec.InputShape)}] is too small for {_spec.Architecture} at {name}: {e.Message}", e);
            }
        }

        public Value BatchNorm(Value x, string name)
        {
            int channels = x.Shape[1];
            var scale = Graph.AddParameter($"{name}.weight", channels);
            var shift = Graph.AddParameter($"{name}.bias", channels);
            _init[scale] = new ParameterInit.Constant(1f);
            _init[shift] = new ParameterInit.Constant(0f);
            return Graph.Apply(new BatchNorm2dOp(), name, x, scale, shift);
        }

        public Value Relu(Value x, string name) => Graph.Apply(new ActivationOp(Activation.Relu), name, x);

        public Value ConvBnRelu(Value x, string conv, string bn, int outChannels, int kernel, int stride, int padding) =>
            Relu(BatchNorm(Conv(x, conv, outChannels, kernel, stride, padding), bn), $"{bn}.relu");

        // conv3×3 → BN → ReLU → conv3×3 → BN, plus the shortcut (identity, or 1×1 conv + BN when the shape changes), then ReLU.
        public Value BasicBlock(Value x, string name, int inChannels, int outChannels, int stride)
        {
            var h = ConvBnRelu(x, $"{name}.conv1", $"{name}.bn1", outChannels, 3, stride, 1);
            h = BatchNorm(Conv(h, $"{name}.conv2", outChannels, 3, 1, 1), $"{name}.bn2");
            var shortcut = x;
            if (stride != 1 || inChannels != outChannels)
            {
                shortcut = BatchNorm(Conv(x, $"{name}.downsample.0", outChannels, 1, stride, 0), $"{name}.downsample.1");
            }

            return Relu(Graph.Apply(new AddOp(), $"{name}.add", h, shortcut), $"{name}.relu");
        }

        public Value Linear(Value x, string name, int inFeatures, int outFeatures)
        {
            var weight = Graph.AddParameter($"{name}.weight", outFeatures, inFeatures);
            var bias = Graph.AddParameter($"{name}.bias", outFeatures);
            _init[weight] = _init[bias] = new ParameterInit.Uniform(1f / MathF.Sqrt(inFeatures));
            return Graph.Apply(new LinearOp(), name, x, weight, bias);
        }

        public Model Finish(Value logits, string description)
        {
            var loss = Graph.Apply(new SoftmaxCrossEntropyOp(), "loss", logits, Target);
            return new Model(Graph, Input, Target, logits, loss, LossKind.CrossEntropy, description, _init);
        }
    }
}
