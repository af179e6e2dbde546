namespace OnePass.Training.Tensors;

/// <summary>
/// Everything ops, update rules and hyperparameter optimisers need from a compute device. Buffers passed to a
/// backend must have been allocated by it. All matrices are dense and row-major. Methods whose summary says
/// "accumulates" add into their output; all others overwrite it. Calls may run asynchronously on the device;
/// methods that return a host value (<see cref="Dot"/>, <see cref="Sum"/>, <c>Download</c>) synchronise.
/// </summary>
public interface IBackend : IDisposable
{
    /// <summary>Short name, e.g. "cpu" or "cuda".</summary>
    string Name { get; }

    /// <summary>One line describing the device, for logs and summaries.</summary>
    string Description { get; }

    /// <summary>The convolution and pooling family's kernels.</summary>
    IConvolutionKernels Convolution { get; }

    /// <summary>The normalisation family's kernels.</summary>
    INormalisationKernels Normalisation { get; }

    /// <summary>The recurrent family's kernels (embedding lookups, the LSTM cell step).</summary>
    IRecurrentKernels Recurrent { get; }

    // ---- memory -------------------------------------------------------------------------------------------

    /// <summary>Allocates <paramref name="length"/> zero-initialised elements.</summary>
    DeviceBuffer Allocate(int length);

    /// <summary>Copies host values into a buffer of the same length.</summary>
    void Upload(ReadOnlySpan<float> source, DeviceBuffer destination);

    /// <summary>Copies a buffer into host memory of the same length (synchronises).</summary>
    void Download(DeviceBuffer source, Span<float> destination);

    /// <summary>destination = source (same length).</summary>
    void Copy(DeviceBuffer source, DeviceBuffer destination);

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    void Fill(DeviceBuffer buffer, float value);

    /// <summary>Waits until all queued work has finished.</summary>
    void Synchronize();

    /// <summary>Allocates <paramref name="length"/> zero-initialised int32 elements (token ids, class labels).</summary>
    IndexBuffer AllocateIndices(int length);

    /// <summary>Copies host ids into an index buffer of the same length.</summary>
    void Upload(ReadOnlySpan<int> source, IndexBuffer destination);

    /// <summary>Copies an index buffer into host memory of the same length (synchronises).</summary>
    void Download(IndexBuffer source, Span<int> destination);

    /// <summary>destination = source (same length).</summary>
    void Copy(IndexBuffer source, IndexBuffer destination);

    /// <summary>
    /// Runs <paramref name="work"/> (host code that queues device work, such as one training step's forward and
    /// backward passes) as the replayable region <paramref name="region"/>: a backend may record the work and replay
    /// it as one unit, a CUDA graph, when a later run of the region queues identical work. The result must be the
    /// same as running <paramref name="work"/> directly, which is what backends without such a mechanism do.
    /// </summary>
    void Replayable(string region, Action work) => work();

    // ---- linear algebra -----------------------------------------------------------------------------------

    /// <summary>
    /// C = alpha·op(A)·op(B) + beta·C where op(A) is m×k, op(B) is k×n and C is m×n, all row-major and
    /// contiguous. A is stored k×m when <paramref name="transposeA"/>, B is stored n×k when <paramref name="transposeB"/>.
    /// With beta = 0 the previous contents of C are ignored (NaNs included).
    /// </summary>
    void Gemm(bool transposeA, bool transposeB, int m, int n, int k, float alpha, DeviceBuffer a, DeviceBuffer b, float beta, DeviceBuffer c);

    /// <summary>y += alpha·x.</summary>
    void Axpy(float alpha, DeviceBuffer x, DeviceBuffer y);

    /// <summary>x *= alpha.</summary>
    void Scale(float alpha, DeviceBuffer x);

    /// <summary>result = a ⊙ b (elementwise); <paramref name="result"/> may alias an input.</summary>
    void Multiply(DeviceBuffer a, DeviceBuffer b, DeviceBuffer result);

    /// <summary>Accumulates result += alpha·(a ⊙ b).</summary>
    void MultiplyAdd(float alpha, DeviceBuffer a, DeviceBuffer b, DeviceBuffer result);

    /// <summary>Σ x·y, accumulated in double precision (synchronises).</summary>
    double Dot(DeviceBuffer x, DeviceBuffer y);

    /// <summary>Σ x, accumulated in double precision (synchronises).</summary>
    double Sum(DeviceBuffer x);

    /// <summary>True when every element is finite (synchronises).</summary>
    bool AllFinite(DeviceBuffer x);

    // ---- layers -------------------------------------------------------------------------------------------

    /// <summary>Accumulates matrix[r, c] += row[c] for a rows×cols matrix (bias add).</summary>
    void AddRowVector(DeviceBuffer matrix, int rows, int cols, DeviceBuffer row);

    /// <summary>Accumulates result[c] += Σ_r matrix[r, c] (bias gradient).</summary>
    void AddColumnSums(DeviceBuffer matrix, int rows, int cols, DeviceBuffer result);

    /// <summary>y = f(x).</summary>
    void ActivationForward(Activation f, DeviceBuffer x, DeviceBuffer y);

    /// <summary>Accumulates dx += f'(x)·dy, given x and y = f(x).</summary>
    void ActivationBackward(Activation f, DeviceBuffer x, DeviceBuffer y, DeviceBuffer dy, DeviceBuffer dx);

    /// <summary>Tangent rule: yTangent = f'(x)·xTangent.</summary>
    void ActivationForwardTangent(Activation f, DeviceBuffer x, DeviceBuffer y, DeviceBuffer xTangent, DeviceBuffer yTangent);

