namespace OnePass.Training.Checking;

/// <summary>Outcome of a derivative check: the largest normwise relative errors found.</summary>
public sealed record DerivativeCheckResult(double GradientRelativeError, double HessianVectorRelativeError, double SymmetryRelativeError, int Parameters, int HessianVectorProducts, double Tolerance)
{
    /// <summary>Weights whose gradient and Hessian-vector entries were compared with the oracle (all, or a random sample of a large model).</summary>
    public int CheckedWeights { get; init; } = Parameters;

    /// <summary>The mode the model ran in (training: batch statistics; evaluation: running statistics).</summary>
    public Graphs.ExecutionMode Mode { get; init; }

    /// <summary>True when every error is within <see cref="Tolerance"/>.</summary>
    public bool Passed => GradientRelativeError <= Tolerance && HessianVectorRelativeError <= Tolerance && SymmetryRelativeError <= Tolerance;
}
