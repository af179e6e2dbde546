namespace OnePass.Training.Data;

/// <summary>Finds the folder of a UCI data set (the one holding <c>data.txt</c>).</summary>
public static class UciLocator
{
    /// <summary>Environment variable naming a data folder (shared with Fashion-MNIST).</summary>
    public const string EnvironmentVariable = DataLocator.EnvironmentVariable;

    /// <summary>
    /// Resolves the folder of data set <paramref name="name"/>. Tried in order: <paramref name="dataDir"/>,
    /// then the folder named by <c>ONEPASS_DATA</c>; each may be the data set folder itself (holding
    /// <c>data.txt</c>) or a parent holding <c>NAME/data.txt</c> or <c>uci/NAME/data.txt</c>.
    /// </summary>
    /// <param name="name">Data set name, e.g. <c>energy</c>.</param>
    /// <param name="dataDir">The <c>--data-dir</c> argument, or null.</param>
    /// <param name="getEnvironmentVariable">Environment lookup; null for the process environment.</param>
    /// <returns>The folder holding <c>data.txt</c>.</returns>
    /// <exception cref="DataNotFoundException">No option holds the data set; the message lists them all.</exception>
    public static string Resolve(string name, string? dataDir, Func<string, string?>? getEnvironmentVariable = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        getEnvironmentVariable ??= Environment.GetEnvironmentVariable;
        var search = new DataLocator(
            $"The UCI data set '{name}'",
            folder => File.Exists(Path.Combine(folder, UciDataSet.DataFileName)),
            candidates => $"no {UciDataSet.DataFileName} in "
                          + string.Join(", ", candidates.Select(c => Path.Combine(c, UciDataSet.DataFileName))));
        IReadOnlyList<string> Candidates(string root) => [root, Path.Combine(root, name), Path.Combine(root, "uci", name)];

        return search.Folder("--data-dir argument", dataDir, Candidates, "not given")
            ?? search.Folder($"{EnvironmentVariable} environment variable", getEnvironmentVariable(EnvironmentVariable), Candidates, "not given")
            ?? throw search.NotFound(
                $"Pass --data-dir with the folder holding {UciDataSet.DataFileName} and {UciDataSet.PermutationFileName} "
                + $"(or a parent holding {name}/ or uci/{name}/), or set {EnvironmentVariable} to such a folder.");
    }
}
