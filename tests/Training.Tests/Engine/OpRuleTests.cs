using OnePass.Training.Graphs.Ops;
using OnePass.Training.Tensors;
using static OnePass.Training.Tests.Engine.OpRuleHarness;

namespace OnePass.Training.Tests.Engine;

/// <summary>The dense family's and the losses' four rules against the double-precision oracle (see <see cref="OpRuleHarness"/>).</summary>
public sealed class OpRuleTests
{
    public static TheoryData<string> Ops() => ["Linear", "Relu", "Tanh", "Sigmoid", "SoftmaxCrossEntropy", "MeanSquaredError"];

    [Theory]
    [MemberData(nameof(Ops))]
    public void RulesMatchFiniteDifferencesOfTheDoubleOracle(string name)
    {
        int seed = name.Length * 7919;
        switch (name)
        {
            case "Linear":
                Check(name, new LinearOp(), [[4, 5], [3, 5], [3]], [true, true, true], x => Oracle.Linear(x[0], x[1], x[2], 4, 5, 3), [Gaussian, Gaussian, Gaussian], seed);
                break;
            case "Relu" or "Tanh" or "Sigmoid":
                Check(name, new ActivationOp(Enum.Parse<Activation>(name)), [[4, 6]], [true], x => Oracle.Activate(name, x[0]), [Gaussian], seed);
                break;
            case "SoftmaxCrossEntropy":
                Check(name, new SoftmaxCrossEntropyOp(), [[5, 4], [5]], [true, false], x => [Oracle.CrossEntropy(x[0], x[1], 5, 4)], [Gaussian, Labels(4)], seed);
                break;
            case "MeanSquaredError":
                Check(name, new MeanSquaredErrorOp(), [[6, 2], [6, 2]], [true, false], x => [Oracle.Mse(x[0], x[1])], [Gaussian, Gaussian], seed);
                break;
            default:
                throw new ArgumentException(name);
        }
    }
}
