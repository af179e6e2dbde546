using System.CommandLine;
using System.Globalization;
using OnePass.Training.Checking;
using OnePass.Training.Configuration;
using OnePass.Training.Graphs;
using OnePass.Training.Models;

namespace OnePass.Cli.Commands;

/// <summary>`onepass check`: gradcheck for the training loss's gradient and Hessian-vector products.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "Take the model from this configuration (any architecture), shrunk to a small size" };
        var set = new Option<string[]>("--set") { Description = "With --config: override a configuration key (key=value), repeatable", AllowMultipleArgumentsPerToken = false };
        var model = new ModelOptions();
        model.Layers.DefaultValueFactory = _ => "8,16,3";
        var rows = new Option<int>("--rows") { Description = "Rows of random data (default 8; an LSTM's time steps)" };
        var seed = new Option<int>("--seed") { Description = "Seed for weights and data", DefaultValueFactory = _ => 0 };
        var tolerance = new Option<double>("--tolerance") { Description = "Largest relative error accepted", DefaultValueFactory = _ => 1e-3 };
        var backend = CommonOptions.Backend();
        var command = new Command("check", "Compare the gradient and Hessian-vector products of the training loss with double-precision central differences") { config, set, rows, seed, tolerance, backend };
        model.AddTo(command);
        command.SetAction(parse => CliAction.Run(_ =>
        {
            Model m = parse.GetValue(config) is { } path
                ? ConfigModels.Build(ConfigModels.Small(TrainingConfig.Load(path, parse.GetValue(set))))
                : model.Build(parse);
            // 8 rows for image models too: a batch-norm channel on a 1×1 map (a small ResNet's last stage) sees one
            // value per row, and with 3 rows its batch statistics can be so nearly degenerate (‖Hv‖ ~ 1e9) that
            // double-precision differences cannot resolve the derivatives; --rows 3 still checks that case.
            int n = parse.GetValue(rows) is > 0 and var r0 ? r0 : m.Spec switch
            {
                { Architecture: "lstm" } spec => spec.TimeSteps, // rows are time steps
                _ => 8,
            };
            if (parse.GetResult(rows) is { Implicit: false } && parse.GetValue(rows) <= 0)
            {
                throw new UserInputException($"--rows {parse.GetValue(rows)}: must be positive");
            }

            using var b = CommonOptions.CreateBackend(parse.GetValue(backend)!);
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine($"{m.Description}: {m.ParameterCount} weights, {n} rows, backend {b.Name}");
            bool passed = true;
            ExecutionMode[] modes = m.StateCount > 0 ? [ExecutionMode.Training, ExecutionMode.Evaluation] : [ExecutionMode.Training];
            foreach (var mode in modes)
            {
                var r = DerivativeCheck.Run(m, b, n, parse.GetValue(seed), tolerance: parse.GetValue(tolerance), mode: mode);
                string sampled = r.CheckedWeights < r.Parameters ? $" ({r.CheckedWeights} random weights of {r.Parameters} compared)" : "";
                if (modes.Length > 1)
                {
                    Console.WriteLine($" {mode.ToString().ToLowerInvariant()} mode{(mode == ExecutionMode.Training ? " (batch statistics)" : " (running statistics)")}{sampled}");
                }
                else if (sampled.Length > 0)
                {
                    Console.WriteLine($" {sampled.Trim()}");
                }

                Console.WriteLine($"  gradient            max relative error {r.GradientRelativeError.ToString("E2", inv)}");
                Console.WriteLine($"  Hessian-vector      max relative error {r.HessianVectorRelativeError.ToString("E2", inv)} ({r.HessianVectorProducts} products)");
                Console.WriteLine($"  symmetry u·Hv=v·Hu  max relative error {r.SymmetryRelativeError.ToString("E2", inv)}");
                passed &= r.Passed;
            }

            string tol = parse.GetValue(tolerance).ToString("G3", inv);
            Console.WriteLine(passed ? $"PASS (tolerance {tol})" : $"FAIL (tolerance {tol})");
            return passed ? 0 : 1;
        }));
        return command;
    }
}
