using OnePass.Training.Configuration;
using OnePass.Training.Data;

namespace OnePass.Training.Training;

/// <summary>Finds and loads the data set a configuration names.</summary>
public static class DataSetLoader
{
    /// <summary>The fewest rows a training or validation split may have.</summary>
    public const int MinimumSplitRows = 10;

    /// <summary>Loads <see cref="TrainingConfig.DataSet"/>, searching <paramref name="dataDir"/> first.</summary>
    public static DataSet Load(TrainingConfig config, string? dataDir)
    {
        var data = LoadSplits(config, dataDir);
        foreach (var (split, rows) in new[] { ("training", data.Train.Count), ("validation", data.Validation.Count) })
        {
            if (rows < MinimumSplitRows)
            {
                string cause = config.ValidationProportion is { } p
                    ? $"validation_proportion {p.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} leaves"
                    : "the data set has";
                throw new ConfigException($"{config.Source}: {cause} {rows} {split} rows, fewer than the minimum of {MinimumSplitRows}");
            }
        }

        return data;
    }

    private static DataSet LoadSplits(TrainingConfig config, string? dataDir)
    {
        if (config.Table is { } table)
        {
            string dataPath = ResolveTablePath(table.Path, "dataset.path", config.Source, dataDir);
            string? permutation = table.Permutation is null ? null : ResolveTablePath(table.Permutation, "dataset.permutation", config.Source, dataDir);
            return TableDataSet.Load(table, dataPath, permutation, config.ValidationProportion);
        }

        if (config.IsTextCorpus)
        {
            return LoadCorpus(config, dataDir);
        }

        if (config.DataSet == FashionMnist.Name)
        {
            string dir = Locate(config.DataSet, dataDir);
            int validation = config.ValidationProportion is { } p ? (int)Math.Round(p * 60000) : 10000;
            var images = FashionMnist.Load(dir, validation);
            images.Folder = dir;
            return images;
        }

        if (config.DataSet == Cifar10.Name)
        {
            string dir = Cifar10Locator.Resolve(dataDir);
            return config.ValidationProportion is { } p ? Cifar10.Load(dir, p) : Cifar10.Load(dir);
        }

        if (config.DataSet.StartsWith("uci-", StringComparison.Ordinal))
        {
            string name = config.DataSet["uci-".Length..];
            string dir = Locate(config.DataSet, dataDir);
            int? validation = null;
            if (config.ValidationProportion is { } p)
            {
                int rows = File.ReadLines(Path.Combine(dir, UciDataSet.DataFileName)).Count(l => !string.IsNullOrWhiteSpace(l));
                validation = (int)Math.Round(p * UciDataSet.DefaultSplit(name, rows).TrainValidation);
            }

            var data = UciDataSet.Load(dir, name, validation);
            data.Folder = dir;
            return data;
        }

        throw new ConfigException($"unknown dataset '{config.DataSet}'");
    }

    // A word-level corpus: the built-in ptb folder (PtbLocator's resolution order) or the three files of a text mapping.
    private static DataSet LoadCorpus(TrainingConfig config, string? dataDir)
    {
        if (config.TextCorpus is not { } text)
        {
            string dir = PtbLocator.Resolve(dataDir);
            var ptb = PennTreebank.LoadFolder(dir);
            var files = (Path.Combine(dir, PennTreebank.TrainFile), Path.Combine(dir, PennTreebank.ValidationFile), Path.Combine(dir, PennTreebank.TestFile));
            var data = TokenStreamData.Build(PennTreebank.Name, ptb, config.Sequences, config.Steps, files);
            data.Folder = dir;
            return data;
        }

        string train = ResolveTablePath(text.TrainFile, "dataset.train_file", config.Source, dataDir);
        string validation = ResolveTablePath(text.ValidationFile, "dataset.validation_file", config.Source, dataDir);
        string test = ResolveTablePath(text.TestFile, "dataset.test_file", config.Source, dataDir);
        var corpus = PennTreebank.Load(train, validation, test, vocabularyFromTrainOnly: text.Vocabulary == "train");
        var names = (train, validation, test);
        if (text.ValidationLineShare is { } share)
        {
            int eos = corpus.IdOf(PennTreebank.EndOfSentence);
            var (first, rest) = TokenStreamData.SplitLines(corpus.Validation, eos, share, validation);
            corpus = corpus with { Validation = first, Test = rest };
            names = (train, $"{validation} (first {share:R} of its lines)", $"{test} (the lines after the first {share:R})");
        }

        var textData = TokenStreamData.Build(text.DataSetName, corpus, config.Sequences, config.Steps, names);
        textData.Folder = Path.GetDirectoryName(Path.GetFullPath(train));
        return textData;
    }