    /// <summary>
    /// R-operator of the backward rule, accumulating dxTangent += f'(x)·dyTangent + f''(x)·xTangent·dy.
    /// <paramref name="xTangent"/> null means a zero tangent.
    /// </summary>
    void ActivationBackwardTangent(Activation f, DeviceBuffer x, DeviceBuffer y, DeviceBuffer? xTangent, DeviceBuffer dy, DeviceBuffer dyTangent, DeviceBuffer dxTangent);

    // ---- losses (mean over the batch rows; the loss is a one-element buffer) ------------------------------

    /// <summary>
    /// loss[0] = mean over rows of −log softmax(logits)[label]; stores softmax(logits) in <paramref name="probabilities"/>.
    /// Labels are class indices in [0, classes): the CPU backend throws on one outside; the CUDA backend records it on
    /// the device and throws at its next synchronising call.
    /// </summary>
    void SoftmaxCrossEntropyForward(DeviceBuffer logits, IndexBuffer labels, int rows, int classes, DeviceBuffer probabilities, DeviceBuffer loss);

    /// <summary>lossTangent[0] = Σ_r Σ_c (p − onehot)[r, c]·logitsTangent[r, c] / rows.</summary>
    void SoftmaxCrossEntropyForwardTangent(DeviceBuffer probabilities, IndexBuffer labels, DeviceBuffer logitsTangent, int rows, int classes, DeviceBuffer lossTangent);

    /// <summary>Accumulates dLogits += dLoss[0]·(p − onehot) / rows.</summary>
    void SoftmaxCrossEntropyBackward(DeviceBuffer probabilities, IndexBuffer labels, int rows, int classes, DeviceBuffer dLoss, DeviceBuffer dLogits);

    /// <summary>
    /// Accumulates dLogitsTangent += dLoss[0]·p ⊙ (ż − Σ_c p·ż) / rows + dLossTangent[0]·(p − onehot) / rows,
    /// where ż is <paramref name="logitsTangent"/> (null = zero) and dLossTangent may be null (zero).
    /// </summary>
    void SoftmaxCrossEntropyBackwardTangent(DeviceBuffer probabilities, IndexBuffer labels, DeviceBuffer? logitsTangent, int rows, int classes, DeviceBuffer dLoss, DeviceBuffer? dLossTangent, DeviceBuffer dLogitsTangent);

    /// <summary>
    /// result[r] = the index of the largest of row r's <paramref name="classes"/> values (the first one on ties, a NaN
    /// counting as the largest, as torch.argmax).
    /// </summary>
    void ArgMax(DeviceBuffer logits, int rows, int classes, IndexBuffer result);

    /// <summary>
    /// The number of rows r whose argmax (as <see cref="ArgMax"/>) equals labels[r]: classification accuracy's
    /// numerator, computed where the logits are so that only the count is read back (synchronises). A label outside
    /// [0, classes) never matches.
    /// </summary>
    long CountCorrect(DeviceBuffer logits, IndexBuffer labels, int rows, int classes);

    /// <summary>loss[0] = mean over all elements of (prediction − target)².</summary>
    void MeanSquaredErrorForward(DeviceBuffer prediction, DeviceBuffer target, DeviceBuffer loss);

    /// <summary>lossTangent[0] = 2/n·Σ (prediction − target)·predictionTangent.</summary>
    void MeanSquaredErrorForwardTangent(DeviceBuffer prediction, DeviceBuffer target, DeviceBuffer predictionTangent, DeviceBuffer lossTangent);

    /// <summary>Accumulates dPrediction += dLoss[0]·2/n·(prediction − target).</summary>
    void MeanSquaredErrorBackward(DeviceBuffer prediction, DeviceBuffer target, DeviceBuffer dLoss, DeviceBuffer dPrediction);

    /// <summary>
    /// Accumulates dPredictionTangent += dLoss[0]·2/n·predictionTangent + dLossTangent[0]·2/n·(prediction − target);
    /// null tangents are zero.
    /// </summary>
    void MeanSquaredErrorBackwardTangent(DeviceBuffer prediction, DeviceBuffer target, DeviceBuffer? predictionTangent, DeviceBuffer dLoss, DeviceBuffer? dLossTangent, DeviceBuffer dPredictionTangent);

    // ---- update rules and hyperparameters -----------------------------------------------------------------

    /// <summary>
    /// SGD with momentum and weight decay (PyTorch semantics), fused: d = g + wd⊙w; b = momentum⊙b + d;
    /// w −= lr⊙b. Each hyperparameter is a scalar or one value per weight.
    /// </summary>
    void SgdMomentumStep(DeviceBuffer weights, DeviceBuffer gradient, DeviceBuffer velocity, HyperValue learningRate, HyperValue weightDecay, HyperValue momentum);

    /// <summary>y = 10^x elementwise.</summary>
    void Exp10(DeviceBuffer x, DeviceBuffer y);

    /// <summary>Clamps every element into [min, max].</summary>
    void Clamp(DeviceBuffer x, float min, float max);

    /// <summary>
    /// One Adam step (bias-corrected, as torch.optim.Adam) on <paramref name="parameters"/> given their gradient;
    /// <paramref name="step"/> counts from 1.
    /// </summary>
    void AdamStep(DeviceBuffer parameters, DeviceBuffer gradient, DeviceBuffer firstMoment, DeviceBuffer secondMoment, float learningRate, float beta1, float beta2, float epsilon, int step);
}
