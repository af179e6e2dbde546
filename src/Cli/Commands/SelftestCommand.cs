using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using OnePass.Training.Backends;
using OnePass.Training.Backends.Cuda;
using OnePass.Training.Checking;
using OnePass.Training.Tensors;

namespace OnePass.Cli.Commands;

/// <summary>
/// `onepass selftest`: the parity suite of <see cref="SelfTest"/> as a command of the published bundle, so that a
/// GPU machine can check the CUDA backend without an SDK. Exit codes: 0 every check passed, 1 a check failed (or
/// bad input), 69 the CUDA backend was requested and no usable GPU is present (EX_UNAVAILABLE).
/// </summary>
internal static class SelftestCommand
{
    /// <summary>Exit code when <c>--backend cuda</c> is requested on a machine where CUDA is not usable.</summary>
    public const int NoGpuExitCode = 69;

    public static Command Create()
    {
        var backend = new Option<string>("--backend")
        {
            Description = "Backend to test: cuda (against the CPU backend), cpu (against double-precision references) or auto (cuda when usable, else cpu)",
            DefaultValueFactory = _ => "auto",
        };
        var quick = new Option<bool>("--quick") { Description = "Fewer op cases, a smaller ResNet and fewer sampled weights (well under a minute)" };
        var json = new Option<string?>("--json") { Description = "Also write every row and the verdict to this JSON file" };
        var seed = new Option<int>("--seed") { Description = "Seed for the random data and weights", DefaultValueFactory = _ => 0 };
        var command = new Command("selftest",
            "Check every op's forward, gradient and tangent rules, the gradient and Hessian-vector products of an MLP, a small ResNet and a small LSTM, "
            + "and a short run of every algorithm, on one backend. Exit 0: all passed; 1: a check failed; 69: --backend cuda without a usable GPU")
        {
            backend, quick, json, seed,
        };
        command.SetAction(parse => CliAction.Run(cancellation =>
        {
            string choice = (parse.GetValue(backend) ?? "auto").Trim().ToLowerInvariant();
            if (!BackendFactory.Choices.Contains(choice))
            {
                throw new UserInputException($"--backend {parse.GetValue(backend)}: expected {string.Join(", ", BackendFactory.Choices)}");
            }

            string? jsonPath = parse.GetValue(json);
            if (jsonPath is { Length: 0 })
            {
                throw new UserInputException("--json: give a file name");
            }

            if (choice == "cuda" && CudaProbe.Run() is { Available: false } probe)
            {
                Console.Error.WriteLine($"onepass: selftest --backend cuda: no usable GPU ({probe.Reason}); nothing was tested (exit {NoGpuExitCode})");
                return NoGpuExitCode;
            }

            using IBackend b = CommonOptions.CreateBackend(choice);
            bool isQuick = parse.GetValue(quick);
            Console.WriteLine($"selftest on {b.Description}{(isQuick ? " (quick)" : "")}");
            Console.WriteLine($"  {"group",-9} {"check",-44} {"max error",10} {"tolerance",9}  result  {"seconds",7}  against");
            var inv = CultureInfo.InvariantCulture;
            IReadOnlyList<SelfTestRow> rows = SelfTest.Run(b, isQuick, parse.GetValue(seed), row =>
            {
                double worst = row.Errors.Count == 0 ? double.NaN : row.Errors.Values.Max();
                string error = double.IsNaN(worst) ? "-" : worst.ToString("0.00E+00", inv);
                Console.WriteLine($"  {row.Group,-9} {Clip(row.Name, 44),-44} {error,10} {row.Tolerance.ToString("0E+00", inv),9}  {(row.Passed ? "PASS" : "FAIL"),-6}  {row.Seconds.ToString("F2", inv),7}  {row.Reference}");
                if (!row.Passed && row.Detail is { } why)
                {
                    Console.WriteLine($"            {why}");
                }
            }, cancellation);

            int failed = rows.Count(r => !r.Passed);
            Console.WriteLine(failed == 0
                ? $"PASS: all {rows.Count} checks passed on {b.Name}"
                : $"FAIL: {failed} of {rows.Count} checks failed on {b.Name}: {string.Join(", ", rows.Where(r => !r.Passed).Select(r => r.Name))}");
            if (jsonPath is not null)
            {
                var report = new
                {
                    backend = b.Name,
                    description = b.Description,
                    quick = isQuick,
                    seed = parse.GetValue(seed),
                    passed = failed == 0,
                    failed,
                    rows = rows.Select(r => new
                    {
                        group = r.Group, name = r.Name, reference = r.Reference, errors = r.Errors, tolerance = r.Tolerance,
                        passed = r.Passed, detail = r.Detail, seconds = r.Seconds,
                    }),
                };
                string? folder = Path.GetDirectoryName(Path.GetFullPath(jsonPath));
                if (folder is not null)
                {
                    Directory.CreateDirectory(folder);
                }

                File.WriteAllText(jsonPath, JsonSerializer.Serialize(report, JsonOptions) + Environment.NewLine);
            }

            return failed == 0 ? 0 : 1;
        }));
        return command;
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static string Clip(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "…";
}
