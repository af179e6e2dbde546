using Microsoft.ML.OnnxRuntime;

namespace OnePass.Export;

/// <summary>
/// An ONNX Runtime inference session for models with one float input [N, width] or [N, C, H, W] (N symbolic,
/// the other dimensions fixed) and float outputs [N, k]. Rows are flat (width = C·H·W for image models) and fed
/// as tensors of the model's input shape; batches run through the model without per-row allocation.
/// </summary>
public sealed class OnnxInferenceSession : IDisposable
{
    private static int sessionCounter;

    private readonly InferenceSession session;
    private readonly RunOptions runOptions;
    private readonly string[] inputNames;
    private readonly string[] outputNames;
    private bool disposed;

    private OnnxInferenceSession(InferenceSession session, string modelPath, string logId, bool usesCuda)
    {
        this.session = session;
        ModelPath = modelPath;
        LogId = logId;
        UsesCuda = usesCuda;
        runOptions = new RunOptions { LogId = logId, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING };
        inputNames = session.InputNames.ToArray();
        outputNames = session.OutputNames.ToArray();

        var first = session.InputMetadata[inputNames[0]];
        bool fixedShape = first.IsTensor && first.Dimensions.Length >= 2 && first.Dimensions.Skip(1).All(d => d > 0);
        InputShape = fixedShape ? first.Dimensions[1..] : [];
        InputWidth = fixedShape ? checked(InputShape.Aggregate(1, (a, d) => a * d)) : -1;
        OutputWidths = outputNames.ToDictionary(
            n => n,
            n =>
            {
                var m = session.OutputMetadata[n];
                return m.IsTensor && m.Dimensions.Length == 2 && m.Dimensions[1] > 0 ? m.Dimensions[1] : -1;
            },
            StringComparer.Ordinal);
    }

    /// <summary>The model file this session was created from.</summary>
    public string ModelPath { get; }

    /// <summary>The ORT logger id of this session (see <see cref="OrtLogEntry.LogId"/>).</summary>
    public string LogId { get; }

    /// <summary>True when the CUDA execution provider is in use, false for CPU.</summary>
    public bool UsesCuda { get; }

    /// <summary>Names of the model inputs.</summary>
    public IReadOnlyList<string> InputNames => inputNames;

    /// <summary>Name of the (first) model input fed by <see cref="Run"/>.</summary>
    public string InputName => inputNames[0];

    /// <summary>
    /// Features per row of the first input: the product of its dimensions after the batch dimension (C·H·W for
    /// an image model), or -1 when those are not all fixed.
    /// </summary>
    public int InputWidth { get; }

    /// <summary>
    /// Shape of one example of the first input, without the batch dimension: [width] for rows of features,
    /// [C, H, W] for image models; empty when not fixed.
    /// </summary>
    public int[] InputShape { get; }

    /// <summary>Names of the model outputs, in model order.</summary>
    public IReadOnlyList<string> OutputNames => outputNames;

    /// <summary>Declared columns per row of each output (-1 when not fixed in the model).</summary>
    public IReadOnlyDictionary<string, int> OutputWidths { get; }

    /// <summary>Maximum rows fed to ONNX Runtime per call; larger inputs are processed in chunks.</summary>
    public int MaxBatchRows { get; set; } = 8192;

    /// <summary>
    /// Opens <paramref name="modelPath"/> with the chosen execution provider.
    /// <see cref="ExecutionProviderChoice.Auto"/> tries CUDA device 0 and falls back to the CPU,
    /// writing one line to <paramref name="log"/> with the reason.
    /// Throws <see cref="ModelFileException"/> for a missing/corrupt model and
    /// <see cref="ExecutionProviderException"/> when <see cref="ExecutionProviderChoice.Cuda"/> cannot be set up.
    /// </summary>
    public static OnnxInferenceSession Create(string modelPath, ExecutionProviderChoice provider = ExecutionProviderChoice.Auto, Action<string>? log = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);

        // Validate the container first: gives a precise, one-line error for corrupt/truncated files.
        _ = OnnxModelReader.Load(modelPath);

        OnnxRuntimeLog.EnsureInitialized();
        var logId = $"onepass-session-{Interlocked.Increment(ref sessionCounter)}";

        switch (provider)
        {
            case ExecutionProviderChoice.Cpu:
                return CreateCpu(modelPath, logId);

            case ExecutionProviderChoice.Cuda:
            {
                var session = TryCreateCuda(modelPath, logId, out var failure);
                if (session is not null)
                {
                    return session;
                }

                throw (Exception?)(failure as ModelFileException)
                    ?? new ExecutionProviderException($"CUDA execution provider unavailable: {ModelFileException.OneLine(failure!.Message)}", failure);
            }

            case ExecutionProviderChoice.Auto:
            {
                var session = TryCreateCuda(modelPath, logId, out var failure);
                if (session is not null)
                {
                    return session;
                }

                if (failure is ModelFileException)
                {
                    throw failure;
                }

                var cpu = CreateCpu(modelPath, logId);
                foreach (var line in FallbackNotice(failure!.Message, DebugLogRequested(Environment.GetEnvironmentVariable(DebugVariable))))
                {
                    log?.Invoke(line);
                }

                return cpu;
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown execution provider choice.");
        }
    }

