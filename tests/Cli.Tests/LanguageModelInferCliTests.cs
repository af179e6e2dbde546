using System.Globalization;
using System.Text.Json;
using OnePass.Export.Tests;
using OnePass.Training.Checkpoints;

namespace OnePass.Cli.Tests;

/// <summary>
/// `onepass export` and `onepass infer` on a small LSTM language model: a text file's perplexity and a prompt's greedy
/// continuation agree with the engine's; bad input is one line and exit code 1.
/// </summary>
public sealed class LanguageModelInferCliTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly string dir = OnePassProcess.TempDir();

    private static readonly float[] Weights = TinyLanguageModel.Weights(seed: 11);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    // A run folder holding the checkpoint, exported through the CLI; returns the ONNX file.
    private string Export(string[]? vocabulary, string name = "run")
    {
        string run = Path.Combine(dir, name);
        TinyLanguageModel.Checkpoint(Weights, vocabulary).Save(Path.Combine(run, Checkpoint.FileName));
        var r = OnePassProcess.Run("export", "--run", run);
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        // The vocabulary is summarised on one line, not listed word by word.
        Assert.Contains($"vocabulary = 50 words ({string.Join(' ', vocabulary!.Take(8))} …)", r.StdOut);
        Assert.True(r.StdOut.Split('\n').Length < 40, r.StdOut);
        Assert.Contains("LSTM language model: vocabulary 50, embedding 10, 2x8 LSTM trained on ptb", r.StdOut);
        return Path.Combine(run, "model.onnx");
    }

    private string Text(string name, params string[] lines)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static readonly string[] Lines =
    [
        "w3 w17 w5 w5 w40 w2 w9",
        "w11 w3 zebra w21 w33 w8 w8 w8 w19 w44 w6",
        "",
        "  w12\tw13 w14 w15 w16 w17 w18 w49 w48 w47  ",
        "w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 w20 w21",
    ];

    // The ids the reader should produce: each line's words, then <eos> (id 0); "zebra" is <unk> (id 1).
    private static int[] ExpectedIds() => Lines.SelectMany(line => line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
        .Select(w => w == "zebra" ? 1 : int.Parse(w[1..], CultureInfo.InvariantCulture)).Append(0)).ToArray();

    private void AssertOneLineUserError(OnePassProcess.Result r, params string[] fragments)
    {
        output.WriteLine(r.StdErr.Trim());
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}: {r.StdOut}{r.StdErr}");
        string error = r.StdErr.Trim();
        Assert.DoesNotContain('\n', error);
        Assert.StartsWith("onepass: ", error);
        foreach (string f in fragments)
        {
            Assert.Contains(f, error);
        }
    }

    [Fact]
    public void InferScoresATextFileWithTheEnginesCrossEntropyAndPerplexity()
    {
        string model = Export(TinyLanguageModel.Words());
        string text = Text("text.txt", Lines);
        int[] ids = ExpectedIds();
        double engine = TinyLanguageModel.EngineMeanCrossEntropy(Weights, ids);

        // Seven tokens a call: the file goes through in chunks, the states passed along.
        var r = OnePassProcess.Run("infer", "--model", model, "--input", text, "--provider", "cpu", "--json", "--batch", "7");
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        using var json = JsonDocument.Parse(r.StdOut);
        var root = json.RootElement;
        Assert.Equal(ids.Length, root.GetProperty("tokens").GetInt32());
        Assert.Equal(ids.Length - 1, root.GetProperty("predictions").GetInt32());
        Assert.Equal(1, root.GetProperty("unknown_words").GetInt32());
        double crossEntropy = root.GetProperty("mean_cross_entropy").GetDouble();
        Assert.True(Math.Abs(crossEntropy - engine) < 1e-4, $"ONNX Runtime {crossEntropy} vs engine {engine}");
        Assert.True(Math.Abs(root.GetProperty("perplexity").GetDouble() - Math.Exp(engine)) < 1e-3 * Math.Exp(engine));
        // Far from uniform guessing, or the comparison would say little.
        Assert.True(Math.Abs(crossEntropy - Math.Log(TinyLanguageModel.Vocabulary)) > 0.05, $"cross-entropy {crossEntropy}");

        var plain = OnePassProcess.Run("infer", "--model", model, "--input", text, "--provider", "cpu");
        output.WriteLine(r.StdOut + plain.StdOut + plain.StdErr);
        Assert.True(plain.ExitCode == 0, plain.StdOut + plain.StdErr);
        Assert.Contains($"perplexity", plain.StdOut);
        Assert.Contains(Math.Exp(crossEntropy).ToString("F2", CultureInfo.InvariantCulture), plain.StdOut);
        Assert.Contains("1 word(s) not in the vocabulary were scored as <unk>", plain.StdOut);
    }

    [Fact]
    public void InferContinuesAPromptByGreedyDecodingAsTheEngineDoes()
    {
        string model = Export(TinyLanguageModel.Words());
        int[] prompt = [3, 17, 5, 40];
        int[] expected = TinyLanguageModel.EngineGreedy(Weights, prompt, 15);
        string[] words = TinyLanguageModel.Words();

        var r = OnePassProcess.Run("infer", "--model", model, "--prompt", "w3 w17  w5 w40", "--generate", "15", "--provider", "cpu");
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        output.WriteLine(r.StdOut + r.StdErr);
        Assert.Equal(string.Join(' ', expected.Select(id => words[id])), r.StdOut.Trim());
        // Not a constant: the continuation uses more than one word.
        Assert.True(expected.Distinct().Count() > 1, string.Join(' ', expected));

        var json = OnePassProcess.Run("infer", "--model", model, "--prompt", "w3 w17 w5 w40", "--generate", "15", "--provider", "cpu", "--json");
        Assert.True(json.ExitCode == 0, json.StdOut + json.StdErr);
        using var doc = JsonDocument.Parse(json.StdOut);
        Assert.Equal(expected, doc.RootElement.GetProperty("generated_ids").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void BadLanguageModelInputIsOneLineAndExitCode1()
    {
        // Without <unk> in the vocabulary, a word outside it is an error naming the file, the line and the word.
        string strict = Export(TinyLanguageModel.Words(withUnknown: false), "strict");
        string text = Text("unknown.txt", "w3 w4", "w5 zebra w6");
        AssertOneLineUserError(OnePassProcess.Run("infer", "--model", strict, "--input", text, "--provider", "cpu"), "unknown.txt", "line 2", "'zebra'");
        AssertOneLineUserError(OnePassProcess.Run("infer", "--model", strict, "--prompt", "w3 zebra", "--provider", "cpu"), "--prompt", "'zebra'");

        string model = Export(TinyLanguageModel.Words());
        AssertOneLineUserError(OnePassProcess.Run("infer", "--model", model, "--input", Text("empty.txt"), "--provider", "cpu"), "empty.txt", "empty");
        AssertOneLineUserError(OnePassProcess.Run("infer", "--model", model, "--input", Path.Combine(dir, "missing.txt"), "--provider", "cpu"), "missing.txt", "not found");
        AssertOneLineUserError(OnePassProcess.Run("infer", "--model", model, "--prompt", "w3", "--generate", "0", "--provider", "cpu"), "--generate 0");
        AssertOneLineUserError(OnePassProcess.Run("infer", "--model", model, "--prompt", "   ", "--provider", "cpu"), "--prompt", "no word");
        AssertOneLineUserError(OnePassProcess.Run("infer", "--model", model, "--prompt", "w3", "--input", text, "--provider", "cpu"), "exactly one of --input");
        AssertOneLineUserError(OnePassProcess.Run("infer", "--model", model, "--input", text, "--labels", text, "--provider", "cpu"), "--labels");
        AssertOneLineUserError(OnePassProcess.Run("infer", "--model", model, "--input", text, "--generate", "3", "--provider", "cpu"), "--generate goes with --prompt");

        // The language-model options on a model that is not one.
        string mlpRun = Path.Combine(dir, "mlp");
        var mlp = new CheckpointHeader
        {
            OnePassVersion = "test", DataSet = "table:test", Task = "regression", LayerSizes = [3, 2], Activation = "relu", Loss = "mse",
            InputMean = new float[3], InputStd = [1f, 1f, 1f], TargetStd = [1f],
        };
        new Checkpoint(mlp, new float[8]).Save(Path.Combine(mlpRun, Checkpoint.FileName));
        Assert.Equal(0, OnePassProcess.Run("export", "--run", mlpRun).ExitCode);
        AssertOneLineUserError(OnePassProcess.Run("infer", "--model", Path.Combine(mlpRun, "model.onnx"), "--prompt", "w3", "--provider", "cpu"), "--prompt goes with a language model", "is not one");

        // A language-model checkpoint without a vocabulary cannot be exported.
        string run = Path.Combine(dir, "novocab");
        TinyLanguageModel.Checkpoint(Weights, vocabulary: null).Save(Path.Combine(run, Checkpoint.FileName));
        AssertOneLineUserError(OnePassProcess.Run("export", "--run", run), Checkpoint.FileName, "no vocabulary");
        Assert.False(File.Exists(Path.Combine(run, "model.onnx")));
    }
}
