using OnePass.Training.Backends;
using OnePass.Training.Backends.Cuda;
using OnePass.Training.Checking;

namespace OnePass.Training.Tests.Backends;

/// <summary>
/// The self-test suite behind `onepass selftest`: on the GPU it is the CUDA parity test (every op's rules against the
/// CPU backend, model gradients and HVPs, every algorithm's steps); on the CPU it checks the suite itself.
/// </summary>
public sealed class CudaSelfTestTests
{
    [GpuFact, Trait("Category", "Gpu")]
    public void Cuda_backend_passes_the_selftest()
    {
        using var cuda = CudaBackend.Create();

        IReadOnlyList<SelfTestRow> rows = SelfTest.Run(cuda, quick: false);

        Assert.True(rows.All(r => r.Passed), string.Join(Environment.NewLine, rows.Where(r => !r.Passed).Select(r => $"{r.Name}: {r.Detail} {string.Join(", ", r.Errors.Select(e => $"{e.Key}={e.Value:E2}"))}")));
    }

    [Fact]
    public void Cpu_backend_passes_the_quick_selftest_against_double_precision_references()
    {
        using var cpu = new CpuBackend();

        IReadOnlyList<SelfTestRow> rows = SelfTest.Run(cpu, quick: true);

        Assert.True(rows.All(r => r.Passed), string.Join(Environment.NewLine, rows.Where(r => !r.Passed).Select(r => $"{r.Name}: {r.Detail}")));
        Assert.Equal(OpRuleCheck.StandardCases(quick: true).Count, rows.Count(r => r.Group == "op"));
        Assert.Equal(SelfTest.Algorithms.Count, rows.Count(r => r.Group == "algorithm"));
    }

    [Fact]
    public void Backend_comparison_of_identical_backends_is_exact_and_passes()
    {
        using var a = new CpuBackend();
        using var b = new CpuBackend();

        foreach (OpCase c in OpRuleCheck.StandardCases(quick: true))
        {
            OpCheckResult r = OpRuleCheck.AgainstBackend(a, b, c, seed: 5);
            Assert.True(r.Passed, c.Name);
            Assert.Equal(0, Math.Max(Math.Max(r.Forward, r.ForwardTangent), Math.Max(r.Backward, r.BackwardTangent)));
        }
    }

    [Fact]
    public void Relative_error_catches_a_wrong_value_a_nan_and_a_length_mismatch()
    {
        Assert.Equal(0, OpRuleCheck.RelativeError([1f, 2f], [1, 2]));
        Assert.True(OpRuleCheck.RelativeError([1f, 2.1f], [1, 2]) > OpRuleCheck.BackendTolerance);
        Assert.Equal(double.PositiveInfinity, OpRuleCheck.RelativeError([1f, float.NaN], [1, 2]));
        Assert.Equal(double.PositiveInfinity, OpRuleCheck.RelativeError([1f], [1, 2]));
    }

    [Fact]
    public void A_wrong_rule_fails_the_reference_check()
    {
        // Linear's reference with the bias dropped: the check must see the forward value and the bias gradient differ.
        var honest = OpRuleCheck.StandardCases(quick: true).Single(c => c.Name == "Linear");
        var broken = honest with { Name = "Linear without bias", Op = new BiasFreeReference() };

        Assert.True(OpRuleCheck.AgainstReference(honest, 3).Passed);
        OpCheckResult r = OpRuleCheck.AgainstReference(broken, 3);
        Assert.False(r.Passed);
        Assert.True(r.Forward > 1e-3);
    }

    // Delegates every rule to Linear but drops the bias from the reference: the reference no longer matches the rules.
    private sealed class BiasFreeReference : Graphs.Op
    {
        private readonly Graphs.Ops.LinearOp inner = new();

        public override string Type => "BiasFreeReference";

        public override int[] InferShape(IReadOnlyList<int[]> inputShapes) => inner.InferShape(inputShapes);

        public override void Forward(Graphs.OpContext context) => inner.Forward(context);

        public override void ForwardTangent(Graphs.OpContext context) => inner.ForwardTangent(context);

        public override void Backward(Graphs.OpContext context) => inner.Backward(context);

        public override void BackwardTangent(Graphs.OpContext context) => inner.BackwardTangent(context);

        public override double[] ReferenceForward(IReadOnlyList<double[]> inputs, IReadOnlyList<int[]> shapes) =>
            inner.ReferenceForward([inputs[0], inputs[1], new double[inputs[2].Length]], shapes);
    }
}