    /// <summary>
    /// Runs <paramref name="rows"/> rows (row-major, <see cref="InputWidth"/> floats each, fed as tensors of
    /// dims [rows, ..<see cref="InputShape"/>]) through the model and returns each output as a row-major array of
    /// rows × output width.
    /// Throws <see cref="InputWidthException"/> when the row width does not match the model.
    /// </summary>
    public IReadOnlyDictionary<string, float[]> Run(float[] input, int rows)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (inputNames.Length != 1)
        {
            throw new InvalidOperationException($"{Path.GetFileName(ModelPath)}: Run supports models with exactly one input; this model has {inputNames.Length}.");
        }

        if (InputWidth <= 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(ModelPath)}: input '{InputName}' is not a tensor [N, ...] with fixed dimensions after the batch dimension.");
        }

        if (rows == 0)
        {
            if (input.Length != 0)
            {
                throw new ArgumentException("rows is 0 but the input is not empty.", nameof(input));
            }

            return outputNames.ToDictionary(n => n, _ => Array.Empty<float>(), StringComparer.Ordinal);
        }

        if (input.Length % rows != 0)
        {
            throw new ArgumentException($"the input has {input.Length} values, which is not a whole number of rows for {rows} rows.", nameof(input));
        }

        var width = input.Length / rows;
        if (width != InputWidth)
        {
            throw new InputWidthException(InputWidth, width, InputShape);
        }

        var results = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var chunk = Math.Max(1, MaxBatchRows);
        var memory = input.AsMemory();
        var dims = new long[InputShape.Length + 1];
        for (var d = 0; d < InputShape.Length; d++)
        {
            dims[d + 1] = InputShape[d];
        }

        for (var start = 0; start < rows; start += chunk)
        {
            var count = Math.Min(chunk, rows - start);
            dims[0] = count;
            using var value = OrtValue.CreateTensorValueFromMemory(
                OrtMemoryInfo.DefaultInstance, memory.Slice(start * width, count * width), dims);
            using var outputs = session.Run(runOptions, inputNames, [value], outputNames);
            var i = 0;
            foreach (var output in outputs)
            {
                var name = outputNames[i++];
                var data = output.GetTensorDataAsSpan<float>();
                if (data.Length % count != 0)
                {
                    throw new InvalidOperationException($"{Path.GetFileName(ModelPath)}: output '{name}' has {data.Length} values for {count} rows.");
                }

                var perRow = data.Length / count;
                if (!results.TryGetValue(name, out var target))
                {
                    target = new float[(long)rows * perRow];
                    results[name] = target;
                }

                data.CopyTo(target.AsSpan(start * perRow, count * perRow));
            }
        }

        return results;
    }

    /// <summary>
    /// Runs the model once on named inputs (tensors the caller owns; an input left out takes its default, if the model
    /// gives it one) and returns the named float outputs, each with its shape.
    /// </summary>
    public IReadOnlyDictionary<string, (float[] Data, long[] Shape)> RunNamed(IReadOnlyList<string> names, IReadOnlyList<OrtValue> values, IReadOnlyList<string> outputs)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(outputs);
        using var results = session.Run(runOptions, names, values, outputs);
        var named = new Dictionary<string, (float[] Data, long[] Shape)>(StringComparer.Ordinal);
        for (int i = 0; i < outputs.Count; i++)
        {
            named[outputs[i]] = (results[i].GetTensorDataAsSpan<float>().ToArray(), results[i].GetTensorTypeAndShape().Shape);
        }

        return named;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        session.Dispose();
        runOptions.Dispose();
    }

    private static SessionOptions NewOptions(string logId) => new()
    {
        LogId = logId,
        LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    };

    private static OnnxInferenceSession CreateCpu(string modelPath, string logId)
    {
        using var options = NewOptions(logId);
        return new OnnxInferenceSession(OpenSession(modelPath, options), modelPath, logId, usesCuda: false);
    }

    /// <summary>Returns null and the reason when CUDA cannot be used; ModelFileException when the model itself fails.</summary>
    /// <summary>The environment variable that, set to anything but empty or 0, adds ONNX Runtime's full reason to the CPU fallback notice.</summary>
    public const string DebugVariable = "ONEPASS_DEBUG";

    /// <summary>
    /// The lines <see cref="ExecutionProviderChoice.Auto"/> logs when it falls back to the CPU: one short line with
    /// the gist of ONNX Runtime's reason (the missing library, when that is the reason), and, when
    /// <paramref name="debug"/>, a second line with the whole of it.
    /// </summary>
    internal static IReadOnlyList<string> FallbackNotice(string reason, bool debug)
    {
        string full = ModelFileException.OneLine(reason);
        string notice = $"CUDA execution provider unavailable, using CPU ({ShortReason(full)})";
        return debug ? [notice, $"debug: ONNX Runtime's reason: {full}"] : [notice + $"; {DebugVariable}=1 shows ONNX Runtime's message"];
    }

    internal static bool DebugLogRequested(string? value) => !string.IsNullOrWhiteSpace(value) && value.Trim() != "0";

    /// <summary>
    /// The gist of an execution-provider failure in a few words: "libcublasLt.so.13 not found" for ORT's
    /// "Failed to load library … with error: libcublasLt.so.13: cannot open shared object file", else its first
    /// 80 characters without ORT's error-code prefix.
    /// </summary>
    internal static string ShortReason(string message)
    {
        var missing = System.Text.RegularExpressions.Regex.Match(message,
            @"([^\s/\\:()]+\.(?:so(?:\.[0-9]+)*|dll|dylib))\s*:\s*cannot open shared object file");
        if (missing.Success)
        {
            return $"{missing.Groups[1].Value} not found";
        }

        string text = System.Text.RegularExpressions.Regex.Replace(message, @"^\s*\[ErrorCode:[^\]]*\]\s*", string.Empty);
        text = System.Text.RegularExpressions.Regex.Replace(text, @"^OrtSessionOptionsAppendExecutionProvider_\w+:\s*", string.Empty);
        return text.Length <= 80 ? text : text[..79].TrimEnd() + "…";
    }

    private static OnnxInferenceSession? TryCreateCuda(string modelPath, string logId, out Exception? failure)
    {
        failure = null;
        using var options = NewOptions(logId);
        using (var probe = OnnxRuntimeLog.Suppress())
        {
            try
            {
                options.AppendExecutionProvider_CUDA(0);
            }
            catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
            {
                failure = WithLoggedDetail(e, probe.Collected);
                return null;
            }

            try
            {
                return new OnnxInferenceSession(OpenSession(modelPath, options), modelPath, logId, usesCuda: true);
            }
            catch (ModelFileException e)
            {
                failure = e;
                return null;
            }
            catch (Exception e) when (e is OnnxRuntimeException or InvalidOperationException)
            {
                failure = WithLoggedDetail(e, probe.Collected);
                return null;
            }
        }
    }

    /// <summary>
    /// ORT's exception for a missing CUDA stack is terse ("Failed to load shared library"); the
    /// reason (e.g. which dependency is missing) is in the error it logged just before. Fold the
    /// last logged error into the one-line reason.
    /// </summary>
    private static Exception WithLoggedDetail(Exception e, IReadOnlyList<OrtLogEntry> logged)
    {
        var detail = logged.LastOrDefault(l => l.Severity is "ERROR" or "FATAL");
        if (detail is null || string.IsNullOrWhiteSpace(detail.Message))
        {
            return e;
        }

        var text = ModelFileException.OneLine(detail.Message);
        const string marker = " : FAIL : ";
        var cut = text.LastIndexOf(marker, StringComparison.Ordinal);
        if (cut >= 0)
        {
            text = text[(cut + marker.Length)..];
        }

        // Shorten absolute library paths to file names; the reason is what matters.
        text = System.Text.RegularExpressions.Regex.Replace(text, @"(?<=\s|^)\S*[/\\](?=[^/\\\s]+\.(so|dll|dylib)\b)", string.Empty);
        return new ExecutionProviderException($"{ModelFileException.OneLine(e.Message)} ({text})", e);
    }

    private static InferenceSession OpenSession(string modelPath, SessionOptions options)
    {
        try
        {
            return new InferenceSession(modelPath, options);
        }
        catch (OnnxRuntimeException e) when (IsModelError(e.Message))
        {
            throw new ModelFileException(modelPath, $"ONNX Runtime cannot load the model: {ModelFileException.OneLine(e.Message)}", e);
        }
    }

    private static bool IsModelError(string message) =>
        message.Contains("[ErrorCode:InvalidProtobuf]", StringComparison.Ordinal)
        || message.Contains("[ErrorCode:InvalidGraph]", StringComparison.Ordinal)
        || message.Contains("[ErrorCode:NoSuchFile]", StringComparison.Ordinal)
        || message.Contains("[ErrorCode:NoModel]", StringComparison.Ordinal)
        || message.Contains("[ErrorCode:InvalidArgument]", StringComparison.Ordinal)
        || message.Contains("[ErrorCode:NotImplemented]", StringComparison.Ordinal);
}