    /// <summary>
    /// Resolves a table's file: an absolute path as it is; a relative one against, in order, <paramref name="dataDir"/>
    /// (<c>--data-dir</c>), the <c>ONEPASS_DATA</c> folder, the folder of the configuration file
    /// <paramref name="configSource"/>, and the working folder. The first that holds the file wins; the error names
    /// every place tried.
    /// </summary>
    public static string ResolveTablePath(string path, string key, string configSource, string? dataDir, Func<string, string?>? getEnvironmentVariable = null)
    {
        if (Path.IsPathRooted(path))
        {
            return File.Exists(path) || Directory.Exists(path) ? path : throw new DataFormatException(path, $"file not found ({key} in {configSource})");
        }

        getEnvironmentVariable ??= Environment.GetEnvironmentVariable;
        var roots = new List<(string Label, string Dir)>();
        if (!string.IsNullOrWhiteSpace(dataDir))
        {
            roots.Add(("--data-dir", dataDir));
        }

        if (getEnvironmentVariable(UciLocator.EnvironmentVariable) is { Length: > 0 } env)
        {
            roots.Add((UciLocator.EnvironmentVariable, env));
        }

        if (File.Exists(configSource))
        {
            roots.Add(("the configuration's folder", Path.GetDirectoryName(Path.GetFullPath(configSource))!));
        }

        roots.Add(("the working folder", Directory.GetCurrentDirectory()));
        foreach (var (_, dir) in roots)
        {
            foreach (string candidate in Candidates(dir, path))
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        string tried = string.Join("; ", roots.Select(r => $"{r.Label} {Path.Combine(r.Dir, path)}"));
        throw new DataNotFoundException($"{configSource}: {key} '{path}' was not found. Tried: {tried}. Pass --data-dir with the folder it is relative to, or set {UciLocator.EnvironmentVariable}.", roots.Select(r => Path.Combine(r.Dir, path)).ToList());
    }

    // ROOT/PATH, then, where ROOT ends in the folders PATH starts with, ROOT/(PATH without them): a root of
    // data/uci or data/uci/energy finds uci/energy/data.txt as data/uci/energy/data.txt, while data/uci/kin8nm never does.
    private static IEnumerable<string> Candidates(string root, string path)
    {
        yield return Path.Combine(root, path);
        char[] separators = ['/', '\\'];
        string[] head = path.Split(separators, StringSplitOptions.RemoveEmptyEntries);
        string[] tail = Path.GetFullPath(root).Split(separators, StringSplitOptions.RemoveEmptyEntries);
        for (int k = 1; k < head.Length && k <= tail.Length; k++)
        {
            if (head.Take(k).SequenceEqual(tail.Skip(tail.Length - k), StringComparer.Ordinal))
            {
                yield return Path.Combine([root, .. head.Skip(k)]);
            }
        }
    }

    /// <summary>
    /// The folder holding data set <paramref name="dataSet"/>. A folder named explicitly — <paramref name="dataDir"/>,
    /// else <c>ONEPASS_DATA</c> — must hold it (itself or in its data-set subfolder): otherwise the error names what
    /// is missing there, instead of silently falling back to another copy.
    /// </summary>
    public static string Locate(string dataSet, string? dataDir, Func<string, string?>? getEnvironmentVariable = null)
    {
        getEnvironmentVariable ??= Environment.GetEnvironmentVariable;
        string? explicitDir = string.IsNullOrWhiteSpace(dataDir) ? getEnvironmentVariable(UciLocator.EnvironmentVariable) : dataDir;
        string label = string.IsNullOrWhiteSpace(dataDir) ? $"{UciLocator.EnvironmentVariable}={explicitDir}" : $"--data-dir '{dataDir}'";
        bool isExplicit = !string.IsNullOrWhiteSpace(explicitDir);
        if (dataSet == FashionMnist.Name)
        {
            if (isExplicit && !FashionMnistLocator.IsComplete(explicitDir!) && !FashionMnistLocator.IsComplete(Path.Combine(explicitDir!, FashionMnist.Name)))
            {
                string missing = !Directory.Exists(explicitDir)
                    ? "the folder does not exist"
                    : "missing " + string.Join(", ", FashionMnist.FileNames.Where(f => FashionMnist.FindFile(explicitDir!, f) is null).Select(f => f + "[.gz]"))
                      + $" (and no complete {FashionMnist.Name}/ subfolder)";
                throw new DataNotFoundException($"{label} does not hold Fashion-MNIST: {missing}", [missing]);
            }

            return FashionMnistLocator.Resolve(explicitDir);
        }

        string name = dataSet.StartsWith("uci-", StringComparison.Ordinal) ? dataSet["uci-".Length..] : dataSet;
        if (isExplicit)
        {
            string[] candidates = [explicitDir!, Path.Combine(explicitDir!, name), Path.Combine(explicitDir!, "uci", name)];
            if (!candidates.Any(c => File.Exists(Path.Combine(c, UciDataSet.DataFileName))))
            {
                string missing = !Directory.Exists(explicitDir)
                    ? "the folder does not exist"
                    : $"no {UciDataSet.DataFileName} in it, in {name}/ or in uci/{name}/";
                throw new DataNotFoundException($"{label} does not hold {dataSet}: {missing}", [missing]);
            }
        }

        return UciLocator.Resolve(name, explicitDir, _ => null);
    }
}
