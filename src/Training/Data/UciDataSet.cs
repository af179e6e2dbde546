using System.Globalization;

namespace OnePass.Training.Data;

/// <summary>
/// Loads the UCI regression benchmarks (energy, kin8nm, power) laid out as <c>data.txt</c>
/// (whitespace-separated numbers, last column the target) and <c>permutation.txt</c>
/// (zero-based row order).
/// </summary>
public static class UciDataSet
{
    /// <summary>Name of the data file inside a UCI data set folder.</summary>
    public const string DataFileName = "data.txt";

    /// <summary>Name of the permutation file inside a UCI data set folder.</summary>
    public const string PermutationFileName = "permutation.txt";

    private static readonly Dictionary<string, SplitSizes> KnownSizes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["energy"] = new SplitSizes(768, 692, 78),
        ["kin8nm"] = new SplitSizes(8192, 7373, 1475),
        ["power"] = new SplitSizes(9568, 8611, 1722),
    };

    /// <summary>
    /// The split sizes used for a data set of <paramref name="rows"/> rows: the published table for
    /// energy, kin8nm and power; otherwise 90 % (rounded down) training + validation, of which 20 %
    /// (rounded) is validation.
    /// </summary>
    /// <returns>The number of training + validation rows and of validation rows.</returns>
    /// <exception cref="ArgumentException">A known name with a row count other than the published one.</exception>
    public static (int TrainValidation, int Validation) DefaultSplit(string name, int rows)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (KnownSizes.TryGetValue(name, out var known))
        {
            if (known.Rows != rows)
            {
                throw new ArgumentException(
                    $"The {name} data set has {known.Rows} rows, but {rows} were given.", nameof(rows));
            }

            return (known.TrainValidation, known.Validation);
        }

        int trainValidation = (int)(rows * 9L / 10);
        int validation = (int)Math.Round(trainValidation * 0.2, MidpointRounding.AwayFromZero);
        return (trainValidation, validation);
    }

    /// <summary>
    /// Loads <c>data.txt</c> and <c>permutation.txt</c> from <paramref name="directory"/>, permutes
    /// the rows, splits them into training, validation and test, and normalises inputs and target
    /// with the mean and population standard deviation of the training + validation rows.
    /// </summary>
    /// <param name="directory">The folder holding <c>data.txt</c> and <c>permutation.txt</c>.</param>
    /// <param name="name">Data set name (selects the published split sizes for energy, kin8nm, power).</param>
    /// <param name="validationCount">Validation rows, taken from the end of training + validation; null for the default.</param>
    /// <exception cref="DataFormatException">A file is missing or malformed.</exception>
    public static DataSet Load(string directory, string name, int? validationCount = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(name);

        string dataPath = Path.Combine(directory, DataFileName);
        string permutationPath = Path.Combine(directory, PermutationFileName);
        var (raw, rows, columns) = ReadData(dataPath);
        int[] permutation = ReadPermutation(permutationPath, rows, dataPath);

        int trainValidation;
        int validation;
        if (KnownSizes.TryGetValue(name, out var known))
        {
            if (known.Rows != rows)
            {
                throw new DataFormatException(
                    dataPath, $"has {rows} rows but the {name} data set has {known.Rows}.");
            }

            (trainValidation, validation) = (known.TrainValidation, known.Validation);
        }
        else
        {
            (trainValidation, validation) = DefaultSplit(name, rows);
        }

        if (validationCount is int requested)
        {
            validation = requested;
        }

        if (validation < 0 || validation >= trainValidation)
        {
            throw new ArgumentOutOfRangeException(
                nameof(validationCount),
                validation,
                $"The validation count must be between 0 and {trainValidation - 1} (training + validation has {trainValidation} rows).");
        }

        if (trainValidation >= rows)
        {
            throw new DataFormatException(dataPath, $"has {rows} rows, too few to leave a test set.");
        }

        int inputWidth = columns - 1;
        int train = trainValidation - validation;

        // Statistics over the training + validation rows (in permuted order: rows [0, trainValidation)).
        var mean = new double[columns];
        var sumSq = new double[columns];
        for (int r = 0; r < trainValidation; r++)
        {
            var row = raw.AsSpan(permutation[r] * columns, columns);
            for (int c = 0; c < columns; c++)
            {
                mean[c] += row[c];
            }
        }

        for (int c = 0; c < columns; c++)
        {
            mean[c] /= trainValidation;
        }

        for (int r = 0; r < trainValidation; r++)
        {
            var row = raw.AsSpan(permutation[r] * columns, columns);
            for (int c = 0; c < columns; c++)
            {
                double d = row[c] - mean[c];
                sumSq[c] += d * d;
            }
        }

        var inputMean = new float[inputWidth];
        var inputStd = new float[inputWidth];
        for (int c = 0; c < inputWidth; c++)
        {
            inputMean[c] = (float)mean[c];
            inputStd[c] = (float)Math.Sqrt(sumSq[c] / trainValidation);
        }

        var normalisation = new Normalisation(
            inputMean,
            inputStd,
            (float)mean[inputWidth],
            (float)Math.Sqrt(sumSq[inputWidth] / trainValidation));

        DataSplit MakeSplit(int start, int count)
        {
            var inputs = new float[count * inputWidth];
            var targets = new float[count];
            for (int i = 0; i < count; i++)
            {
                var row = raw.AsSpan(permutation[start + i] * columns, columns);
                for (int c = 0; c < inputWidth; c++)
                {
                    inputs[i * inputWidth + c] = (float)((row[c] - normalisation.InputMean[c]) / normalisation.InputStd[c]);
                }

                targets[i] = (float)((row[inputWidth] - normalisation.TargetMean) / normalisation.TargetStd);
            }

            return new DataSplit(inputs, targets, count, inputWidth, 1);
        }

        return new DataSet(
            name,
            TaskKind.Regression,
            inputWidth,
            1,
            MakeSplit(0, train),
            MakeSplit(train, validation),
            MakeSplit(trainValidation, rows - trainValidation),
            normalisation);
    }

    private static string[] ReadLines(string path)
    {
        if (!File.Exists(path))
        {
            throw new DataFormatException(path, $"file not found (expected the file at {path}).");
        }

        try
        {
            return File.ReadAllLines(path);
        }
        catch (IOException e)
        {
            throw new DataFormatException(path, $"cannot be read: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new DataFormatException(path, $"cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Index one past the last non-blank line; blank lines before it are errors.</summary>
    private static int ContentEnd(string[] lines, string path)
    {
        int end = lines.Length;
        while (end > 0 && string.IsNullOrWhiteSpace(lines[end - 1]))
        {
            end--;
        }

        if (end == 0)
        {
            throw new DataFormatException(path, "the file is empty (no data rows).");
        }

        for (int i = 0; i < end; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                throw new DataFormatException(
                    path, $"line {i + 1}: blank line; blank lines are only allowed at the end of the file.");
            }
        }

        return end;
    }

    private static (double[] Values, int Rows, int Columns) ReadData(string path)
    {
        string[] lines = ReadLines(path);
        int rows = ContentEnd(lines, path);
        int columns = CountTokens(lines[0]);
        if (columns < 2)
        {
            throw new DataFormatException(
                path, $"line 1 has {columns} column; at least one feature and the target are needed.");
        }

        var values = new double[(long)rows * columns];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<char> rest = lines[r];
            int found = 0;
            while (NextToken(ref rest, out var token))
            {
                if (found < columns)
                {
                    if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
                        || !double.IsFinite(v))
                    {
                        throw new DataFormatException(path, $"line {r + 1}: '{token}' is not a number.");
                    }

                    if (Math.Abs(v) > float.MaxValue)
                    {
                        // The engine computes in float32: such a value would become infinite and turn training into NaN.
                        throw new DataFormatException(path, $"line {r + 1}, column {found + 1}: '{token}' is beyond the float32 range (±3.4E+38).");
                    }

                    values[(long)r * columns + found] = v;
                }

                found++;
            }

            if (found != columns)
            {
                throw new DataFormatException(
                    path, $"line {r + 1} has {found} columns, expected {columns} (as on line 1).");
            }
        }

        return (values, rows, columns);
    }

    internal static int[] ReadPermutation(string path, int rows, string dataPath)
    {
        string[] lines = ReadLines(path);
        int count = ContentEnd(lines, path);
        var permutation = new int[count];
        var seenOnLine = new int[rows];
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<char> rest = lines[i];
            NextToken(ref rest, out var token);
            if (NextToken(ref rest, out var extra))
            {
                throw new DataFormatException(path, $"line {i + 1}: expected one index, found '{extra}' after it.");
            }

            if (!long.TryParse(token, NumberStyles.Integer, CultureInfo.InvariantCulture, out long index))
            {
                throw new DataFormatException(path, $"line {i + 1}: '{token}' is not an integer row index.");
            }

            if (index < 0 || index >= rows)
            {
                throw new DataFormatException(
                    path, $"line {i + 1}: index {index} is out of range 0..{rows - 1} ({dataPath} has {rows} rows).");
            }

            if (seenOnLine[index] != 0)
            {
                throw new DataFormatException(
                    path, $"line {i + 1}: index {index} is repeated (first on line {seenOnLine[index]}).");
            }

            seenOnLine[index] = i + 1;
            permutation[i] = (int)index;
        }

        if (count != rows)
        {
            throw new DataFormatException(
                path, $"has {count} indices but {dataPath} has {rows} rows; the permutation must list every row once.");
        }

        return permutation;
    }

    private static int CountTokens(ReadOnlySpan<char> line)
    {
        int n = 0;
        while (NextToken(ref line, out _))
        {
            n++;
        }

        return n;
    }

    private static bool NextToken(ref ReadOnlySpan<char> rest, out ReadOnlySpan<char> token)
    {
        int start = 0;
        while (start < rest.Length && char.IsWhiteSpace(rest[start]))
        {
            start++;
        }

        if (start == rest.Length)
        {
            token = default;
            rest = default;
            return false;
        }

        int end = start;
        while (end < rest.Length && !char.IsWhiteSpace(rest[end]))
        {
            end++;
        }

        token = rest[start..end];
        rest = rest[end..];
        return true;
    }

    private readonly record struct SplitSizes(int Rows, int TrainValidation, int Validation);
}
