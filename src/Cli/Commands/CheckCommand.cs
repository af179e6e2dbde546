using System.CommandLine;
using System.Globalization;
using OnePass.Training.Checking;
using OnePass.Training.Configuration;
using OnePass.Training.Models;

namespace OnePass.Cli.Commands;

/// <summary>`onepass check`: gradcheck for the training loss's gradient and Hessian-vector products.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "Take the model (layer sizes, activation, loss) from this configuration" };
        var model = new ModelOptions();
        model.Layers.DefaultValueFactory = _ => "8,16,3";
        var rows = new Option<int>("--rows") { Description = "Rows of random data", DefaultValueFactory = _ => 8 };
        var seed = new Option<int>("--seed") { Description = "Seed for weights and data", DefaultValueFactory = _ => 0 };
        var tolerance = new Option<double>("--tolerance") { Description = "Largest relative error accepted", DefaultValueFactory = _ => 1e-3 };
        var backend = CommonOptions.Backend();
        var command = new Command("check", "Compare the gradient and Hessian-vector products of the training loss with double-precision central differences") { config, rows, seed, tolerance, backend };
        model.AddTo(command);
        command.SetAction(parse => CliAction.Run(_ =>
        {
            Model m = parse.GetValue(config) is { } path ? FromConfig(path) : model.Build(parse);
            using var b = CommonOptions.CreateBackend(parse.GetValue(backend)!);
            var r = DerivativeCheck.Run(m, b, parse.GetValue(rows), parse.GetValue(seed), tolerance: parse.GetValue(tolerance));
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine($"{m.Description}: {r.Parameters} weights, {parse.GetValue(rows)} rows, backend {b.Name}");
            Console.WriteLine($"  gradient            max relative error {r.GradientRelativeError.ToString("E2", inv)}");
            Console.WriteLine($"  Hessian-vector      max relative error {r.HessianVectorRelativeError.ToString("E2", inv)} ({r.HessianVectorProducts} products)");
            Console.WriteLine($"  symmetry u·Hv=v·Hu  max relative error {r.SymmetryRelativeError.ToString("E2", inv)}");
            Console.WriteLine(r.Passed ? $"PASS (tolerance {r.Tolerance.ToString("G3", inv)})" : $"FAIL (tolerance {r.Tolerance.ToString("G3", inv)})");
            return r.Passed ? 0 : 1;
        }));
        return command;
    }

    private static Model FromConfig(string path)
    {
        var cfg = TrainingConfig.Load(path);
        // The check needs only the architecture: classification when the last layer has more than one output
        // and the data set is a classification one.
        var loss = cfg.DataSet == "fashion-mnist" ? "cross-entropy" : "mse";
        // Small random data and a narrowed input keep the finite-difference oracle fast for wide inputs.
        int[] sizes = (int[])cfg.LayerSizes.Clone();
        sizes[0] = Math.Min(sizes[0], 16);
        for (int i = 1; i < sizes.Length - 1; i++)
        {
            sizes[i] = Math.Min(sizes[i], 16);
        }

        return ModelOptions.Build(string.Join(",", sizes), loss, cfg.Activation);
    }
}
