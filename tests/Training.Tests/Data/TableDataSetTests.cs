using System.Globalization;
using OnePass.Training.Configuration;
using OnePass.Training.Data;
using OnePass.Training.Training;

namespace OnePass.Training.Tests.Data;

/// <summary>The table loader (<c>dataset: {kind: table, ...}</c>): parsing, splits, normalisation, labels and errors.</summary>
public sealed class TableDataSetTests
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // 40 rows: two features, a string label, a third feature; header row; label from the first feature's sign.
    private static string WriteCsv(TempDirectory temp, string name = "flowers.csv", int rows = 40)
    {
        var random = new Random(3);
        var lines = new List<string> { "width,length,species,height" };
        for (int i = 0; i < rows; i++)
        {
            double w = random.NextDouble() * 4 - 2, l = random.NextDouble() * 10, h = random.NextDouble();
            string species = w < -0.7 ? "setosa" : w < 0.7 ? "versicolor" : "virginica";
            lines.Add(string.Create(Inv, $"{w:R},{l:R},{species},{h:R}"));
        }

        string path = Path.Combine(temp.Path, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static TrainingConfig Config(TempDirectory temp, string datasetYaml, string extra = "")
    {
        string path = Path.Combine(temp.Path, "c.yaml");
        File.WriteAllText(path, datasetYaml + "\n" + extra);
        return TrainingConfig.Load(path);
    }

    [Fact]
    public void Table_mapping_loads_string_classes_with_a_permutation_file_and_sizes()
    {
        using var temp = new TempDirectory();
        string csv = WriteCsv(temp);
        File.WriteAllLines(Path.Combine(temp.Path, "perm.txt"), Enumerable.Range(0, 40).Reverse().Select(i => i.ToString(Inv)));
        var config = Config(temp, "dataset: {kind: table, path: flowers.csv, target: species, task: classification, permutation: perm.txt, test_size: 8, validation_size: 10}",
            "model:\n  layer_sizes: [3, 5, 3]");

        Assert.Equal("table:flowers.csv", config.DataSet);
        var data = DataSetLoader.Load(config, null);

        Assert.Equal((22, 10, 8), (data.Train.Count, data.Validation.Count, data.Test.Count));
        Assert.Equal(TaskKind.Classification, data.Task);
        Assert.Equal(3, data.OutputWidth);
        Assert.Equal(["setosa", "versicolor", "virginica"], data.ClassLabels);
        Assert.Equal(["width", "length", "height"], data.ColumnNames);

        // The permutation reverses the file: the first training row is the file's last, the test set its first 8 rows.
        string[] lines = File.ReadAllLines(csv);
        string[] last = lines[40].Split(',');
        Assert.Equal(Array.IndexOf(data.ClassLabels!.ToArray(), last[2]), (int)data.Train.Targets[0]);
        double width = double.Parse(last[0], Inv);
        Assert.Equal((float)((width - data.Normalisation.InputMean[0]) / data.Normalisation.InputStd[0]), data.Train.Inputs[0]);
        string[] first = lines[1].Split(',');
        Assert.Equal(Array.IndexOf(data.ClassLabels!.ToArray(), first[2]), (int)data.Test.Targets[^1]);

        // Input statistics come from training + validation rows only.
        var trainValidation = data.Train.Inputs.Concat(data.Validation.Inputs).Where((_, i) => i % 3 == 0).Select(v => (double)v).ToArray();
        Assert.Equal(0, trainValidation.Average(), 5);
        Assert.Equal(1, Math.Sqrt(trainValidation.Average(v => v * v)), 4);
    }

    [Fact]
    public void Proportions_with_a_seed_split_reproducibly_and_the_seed_matters()
    {
        using var temp = new TempDirectory();
        WriteCsv(temp, rows: 100);
        const string Yaml = "dataset:\n  kind: table\n  path: flowers.csv\n  target: 3\n  features: [length, width]\n  test_proportion: 0.2\n  validation_proportion: 0.25\n  seed: {0}";
        var a = DataSetLoader.Load(Config(temp, string.Format(Inv, Yaml, 1)), null);
        var b = DataSetLoader.Load(Config(temp, string.Format(Inv, Yaml, 1)), null);
        var c = DataSetLoader.Load(Config(temp, string.Format(Inv, Yaml, 2)), null);

        Assert.Equal((60, 20, 20), (a.Train.Count, a.Validation.Count, a.Test.Count));
        Assert.Equal(TaskKind.Regression, a.Task);
        Assert.Equal(["length", "width"], a.ColumnNames);
        Assert.Equal(a.Test.Inputs, b.Test.Inputs);
        Assert.NotEqual(a.Test.Inputs, c.Test.Inputs);

        // A regression target is normalised with training + validation statistics.
        var tv = a.Train.Targets.Concat(a.Validation.Targets).Select(v => (double)v).ToArray();
        Assert.Equal(0, tv.Average(), 5);
        Assert.Equal(1, Math.Sqrt(tv.Average(v => v * v)), 4);
    }

    [Fact]
    public void Several_regression_targets_are_normalised_one_column_at_a_time_in_the_order_given()
    {
        using var temp = new TempDirectory();
        var random = new Random(8);
        var lines = new List<string> { "p,big,q,small" };
        for (int i = 0; i < 50; i++)
        {
            double p = random.NextDouble(), q = random.NextDouble() * 3;
            lines.Add(string.Create(Inv, $"{p:R},{1000 + (400 * p):R},{q:R},{0.01 * q:R}"));
        }

        File.WriteAllLines(Path.Combine(temp.Path, "two.csv"), lines);
        var data = DataSetLoader.Load(Config(temp, "dataset: {kind: table, path: two.csv, target: [small, 1], test_size: 10, validation_size: 10}"), null);

        Assert.Equal(TaskKind.Regression, data.Task);
        Assert.Equal(2, data.OutputWidth);
        Assert.Equal(["p", "q"], data.ColumnNames);
        Assert.Equal(["small", "big"], data.TargetNames);
        Assert.Equal(2, data.Train.TargetWidth);
        Assert.Equal(2, data.Normalisation.TargetWidth);
        Assert.Throws<InvalidOperationException>(() => data.Normalisation.TargetMean);

        // Each target column has mean 0 and standard deviation 1 over the training + validation rows.
        var tv = data.Train.Targets.Concat(data.Validation.Targets).Select(v => (double)v).ToArray();
        for (int t = 0; t < 2; t++)
        {
            var column = tv.Where((_, i) => i % 2 == t).ToArray();
            Assert.Equal(0, column.Average(), 5);
            Assert.Equal(1, Math.Sqrt(column.Average(v => v * v)), 4);
        }

        // The statistics are each column's own (the big target's are about 10^5 times the small one's), and
        // denormalising a test row gives the file's values back.
        Assert.True(data.Normalisation.TargetMeans[1] > 1000 && data.Normalisation.TargetMeans[0] < 0.03, string.Join(", ", data.Normalisation.TargetMeans));
        float[] raw = data.Normalisation.DenormaliseTargets(data.Test.Targets);
        var fileRows = lines.Skip(1).Select(l => l.Split(',').Select(c => double.Parse(c, Inv)).ToArray()).ToArray();
        for (int r = 0; r < data.Test.Count; r++)
        {
            var match = fileRows.Single(f => Math.Abs(f[0] - ((data.Test.Inputs[r * 2] * data.Normalisation.InputStd[0]) + data.Normalisation.InputMean[0])) < 1e-5);
            Assert.Equal(match[3], raw[r * 2], 5);
            Assert.Equal(match[1], raw[(r * 2) + 1], 2);
        }

        // A single target keeps the scalar statistics.
        var single = DataSetLoader.Load(Config(temp, "dataset: {kind: table, path: two.csv, target: big, test_size: 10, validation_size: 10}"), null);
        Assert.Equal(1, single.OutputWidth);
        Assert.Equal(single.Normalisation.TargetMeans[0], single.Normalisation.TargetMean);
        Assert.Equal(data.Normalisation.TargetMeans[1], single.Normalisation.TargetMean);
        Assert.Equal(data.Normalisation.TargetStds[1], single.Normalisation.TargetStd);
    }

    [Fact]
    public void Whitespace_file_without_header_takes_indices_and_a_declared_header_is_honoured()
    {
        using var temp = new TempDirectory();
        File.WriteAllLines(Path.Combine(temp.Path, "d.txt"), Enumerable.Range(0, 50).Select(i => string.Create(Inv, $"{i} {i * 2}   {i % 7}")));
        var data = DataSetLoader.Load(Config(temp, "dataset: {kind: table, path: d.txt, target: 2, test_size: 5, validation_size: 10}"), null);
        Assert.Equal((35, 10, 5), (data.Train.Count, data.Validation.Count, data.Test.Count));
        Assert.Equal(2, data.InputWidth);
        Assert.Null(data.ColumnNames);

        // Declared: the first row is a header even though it is numeric.
        File.WriteAllLines(Path.Combine(temp.Path, "h.csv"), ["1,2,3", .. Enumerable.Range(0, 60).Select(i => string.Create(Inv, $"{i},{i % 3},{i % 5}"))]);
        var declared = DataSetLoader.Load(Config(temp, "dataset: {kind: table, path: h.csv, target: '3', header: true}"), null);
        Assert.Equal(["1", "2"], declared.ColumnNames);
        Assert.Equal(60, declared.Train.Count + declared.Validation.Count + declared.Test.Count);
    }

    [Theory]
    [InlineData("width,length,species,height\n1,2,a,3\n1,x2,b,3\n", "target: species, task: classification", "bad.csv: line 3, column 2 ('length'): 'x2' is not a finite number")]
    [InlineData("width,length,species,height\n1,2,a,3\n1,2,b\n", "target: species, task: classification", "bad.csv: line 3 has 3 columns, expected 4 (as on line 1)")]
    [InlineData("width,length,species,height\n1,2,a,3\n", "target: kind", "bad.csv: unknown target column 'kind' (columns: width, length, species, height)")]
    [InlineData("width,length,species,height\n1,2,a,3\n1,,b,3\n", "target: species, task: classification", "bad.csv: line 3, column 2 ('length'): empty cell, expected a number")]
    [InlineData("width,length,species,height\n1,2,a,3\n", "target: species", "bad.csv: line 2, column 3 ('species'): 'a' is not a finite number")]
    [InlineData("width,length,species,height\n1,2,a,3\n", "target: 9", "bad.csv: target column index 9 is out of range: the file has 4 columns (indices 0-3)")]
    [InlineData("width,length,species,height\n1,2,3,4\n1,2,3,4\n", "target: height, test_proportion: 0.01", "bad.csv: the test split is empty: test_proportion 0.01 of 2 rows")]
    [InlineData("width,length,species,height\n1,2,3,4\n1,2,3,4\n", "target: height, test_size: 1, validation_size: 1", "bad.csv: the training split is empty: validation_size 1 takes all 1 training + validation rows")]
    [InlineData("width,length,species,height\n1,2,3,4\n", "target: height, features: [width, height]", "bad.csv: column 4 ('height') is both a feature and the target")]
    [InlineData("width,length,species,height\n1,2,3,4\n", "target: [height, width], features: [length, height]", "bad.csv: column 4 ('height') is both a feature and a target")]
    [InlineData("width,length,species,height\n1,2,3,4\n", "target: [height, length, 3]", "bad.csv: column 4 ('height') is listed twice among the targets (dataset.target)")]
    [InlineData("width,length,species,height\n1,2,a,3\n1,2,b,4\n", "target: [species, height], task: classification", "bad.csv: classification takes one target column; got 2: column 3 ('species'), column 4 ('height')")]
    [InlineData("1 2 3\n4 5 6\n", "target: [0, 2], task: classification", "bad.csv: classification takes one target column; got 2: column 1, column 3")]
    [InlineData("width,length,species,height\n1,2,a,3\n", "target: [height, size]", "bad.csv: unknown target column 'size' (columns: width, length, species, height)")]
    public void Malformed_tables_name_file_line_and_column(string content, string keys, string expected)
    {
        using var temp = new TempDirectory();
        File.WriteAllText(Path.Combine(temp.Path, "bad.csv"), content);
        var config = Config(temp, $"dataset: {{kind: table, path: bad.csv, {keys}}}");
        var e = Assert.Throws<DataFormatException>(() => DataSetLoader.Load(config, null));
        Assert.EndsWith(expected, e.Message.Replace(temp.Path + Path.DirectorySeparatorChar, "", StringComparison.Ordinal));
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("dataset: {kind: table, target: y}", "dataset.path (the data file) is required")]
    [InlineData("dataset: {kind: table, path: d.csv}", "dataset.target (the target column's name or zero-based index) is required")]
    [InlineData("dataset: {kind: tabel, path: d.csv, target: y}", "kind 'tabel' is not table")]
    [InlineData("dataset: {path: d.csv, target: y}", "a dataset mapping needs kind: table")]
    [InlineData("dataset: {kind: table, path: d.csv, target: y, colour: red}", "unknown key 'colour' in the dataset mapping")]
    [InlineData("dataset: {kind: table, path: d.csv, target: y, task: ranking}", "task 'ranking' is not regression or classification")]
    [InlineData("dataset: {kind: table, path: d.csv, target: y, test_proportion: 1.5}", "must lie strictly between 0 and 1")]
    public void Bad_table_mappings_are_configuration_errors(string yaml, string expected)
    {
        using var temp = new TempDirectory();
        var e = Assert.Throws<ConfigException>(() => Config(temp, yaml));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_table_file_lists_where_it_was_looked_for()
    {
        using var temp = new TempDirectory();
        var config = Config(temp, "dataset: {kind: table, path: nowhere.csv, target: 0}");
        var e = Assert.Throws<DataNotFoundException>(() => DataSetLoader.Load(config, temp.Sub("data")));
        Assert.Contains("dataset.path 'nowhere.csv' was not found", e.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(temp.Path, "data", "nowhere.csv"), e.Message, StringComparison.Ordinal);
        Assert.Contains("the configuration's folder", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_relative_table_path_is_found_under_the_data_dir_first()
    {
        using var temp = new TempDirectory();
        string data = temp.Sub("data", "sub");
        File.WriteAllLines(Path.Combine(data, "d.txt"), Enumerable.Range(0, 60).Select(i => string.Create(Inv, $"{i} {i % 4}")));
        var config = Config(temp, "dataset: {kind: table, path: sub/d.txt, target: 1}");
        Assert.Equal(Path.Combine(temp.Path, "data", "sub", "d.txt"), DataSetLoader.ResolveTablePath("sub/d.txt", "dataset.path", config.Source, Path.Combine(temp.Path, "data"), _ => null));
        string nested = Path.Combine(temp.Path, "data", "sub", "d.txt");
        Assert.Equal(nested, Path.GetFullPath(DataSetLoader.ResolveTablePath("sub/d.txt", "dataset.path", config.Source, data, _ => null)));
        Assert.Throws<DataNotFoundException>(() => DataSetLoader.ResolveTablePath("sub/d.txt", "dataset.path", config.Source, temp.Sub("other", "sup"), _ => null));
        Assert.Equal(60, DataSetLoader.Load(config, Path.Combine(temp.Path, "data")) is var d ? d.Train.Count + d.Validation.Count + d.Test.Count : 0);
    }

    [Fact]
    public void The_name_form_hashes_as_before_and_the_mapping_form_round_trips()
    {
        using var temp = new TempDirectory();
        // Today's uci-energy configuration (the name form): its canonical YAML, and so its hash, must not change.
        var named = Config(temp, "dataset: uci-energy\nnetwork_weight_steps: 10\nhyperparameter_steps: 400\nbatch_size: 0\nlr: -2.0\nmodel:\n  layer_sizes: [8, 50, 1]\n  activation: relu");
        Assert.StartsWith("dataset: uci-energy\nalgorithm: random\n", named.ToYaml().ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Null(named.Table);
        Assert.Equal(ExpectedNamedHash, named.Sha256());

        var table = Config(temp, "dataset:\n  kind: table\n  name: mine\n  path: 'it''s.csv'\n  target: [species]\n  task: classification\n  features: [width, length]\n  test_size: 8\n  validation_size: 10\n  seed: 4\nmodel:\n  layer_sizes: [2, 5, 3]");
        string yaml = table.ToYaml();
        Assert.Contains("dataset:\n  kind: table\n  name: 'mine'\n  path: 'it''s.csv'\n  target: ['species']\n  task: classification\n  features: ['width', 'length']\n", yaml.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(temp.Path, "again.yaml"), yaml);
        var again = TrainingConfig.Load(Path.Combine(temp.Path, "again.yaml"));
        Assert.Equal(yaml, again.ToYaml());
        Assert.Equal(table.Sha256(), again.Sha256());
        Assert.Equal("table:mine", again.DataSet);
        Assert.Equal(table.Table, again.Table! with { Target = table.Table!.Target, Features = table.Table.Features });
    }

    // SHA-256 of the canonical YAML of the name-form configuration above, as every earlier version wrote it.
    private const string ExpectedNamedHash = "00e179893418f54fd8f6f8acd3a8f1672d444256bfafd666acba0d7cf933f2aa";

    [Fact]
    public void Set_overrides_a_table_key_and_a_name_replaces_the_table()
    {
        using var temp = new TempDirectory();
        string path = Path.Combine(temp.Path, "c.yaml");
        File.WriteAllText(path, "dataset: {kind: table, path: d.csv, target: y, test_size: 5}\n");
        var config = TrainingConfig.Load(path, ["dataset.test_size=9", "dataset.seed=3"]);
        Assert.Equal(9, config.Table!.TestSize);
        Assert.Equal(3, config.Table.Seed);

        var named = TrainingConfig.Load(path, ["dataset=uci-energy"]);
        Assert.Null(named.Table);
        Assert.Equal("uci-energy", named.DataSet);

        File.WriteAllText(path, "dataset: uci-energy\n");
        var e = Assert.Throws<ConfigException>(() => TrainingConfig.Load(path, ["dataset.test_size=9"]));
        Assert.Contains("needs a dataset mapping", e.Message, StringComparison.Ordinal);
    }
}
