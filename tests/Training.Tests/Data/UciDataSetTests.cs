using System.Globalization;
using OnePass.Training.Data;

namespace OnePass.Training.Tests.Data;

public sealed class UciDataSetTests
{
    private const int Rows = 50;
    private const int Columns = 4;

    private static double Raw(int row, int column) =>
        column switch
        {
            0 => row * 0.5,
            1 => Math.Sin(row) * 3 + 10,
            2 => (row * 37 % 11) - 5,
            _ => row * 0.25 + Math.Cos(row),
        };

    private static int[] Permutation() => Enumerable.Range(0, Rows).Select(i => i * 17 % Rows).ToArray();

    private static void WriteSet(string directory, string? dataText = null, string? permutationText = null)
    {
        dataText ??= string.Join(
            "\n",
            Enumerable.Range(0, Rows).Select(r => string.Join(
                "  \t",
                Enumerable.Range(0, Columns).Select(c => Raw(r, c).ToString("R", CultureInfo.InvariantCulture))))) + "\n\n  \n";
        permutationText ??= string.Join("\n", Permutation()) + "\n";
        File.WriteAllText(Path.Combine(directory, UciDataSet.DataFileName), dataText);
        File.WriteAllText(Path.Combine(directory, UciDataSet.PermutationFileName), permutationText);
    }

    [Fact]
    public void Unknown_name_splits_90_percent_and_20_percent_of_that()
    {
        using var temp = new TempDirectory();
        WriteSet(temp.Path);

        DataSet data = UciDataSet.Load(temp.Path, "synthetic");

        Assert.Equal(TaskKind.Regression, data.Task);
        Assert.Equal(3, data.InputWidth);
        Assert.Equal(1, data.OutputWidth);
        Assert.Equal(36, data.Train.Count);
        Assert.Equal(9, data.Validation.Count);
        Assert.Equal(5, data.Test.Count);
        Assert.Equal(1, data.Train.TargetWidth);
    }

    [Fact]
    public void Validation_count_can_be_chosen()
    {
        using var temp = new TempDirectory();
        WriteSet(temp.Path);

        DataSet data = UciDataSet.Load(temp.Path, "synthetic", validationCount: 5);

        Assert.Equal(40, data.Train.Count);
        Assert.Equal(5, data.Validation.Count);
        Assert.Equal(5, data.Test.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => UciDataSet.Load(temp.Path, "synthetic", validationCount: 45));
    }

    [Fact]
    public void Train_plus_validation_is_normalised_to_mean_0_std_1_and_rows_follow_the_permutation()
    {
        using var temp = new TempDirectory();
        WriteSet(temp.Path);
        int[] permutation = Permutation();

        DataSet data = UciDataSet.Load(temp.Path, "synthetic");

        for (int c = 0; c < Columns; c++)
        {
            var values = new List<double>();
            foreach (var split in new[] { data.Train, data.Validation })
            {
                for (int r = 0; r < split.Count; r++)
                {
                    values.Add(c < 3 ? split.Inputs[r * 3 + c] : split.Targets[r]);
                }
            }

            double mean = values.Average();
            double std = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
            Assert.Equal(0, mean, 5);
            Assert.Equal(1, std, 5);

            // Independent raw statistics over the first 45 permuted rows.
            var raw = permutation.Take(45).Select(r => Raw(r, c)).ToArray();
            double rawMean = raw.Average();
            double rawStd = Math.Sqrt(raw.Average(v => (v - rawMean) * (v - rawMean)));
            float storedMean = c < 3 ? data.Normalisation.InputMean[c] : data.Normalisation.TargetMean;
            float storedStd = c < 3 ? data.Normalisation.InputStd[c] : data.Normalisation.TargetStd;
            Assert.Equal(rawMean, storedMean, 4);
            Assert.Equal(rawStd, storedStd, 4);

            // Validation row 0 is permuted row 36; test row 2 is permuted row 47.
            float validationValue = c < 3 ? data.Validation.Inputs[c] : data.Validation.Targets[0];
            Assert.Equal((Raw(permutation[36], c) - rawMean) / rawStd, validationValue, 4);
            float testValue = c < 3 ? data.Test.Inputs[2 * 3 + c] : data.Test.Targets[2];
            Assert.Equal((Raw(permutation[47], c) - rawMean) / rawStd, testValue, 4);
        }

        Assert.Equal(
            Raw(permutation[47], 3),
            data.Normalisation.DenormaliseTarget(data.Test.Targets[2]),
            3);
    }

