namespace OnePass.Training.Configuration;

/// <summary>A configuration problem: unknown key, wrong type, bad value or missing file. One line.</summary>
public sealed class ConfigException(string message) : Exception(message);
