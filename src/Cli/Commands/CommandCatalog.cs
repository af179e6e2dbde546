using System.CommandLine;

namespace OnePass.Cli.Commands;

/// <summary>Every `onepass` subcommand, in the order `--help` lists them.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All() =>
    [
        TrainCommand.Create(),
        CheckCommand.Create(),
        BenchCommand.Create(),
        DataCommand.Create(),
        ExportCommand.Create(),
        InferCommand.Create(),
        SweepCommand.Create(),
        ReportCommand.Create(),
        SelftestCommand.Create(),
    ];
}