    [Fact]
    public void Constant_column_gets_a_floored_std_instead_of_dividing_by_zero()
    {
        using var temp = new TempDirectory();
        string text = string.Join("\n", Enumerable.Range(0, 20).Select(r => $"7 {r} {r * 2}"));
        WriteSet(temp.Path, text, string.Join("\n", Enumerable.Range(0, 20)));

        DataSet data = UciDataSet.Load(temp.Path, "constant");

        Assert.Equal(Normalisation.MinStd, data.Normalisation.InputStd[0]);
        Assert.All(data.Train.Inputs.Where((_, i) => i % 2 == 0), v => Assert.Equal(0f, v));
        Assert.All(data.Train.Inputs, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Non_numeric_value_names_the_file_line_and_token()
    {
        using var temp = new TempDirectory();
        WriteSet(temp.Path, "1 2 3\n4 5 6\n7 abc 9\n");
        string path = Path.Combine(temp.Path, UciDataSet.DataFileName);

        var e = Assert.Throws<DataFormatException>(() => UciDataSet.Load(temp.Path, "bad"));

        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path, e.Message);
        Assert.Contains("line 3: 'abc' is not a number", e.Message);
    }

    [Fact]
    public void Ragged_row_names_the_line_and_the_column_counts()
    {
        using var temp = new TempDirectory();
        WriteSet(temp.Path, "1 2 3\n4 5 6\n7 8\n10 11 12\n");
        string path = Path.Combine(temp.Path, UciDataSet.DataFileName);

        var e = Assert.Throws<DataFormatException>(() => UciDataSet.Load(temp.Path, "bad"));

        Assert.Contains(path, e.Message);
        Assert.Contains("line 3 has 2 columns, expected 3", e.Message);
    }

    [Fact]
    public void Blank_line_inside_the_data_is_an_error()
    {
        using var temp = new TempDirectory();
        WriteSet(temp.Path, "1 2 3\n\n4 5 6\n", "0\n1\n");

        var e = Assert.Throws<DataFormatException>(() => UciDataSet.Load(temp.Path, "bad"));

        Assert.Contains(Path.Combine(temp.Path, UciDataSet.DataFileName), e.Message);
        Assert.Contains("line 2: blank line", e.Message);
    }

    [Fact]
    public void Empty_data_file_is_reported()
    {
        using var temp = new TempDirectory();
        WriteSet(temp.Path, "\n  \n", "0\n");

        var e = Assert.Throws<DataFormatException>(() => UciDataSet.Load(temp.Path, "bad"));

        Assert.Contains(Path.Combine(temp.Path, UciDataSet.DataFileName), e.Message);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void Permutation_index_out_of_range_is_reported()
    {
        using var temp = new TempDirectory();
        WriteSet(temp.Path, permutationText: string.Join("\n", Enumerable.Range(0, Rows - 1).Append(Rows)));
        string path = Path.Combine(temp.Path, UciDataSet.PermutationFileName);

        var e = Assert.Throws<DataFormatException>(() => UciDataSet.Load(temp.Path, "synthetic"));

        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);
        Assert.Contains($"line {Rows}: index {Rows} is out of range 0..{Rows - 1}", e.Message);
    }

    [Fact]
    public void Repeated_permutation_index_is_reported_with_both_lines()
    {
        using var temp = new TempDirectory();
        WriteSet(temp.Path, permutationText: "3\n0\n3\n");
        string path = Path.Combine(temp.Path, UciDataSet.PermutationFileName);

        var e = Assert.Throws<DataFormatException>(() => UciDataSet.Load(temp.Path, "synthetic"));

        Assert.Contains(path, e.Message);
        Assert.Contains("line 3: index 3 is repeated (first on line 1)", e.Message);
    }

    [Fact]
    public void Permutation_shorter_than_the_data_is_reported()
    {
        using var temp = new TempDirectory();
        WriteSet(temp.Path, permutationText: "1\n0\n");
        string path = Path.Combine(temp.Path, UciDataSet.PermutationFileName);

        var e = Assert.Throws<DataFormatException>(() => UciDataSet.Load(temp.Path, "synthetic"));

        Assert.Contains(path, e.Message);
        Assert.Contains($"has 2 indices but", e.Message);
        Assert.Contains($"has {Rows} rows", e.Message);
    }

    [Fact]
    public void Non_integer_permutation_entry_is_reported()
    {
        using var temp = new TempDirectory();
        WriteSet(temp.Path, permutationText: "1\nx2\n");

        var e = Assert.Throws<DataFormatException>(() => UciDataSet.Load(temp.Path, "synthetic"));

        Assert.Contains(Path.Combine(temp.Path, UciDataSet.PermutationFileName), e.Message);
        Assert.Contains("line 2: 'x2' is not an integer", e.Message);
    }

    [Fact]
    public void Missing_permutation_file_names_the_expected_path()
    {
        using var temp = new TempDirectory();
        WriteSet(temp.Path);
        string path = Path.Combine(temp.Path, UciDataSet.PermutationFileName);
        File.Delete(path);

        var e = Assert.Throws<DataFormatException>(() => UciDataSet.Load(temp.Path, "synthetic"));

        Assert.Contains(path, e.Message);
        Assert.Contains("file not found", e.Message);
    }

    [Fact]
    public void Known_name_with_the_wrong_row_count_is_rejected()
    {
        using var temp = new TempDirectory();
        WriteSet(temp.Path);

        var e = Assert.Throws<DataFormatException>(() => UciDataSet.Load(temp.Path, "energy"));

        Assert.Contains("has 50 rows but the energy data set has 768", e.Message);
    }

    [Theory]
    [InlineData("energy", 768, 692, 78)]
    [InlineData("kin8nm", 8192, 7373, 1475)]
    [InlineData("power", 9568, 8611, 1722)]
    [InlineData("other", 1000, 900, 180)]
    public void Default_split_follows_the_published_table(string name, int rows, int trainValidation, int validation)
    {
        Assert.Equal((trainValidation, validation), UciDataSet.DefaultSplit(name, rows));
    }
}
