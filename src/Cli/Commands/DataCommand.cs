using System.CommandLine;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Training;

namespace OnePass.Cli.Commands;

/// <summary>`onepass data`: find (or download and verify) a data set and report where it is.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "fashion-mnist, cifar10, uci-energy, uci-kin8nm or uci-power", DefaultValueFactory = _ => "fashion-mnist" };
        var dataDir = CommonOptions.DataDir();
        var install = new Option<bool>("--install")
        {
            Description = "Fashion-MNIST found nowhere: install Debian's dataset-fashion-mnist with apt-get first (as root or with password-less sudo; skipped where impossible), then download",
        };
        var command = new Command("data", "Locate a data set (Fashion-MNIST and CIFAR-10 are downloaded and verified when found nowhere) and print its splits") { dataset, dataDir, install };
        command.SetAction(parse => CliAction.Run(_ =>
        {
            var cfg = new TrainingConfig { DataSet = parse.GetValue(dataset)! };
            cfg.Validate();
            string? dir = parse.GetValue(dataDir);
            if (parse.GetValue(install) && cfg.DataSet == FashionMnist.Name && string.IsNullOrWhiteSpace(dir)
                && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(FashionMnistLocator.EnvironmentVariable)))
            {
                // Only where no folder is named: an explicit folder must hold the data itself.
                var installer = new DebianPackageInstaller();
                new FashionMnistLocator { InstallSystemPackage = () => installer.TryInstall(DebianPackageInstaller.FashionMnistPackage) }.Locate(null);
            }

            var data = DataSetLoader.Load(cfg, dir);
            Console.WriteLine($"data: {cfg.DataSet} from {data.Folder}");
            Console.WriteLine($"{data.Name}: {data.Train.Count} training, {data.Validation.Count} validation, {data.Test.Count} test rows; {data.InputWidth} inputs, {data.OutputWidth} outputs");
            return 0;
        }));
        return command;
    }
}
