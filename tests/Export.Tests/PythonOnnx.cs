using System.Diagnostics;

namespace OnePass.Export.Tests;

/// <summary>
/// The reference ONNX checker (the Python <c>onnx</c> package, e.g. Debian's python3-onnx) run on an exported file:
/// <c>checker.check_model(full_check=True)</c> and <c>shape_inference.infer_shapes(strict_mode=True)</c>.
/// The interpreter is $ONEPASS_PYTHON, else the first <c>python3</c> on PATH that can import onnx.
/// </summary>
internal static class PythonOnnx
{
    public const string EnvironmentVariable = "ONEPASS_PYTHON";

    private const string Script = """
        import sys, onnx
        m = onnx.load(sys.argv[1])
        onnx.checker.check_model(m, full_check=True)
        inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
        def dims(v):
            t = v.type.tensor_type
            if not t.HasField("shape"):
                return None
            return [d.dim_param if d.HasField("dim_param") else (str(d.dim_value) if d.HasField("dim_value") else "?") for d in t.shape.dim]
        produced = [o for n in inferred.graph.node for o in n.output]
        known = {v.name: dims(v) for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
        unshaped = [n for n in produced if known.get(n) is None or "?" in known[n]]
        print("onnx", onnx.__version__, "ok;", len(produced), "values,", len(unshaped), "without a full inferred shape", unshaped[:5])
        for o in inferred.graph.output:
            print(o.name, "[" + ", ".join(dims(o)) + "]")
        sys.exit(1 if unshaped else 0)
        """;

    private static readonly Lazy<string?> Interpreter = new(FindInterpreter);

    /// <summary>The interpreter that imports onnx, or null.</summary>
    public static string? Python => Interpreter.Value;

    /// <summary>Runs the checker on <paramref name="path"/>: the exit code and everything printed.</summary>
    public static (int ExitCode, string Output) Check(string path)
    {
        string python = Python ?? throw new InvalidOperationException("no python3 with the onnx package");
        return RunPython(python, ["-c", Script, path], TimeSpan.FromMinutes(2));
    }

    private static string? FindInterpreter()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } configured)
        {
            candidates.Add(configured);
        }

        foreach (string folder in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(folder, OperatingSystem.IsWindows() ? "python3.exe" : "python3");
            if (File.Exists(candidate) && !candidates.Contains(candidate))
            {
                candidates.Add(candidate);
            }
        }

        foreach (string candidate in candidates)
        {
            try
            {
                if (RunPython(candidate, ["-c", "import onnx"], TimeSpan.FromSeconds(30)).ExitCode == 0)
                {
                    return candidate;
                }
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or TimeoutException or InvalidOperationException)
            {
            }
        }

        return null;
    }

    private static (int ExitCode, string Output) RunPython(string python, string[] args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{python} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{python} did not finish within {timeout}");
        }

        return (process.ExitCode, (stdout.Result + stderr.Result).Trim());
    }
}

/// <summary>A fact skipped, with the reason, when no python3 on PATH (or $ONEPASS_PYTHON) can import the onnx package.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class RequiresPythonOnnxFactAttribute : FactAttribute
{
    /// <summary>Probes for the interpreter at test discovery.</summary>
    public RequiresPythonOnnxFactAttribute()
    {
        if (PythonOnnx.Python is null)
        {
            Skip = $"No python3 with the onnx package (Debian: apt-get install python3-onnx; or pip install onnx) on PATH or in ${PythonOnnx.EnvironmentVariable}; the reference ONNX checker was not run.";
        }
    }
}
