namespace OnePass.Training.Tensors;

/// <summary>
/// The normalisation family's fused kernels (batch norm over N×C×H×W: statistics, their derivatives and
/// R-operator), behind one small interface per backend. Ops in <c>Graphs/Ops/Normalisation</c> call only
/// these and the general primitives of <see cref="IBackend"/>.
/// </summary>
/// <remarks>
/// <para>
/// Layout: x is [batch, channels, spatial] row-major (spatial = H·W, or 1 for an [N, C] input); gamma and beta
/// are [channels]. Per channel the statistics run over the batch·spatial elements of that channel.
/// </para>
/// <para>
/// <c>saved</c> is a [2·channels] buffer written by the forward kernels and read by all others: the mean μ
/// used (first <c>channels</c> elements), then the inverse standard deviation s = 1/√(σ² + ε). With
/// <c>batchStatistics</c> true (training mode) μ and σ² are the batch's (biased variance) and every other rule
/// differentiates through them; false (evaluation mode) they are the running statistics, constants, and the
/// op is affine per channel: x̂ = (x − μ)·s, y = γ·x̂ + β.
/// </para>
/// <para>
/// Null tangents are zero; null adjoint outputs are not wanted. Backward and backward-tangent kernels accumulate
/// into their outputs; the forward and forward-tangent kernels overwrite theirs. The calls map onto cuDNN's
/// cudnnBatchNormalizationForwardTraining / ForwardInference / Backward (the tangent rules need hand-written kernels).
/// </para>
/// </remarks>
public interface INormalisationKernels
{
    /// <summary>
    /// Training-mode forward: per channel μ = mean(x), σ² = mean((x − μ)²) (biased), s = 1/√(σ² + ε), written to
    /// <paramref name="saved"/>, and y = γ·(x − μ)·s + β. When <paramref name="runningStatistics"/> ([2·channels]:
    /// running mean then running variance) is not null it is updated in place as PyTorch does:
    /// mean ← (1 − m)·mean + m·μ and var ← (1 − m)·var + m·σ²·M/(M − 1), M = batch·spatial.
    /// </summary>
    void BatchNormTrainingForward(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer beta,
        float epsilon, DeviceBuffer saved, DeviceBuffer y, DeviceBuffer? runningStatistics, float momentum);

    /// <summary>
    /// Evaluation-mode forward: <paramref name="saved"/> = (running mean, 1/√(running var + ε)) from
    /// <paramref name="runningStatistics"/> ([2·channels], read only) and y = γ·(x − μ)·s + β.
    /// </summary>
    void BatchNormInferenceForward(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer beta,
        DeviceBuffer runningStatistics, float epsilon, DeviceBuffer saved, DeviceBuffer y);

    /// <summary>
    /// Forward tangent: ẏ = γ̇·x̂ + γ·ẋ̂ + β̇ with ẋ̂ = s·(ẋ − mean(ẋ) − x̂·mean(x̂·ẋ)) when
    /// <paramref name="batchStatistics"/>, else ẋ̂ = s·ẋ. Overwrites <paramref name="yTangent"/>.
    /// </summary>
    void BatchNormForwardTangent(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer saved,
        bool batchStatistics, DeviceBuffer? xTangent, DeviceBuffer? gammaTangent, DeviceBuffer? betaTangent, DeviceBuffer yTangent);

    /// <summary>
    /// Backward, accumulating: dβ += Σ dy, dγ += Σ dy·x̂, and dx += γ·s·(dy − mean(dy) − x̂·mean(dy·x̂)) when
    /// <paramref name="batchStatistics"/>, else dx += γ·s·dy.
    /// </summary>
    void BatchNormBackward(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer saved,
        bool batchStatistics, DeviceBuffer dy, DeviceBuffer? dx, DeviceBuffer? dGamma, DeviceBuffer? dBeta);

    /// <summary>
    /// The R-operator of <see cref="BatchNormBackward"/>, accumulating the derivatives of dx, dγ and dβ along
    /// the tangent direction (input tangents ẋ, γ̇ and the output adjoint's tangent R{dy}).
    /// </summary>
    void BatchNormBackwardTangent(DeviceBuffer x, int batch, int channels, int spatial, DeviceBuffer gamma, DeviceBuffer saved,
        bool batchStatistics, DeviceBuffer? xTangent, DeviceBuffer? gammaTangent, DeviceBuffer dy, DeviceBuffer? dyTangent,
        DeviceBuffer? dxTangent, DeviceBuffer? dGammaTangent, DeviceBuffer? dBetaTangent);
}
