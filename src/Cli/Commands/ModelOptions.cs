using System.CommandLine;
using OnePass.Training.Models;
using OnePass.Training.Tensors;

namespace OnePass.Cli.Commands;

/// <summary>Options describing an MLP on the command line (check, bench).</summary>
internal sealed class ModelOptions
{
    public Option<string> Layers { get; } = new("--layers") { Description = "Layer sizes, input first, e.g. 784,50,10", DefaultValueFactory = _ => "784,50,10" };

    public Option<string> Loss { get; } = new("--loss") { Description = "cross-entropy or mse", DefaultValueFactory = _ => "cross-entropy" };

    public Option<string> Activation { get; } = new("--activation") { Description = "relu, tanh or sigmoid", DefaultValueFactory = _ => "relu" };

    public void AddTo(Command command)
    {
        command.Options.Add(Layers);
        command.Options.Add(Loss);
        command.Options.Add(Activation);
    }

    public Model Build(ParseResult parse) => Build(parse.GetValue(Layers)!, parse.GetValue(Loss)!, parse.GetValue(Activation)!);

    public static Model Build(string layers, string loss, string activation)
    {
        int[] sizes;
        try
        {
            sizes = layers.Split(',', StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        }
        catch (FormatException)
        {
            throw new UserInputException($"--layers '{layers}': expected comma-separated integers such as 784,50,10");
        }

        var lossKind = loss switch
        {
            "cross-entropy" => LossKind.CrossEntropy,
            "mse" => LossKind.MeanSquaredError,
            _ => throw new UserInputException($"--loss '{loss}': expected cross-entropy or mse"),
        };
        if (!Enum.TryParse<Activation>(activation, ignoreCase: true, out var act) || !Enum.IsDefined(act) || int.TryParse(activation, out _))
        {
            throw new UserInputException($"--activation '{activation}': expected relu, tanh or sigmoid");
        }

        return Mlp.Build(sizes, act, lossKind);
    }
}
