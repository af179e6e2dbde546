namespace OnePass.Cli.Commands;

/// <summary>Bad command-line input: reported as one line, exit code 1.</summary>
internal sealed class UserInputException(string message) : Exception(message);
