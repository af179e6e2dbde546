using System.Globalization;

namespace OnePass.Training.Data;

/// <summary>
/// Loads a user's table of data (<see cref="TableSpec"/>): CSV or whitespace-separated text, a header row detected
/// or declared, targets and features chosen by name or index, rows split by a permutation file and sizes or by
/// proportions and a seed. A regression table may have several target columns (the model then predicts them all,
/// in the order given); classification takes one. Inputs (and each regression target column) are normalised with the mean and population standard
/// deviation of the training + validation rows, as for the UCI sets, so that a UCI folder read as a table gives
/// the same arrays as <see cref="UciDataSet"/>. Every malformed cell, ragged row, unknown column or empty split is a
/// <see cref="DataFormatException"/> naming the file, and the line and column where there is one.
/// </summary>
public static class TableDataSet
{
    /// <summary>Test proportion when neither a test size nor a proportion is given.</summary>
    public const double DefaultTestProportion = 0.1;

    /// <summary>Validation proportion (of training + validation) when neither a size nor a proportion is given.</summary>
    public const double DefaultValidationProportion = 0.2;

    /// <summary>Loads the table.</summary>
    /// <param name="spec">What the table holds and how to split it.</param>
    /// <param name="dataPath">The data file, resolved.</param>
    /// <param name="permutationPath">The permutation file, resolved; null to shuffle with <see cref="TableSpec.Seed"/>.</param>
    /// <param name="validationProportion">A configuration's top-level validation_proportion, which overrides the table's validation size.</param>
    public static DataSet Load(TableSpec spec, string dataPath, string? permutationPath = null, double? validationProportion = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrWhiteSpace(dataPath);
        var table = Read(dataPath, spec.Header);
        int[] targets = spec.Target.Select(t => table.Column(t, "target")).ToArray();
        if (targets.Length == 0)
        {
            throw new DataFormatException(dataPath, "no target column given (dataset.target)");
        }

        foreach (var group in targets.GroupBy(t => t).Where(g => g.Count() > 1))
        {
            throw new DataFormatException(dataPath, $"{table.Describe(group.Key)} is listed twice among the targets (dataset.target)");
        }

        if (targets.Length > 1 && spec.Task == TaskKind.Classification)
        {
            throw new DataFormatException(dataPath, $"classification takes one target column; got {targets.Length}: {string.Join(", ", targets.Select(table.Describe))}");
        }

        int[] features = spec.Features is { } named
            ? named.Select(f => table.Column(f, "feature")).ToArray()
            : Enumerable.Range(0, table.Columns).Where(c => !targets.Contains(c)).ToArray();
        if (features.Length == 0)
        {
            throw new DataFormatException(dataPath, "no feature columns: every column is a target");
        }

        foreach (int f in features.Where(targets.Contains))
        {
            throw new DataFormatException(dataPath, $"{table.Describe(f)} is both a feature and {(targets.Length == 1 ? "the target" : "a target")}");
        }

        foreach (var group in features.GroupBy(f => f).Where(g => g.Count() > 1))
        {
            throw new DataFormatException(dataPath, $"{table.Describe(group.Key)} is listed twice among the features");
        }

        // One row of values: the features in model input order, then the targets in the order given.
        int rows = table.Rows.Count;
        int width = features.Length;
        int targetWidth = targets.Length;
        int stride = width + targetWidth;
        var values = new double[(long)rows * stride];
        for (int r = 0; r < rows; r++)
        {
            for (int i = 0; i < width; i++)
            {
                values[(long)r * stride + i] = table.Number(r, features[i]);
            }
        }

        string[]? classes = null;
        if (spec.Task == TaskKind.Classification)
        {
            int target = targets[0];
            string[] labels = table.Rows.Select(row => row.Cells[target]).ToArray();
            for (int r = 0; r < rows; r++)
            {
                if (labels[r].Length == 0)
                {
                    throw new DataFormatException(dataPath, $"line {table.Rows[r].Line}, {table.Describe(target)}: empty class label");
                }
            }

            bool numeric = labels.All(l => double.TryParse(l, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
            classes = numeric
                ? labels.Distinct(StringComparer.Ordinal).OrderBy(l => double.Parse(l, CultureInfo.InvariantCulture)).ThenBy(l => l, StringComparer.Ordinal).ToArray()
                : labels.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            if (classes.Length < 2)
            {
                throw new DataFormatException(dataPath, $"{table.Describe(target)} holds a single class ('{classes[0]}'); classification needs at least two");
            }

            var index = classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i, StringComparer.Ordinal);
            for (int r = 0; r < rows; r++)
            {
                values[(long)r * stride + width] = index[labels[r]];
            }
        }
        else
        {
            for (int r = 0; r < rows; r++)
            {
                for (int t = 0; t < targetWidth; t++)
                {
                    values[(long)r * stride + width + t] = table.Number(r, targets[t]);
                }
            }
        }

        int[] permutation = permutationPath is null ? Shuffle(rows, spec.Seed) : UciDataSet.ReadPermutation(permutationPath, rows, dataPath);
        var (train, validation, test) = Sizes(spec, rows, dataPath, permutationPath, validationProportion);
        int trainValidation = train + validation;

        // Statistics over the training + validation rows, summed in permuted order (as UciDataSet does, so that
        // the same file and permutation give bit-identical arrays).
        int statsColumns = spec.Task == TaskKind.Regression ? stride : width;
        var mean = new double[statsColumns];
        var sumSq = new double[statsColumns];
        for (int r = 0; r < trainValidation; r++)
        {
            var row = values.AsSpan((int)((long)permutation[r] * stride), stride);
            for (int c = 0; c < statsColumns; c++)
            {
                mean[c] += row[c];
            }
        }

        for (int c = 0; c < statsColumns; c++)
        {
            mean[c] /= trainValidation;
        }

        for (int r = 0; r < trainValidation; r++)
        {
            var row = values.AsSpan((int)((long)permutation[r] * stride), stride);
            for (int c = 0; c < statsColumns; c++)
            {
                double d = row[c] - mean[c];
                sumSq[c] += d * d;
            }
        }

        var inputMean = new float[width];
        var inputStd = new float[width];
        for (int c = 0; c < width; c++)
        {
            inputMean[c] = (float)mean[c];
            inputStd[c] = (float)Math.Sqrt(sumSq[c] / trainValidation);
        }

        // Regression: one mean and standard deviation per target column, from the same rows.
        var normalisation = spec.Task == TaskKind.Regression
            ? new Normalisation(
                inputMean,
                inputStd,
                Enumerable.Range(width, targetWidth).Select(c => (float)mean[c]).ToArray(),
                Enumerable.Range(width, targetWidth).Select(c => (float)Math.Sqrt(sumSq[c] / trainValidation)).ToArray())
            : new Normalisation(inputMean, inputStd);

        DataSplit MakeSplit(int start, int count)
        {
            var inputs = new float[(long)count * width];
            var splitTargets = new float[(long)count * targetWidth];
            for (int i = 0; i < count; i++)
            {
                var row = values.AsSpan((int)((long)permutation[start + i] * stride), stride);
                for (int c = 0; c < width; c++)
                {
                    inputs[(long)i * width + c] = (float)((row[c] - normalisation.InputMean[c]) / normalisation.InputStd[c]);
                }

                for (int t = 0; t < targetWidth; t++)
                {
                    splitTargets[(long)i * targetWidth + t] = spec.Task == TaskKind.Regression
                        ? (float)((row[width + t] - normalisation.TargetMeans[t]) / normalisation.TargetStds[t])
                        : (float)row[width + t];
                }
            }

            return new DataSplit(inputs, splitTargets, count, width, targetWidth);
        }

        return new DataSet(
            spec.DataSetName,
            spec.Task,
            width,
            classes?.Length ?? targetWidth,
            MakeSplit(0, train),
            MakeSplit(train, validation),
            MakeSplit(trainValidation, test),
            normalisation)
        {
            Folder = Path.GetDirectoryName(Path.GetFullPath(dataPath)),
            ColumnNames = table.Header is null ? null : features.Select(f => table.Header[f]).ToArray(),
            ClassLabels = classes,
            TargetNames = table.Header is null || spec.Task != TaskKind.Regression ? null : targets.Select(t => table.Header[t]).ToArray(),
        };
    }

    /// <summary>The training, validation and test row counts for a table of <paramref name="rows"/> rows.</summary>
    public static (int Train, int Validation, int Test) Sizes(TableSpec spec, int rows, string dataPath, string? permutationPath = null, double? validationProportion = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var inv = CultureInfo.InvariantCulture;
        int test = spec.TestSize ?? (int)Math.Round((spec.TestProportion ?? DefaultTestProportion) * rows);
        string testFrom = spec.TestSize is { } ts ? $"test_size {ts}" : $"test_proportion {(spec.TestProportion ?? DefaultTestProportion).ToString("R", inv)}";
        if (test <= 0)
        {
            throw new DataFormatException(dataPath, $"the test split is empty: {testFrom} of {rows} rows");
        }

        if (test >= rows)
        {
            throw new DataFormatException(dataPath, $"{testFrom} leaves no training rows: the file has {rows} rows{(permutationPath is null ? "" : $" ({permutationPath} orders them)")}");
        }

        int trainValidation = rows - test;
        int validation;
        string validationFrom;
        if (validationProportion is { } top)
        {
            validation = (int)Math.Round(top * trainValidation);
            validationFrom = $"validation_proportion {top.ToString("R", inv)}";
        }
        else if (spec.ValidationSize is { } vs)
        {
            validation = vs;
            validationFrom = $"validation_size {vs}";
        }
        else
        {
            double p = spec.ValidationProportion ?? DefaultValidationProportion;
            validation = (int)Math.Round(p * trainValidation);
            validationFrom = $"validation_proportion {p.ToString("R", inv)}";
        }

        if (validation <= 0)
        {
            throw new DataFormatException(dataPath, $"the validation split is empty: {validationFrom} of {trainValidation} training + validation rows");
        }

        if (validation >= trainValidation)
        {
            throw new DataFormatException(dataPath, $"the training split is empty: {validationFrom} takes all {trainValidation} training + validation rows");
        }

        return (trainValidation - validation, validation, test);
    }

    // Fisher-Yates with a seeded System.Random (its seeded sequence is stable across .NET versions).
    private static int[] Shuffle(int rows, int seed)
    {
        var order = Enumerable.Range(0, rows).ToArray();
        var random = new Random(seed);
        for (int i = rows - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }

    private sealed record Row(int Line, string[] Cells);

    private sealed class Table(string path, string[]? header, List<Row> rows, int columns)
    {
        public string[]? Header { get; } = header;

        public List<Row> Rows { get; } = rows;

        public int Columns { get; } = columns;

        public string Describe(int column) =>
            Header is null ? $"column {column + 1}" : $"column {column + 1} ('{Header[column]}')";

        public int Column(string key, string role)
        {
            if (Header is not null)
            {
                int named = Array.IndexOf(Header, key);
                if (named >= 0)
                {
                    return named;
                }
            }

            if (int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                return index < Columns
                    ? index
                    : throw new DataFormatException(path, $"{role} column index {index} is out of range: the file has {Columns} columns (indices 0-{Columns - 1})");
            }

            string known = Header is null ? "the file has no header row, so columns are named by zero-based index" : "columns: " + string.Join(", ", Header);
            throw new DataFormatException(path, $"unknown {role} column '{key}' ({known})");
        }

        public double Number(int row, int column)
        {
            string cell = Rows[row].Cells[column];
            string where = $"line {Rows[row].Line}, {Describe(column)}";
            if (cell.Length == 0)
            {
                throw new DataFormatException(path, $"{where}: empty cell, expected a number");
            }

            if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            {
                throw new DataFormatException(path, $"{where}: '{(cell.Length <= 40 ? cell : cell[..40] + "…")}' is not a finite number");
            }

            if (Math.Abs(v) > float.MaxValue)
            {
                throw new DataFormatException(path, $"{where}: '{cell}' is beyond the float32 range (±3.4E+38)");
            }

            return v;
        }
    }

    private static Table Read(string path, bool? header)
    {
        if (Directory.Exists(path))
        {
            throw new DataFormatException(path, "is a folder, not a data file");
        }

        if (!File.Exists(path))
        {
            throw new DataFormatException(path, "file not found");
        }

        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, $"cannot be read: {e.Message}", e);
        }

        int first = Array.FindIndex(lines, l => !string.IsNullOrWhiteSpace(l));
        if (first < 0)
        {
            throw new DataFormatException(path, "the file is empty (no rows)");
        }

        bool comma = lines[first].Contains(',', StringComparison.Ordinal);
        string[] Split(string line) => comma
            ? line.Split(',').Select(c => c.Trim().Trim('"').Trim()).ToArray()
            : line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

        string[] firstCells = Split(lines[first]);
        bool isHeader = header ?? firstCells.All(c => c.Length > 0 && !double.TryParse(c, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        string[]? names = isHeader ? firstCells : null;
        if (names is not null)
        {
            for (int c = 0; c < names.Length; c++)
            {
                if (names[c].Length == 0)
                {
                    throw new DataFormatException(path, $"line {first + 1}, column {c + 1}: empty column name in the header row");
                }

                int earlier = Array.IndexOf(names, names[c], 0, c);
                if (earlier >= 0)
                {
                    throw new DataFormatException(path, $"line {first + 1}, column {c + 1}: column name '{names[c]}' repeats column {earlier + 1}");
                }
            }
        }

        int columns = firstCells.Length;
        if (columns < 2)
        {
            throw new DataFormatException(path, $"line {first + 1} has {columns} column; at least one feature and a target are needed");
        }

        var rows = new List<Row>();
        for (int i = isHeader ? first + 1 : first; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            string[] cells = Split(lines[i]);
            if (cells.Length != columns)
            {
                throw new DataFormatException(path, $"line {i + 1} has {cells.Length} columns, expected {columns} (as on line {first + 1})");
            }

            rows.Add(new Row(i + 1, cells));
        }

        if (rows.Count == 0)
        {
            throw new DataFormatException(path, "no data rows after the header");
        }

        return new Table(path, names, rows, columns);
    }
}
