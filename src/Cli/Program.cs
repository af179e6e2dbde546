using System.CommandLine;
using OnePass.Cli.Commands;

var root = new RootCommand("OnePass: tune learning rates, momentum and weight decay during one training run, export the model as ONNX, serve it with ONNX Runtime.");
foreach (var command in CommandCatalog.All())
{
    root.Subcommands.Add(command);
}

return root.Parse(args).Invoke();
