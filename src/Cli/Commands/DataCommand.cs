using System.CommandLine;
using OnePass.Training.Configuration;
using OnePass.Training.Training;

namespace OnePass.Cli.Commands;

/// <summary>`onepass data`: find (or download and verify) a data set and report where it is.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "fashion-mnist, cifar10, uci-energy, uci-kin8nm or uci-power", DefaultValueFactory = _ => "fashion-mnist" };
        var dataDir = CommonOptions.DataDir();
        var command = new Command("data", "Locate a data set (Fashion-MNIST and CIFAR-10 are downloaded and verified when found nowhere) and print its splits") { dataset, dataDir };
        command.SetAction(parse => CliAction.Run(_ =>
        {
            var cfg = new TrainingConfig { DataSet = parse.GetValue(dataset)! };
            cfg.Validate();
            var data = DataSetLoader.Load(cfg, parse.GetValue(dataDir));
            Console.WriteLine($"data: {cfg.DataSet} from {data.Folder}");
            Console.WriteLine($"{data.Name}: {data.Train.Count} training, {data.Validation.Count} validation, {data.Test.Count} test rows; {data.InputWidth} inputs, {data.OutputWidth} outputs");
            return 0;
        }));
        return command;
    }
}
