namespace OnePass.Training.Checking;

/// <summary>Outcome of a derivative check: the largest normwise relative errors found.</summary>
public sealed record DerivativeCheckResult(double GradientRelativeError, double HessianVectorRelativeError, double SymmetryRelativeError, int Parameters, int HessianVectorProducts, double Tolerance)
{
    /// <summary>True when every error is within <see cref="Tolerance"/>.</summary>
    public bool Passed => GradientRelativeError <= Tolerance && HessianVectorRelativeError <= Tolerance && SymmetryRelativeError <= Tolerance;
}
