using System.Security.Cryptography;
using System.Text;
using OnePass.Training.Data;

namespace OnePass.Training.Tests.Data;

public sealed class PennTreebankTests
{
    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte order mark) to <paramref name="name"/> in <paramref name="folder"/>.</summary>
    private static string Write(string folder, string name, string text)
    {
        string path = Path.Combine(folder, name);
        File.WriteAllBytes(path, Encoding.UTF8.GetBytes(text));
        return path;
    }

    [Fact]
    public void Eos_ends_every_line_and_the_vocabulary_follows_first_appearance_train_then_valid_then_test()
    {
        using var temp = new TempDirectory();
        // Train: an empty line gives just <eos>; tabs and runs of spaces separate words; <unk> is a word.
        string train = Write(temp.Path, "train.txt", " a b\ta \n\n  c  <unk>\n");
        // Valid: no line break at the end; the last line still counts.
        string valid = Write(temp.Path, "valid.txt", "b d\ne");
        // Test: \r\n and a lone \r end lines too; a final \n starts no extra line.
        string test = Write(temp.Path, "test.txt", "e\r\nf\rg a\n");

        PtbCorpus corpus = PennTreebank.Load(train, valid, test);

        Assert.Equal(["a", "b", "<eos>", "c", "<unk>", "d", "e", "f", "g"], corpus.Vocabulary);
        Assert.Equal(9, corpus.VocabularySize);
        Assert.Equal([0, 1, 0, 2, 2, 3, 4, 2], corpus.Train);
        Assert.Equal([1, 5, 2, 6, 2], corpus.Validation);
        Assert.Equal([6, 2, 7, 2, 8, 0, 2], corpus.Test);
        Assert.Equal("a b a <eos> <eos> c <unk> <eos>", corpus.Decode(corpus.Train));
        Assert.Equal(2, corpus.IdOf("<eos>"));
        Assert.Equal(-1, corpus.IdOf("zzz"));
        Assert.Throws<ArgumentOutOfRangeException>(() => corpus.Decode([0, 9]));

        Assert.Equal(8, PennTreebank.CountTokens(train));
        Assert.Equal(5, PennTreebank.CountTokens(valid));
        Assert.Equal(7, PennTreebank.CountTokens(test));
    }

    [Fact]
    public void Vocabulary_from_the_training_file_only_maps_known_words_to_training_ids()
    {
        using var temp = new TempDirectory();
        string train = Write(temp.Path, "train.txt", "x y\nz\n");
        string valid = Write(temp.Path, "valid.txt", "z z x\n");
        string test = Write(temp.Path, "test.txt", "y\n\n");

        PtbCorpus corpus = PennTreebank.Load(train, valid, test, vocabularyFromTrainOnly: true);

        Assert.Equal(["x", "y", "<eos>", "z"], corpus.Vocabulary);
        Assert.Equal([3, 3, 0, 2], corpus.Validation);
        Assert.Equal([1, 2, 2], corpus.Test);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_word_missing_from_the_training_vocabulary_names_file_line_and_word(bool inTest)
    {
        using var temp = new TempDirectory();
        string train = Write(temp.Path, "train.txt", "the cat\n<unk> sat\n");
        string valid = Write(temp.Path, "valid.txt", inTest ? "the cat\n" : "the cat\n\nthe dog sat\n");
        string test = Write(temp.Path, "test.txt", inTest ? "sat\nthe <unk>\ncat sat dog\n" : "the\n");

        var e = Assert.Throws<DataFormatException>(() => PennTreebank.Load(train, valid, test, vocabularyFromTrainOnly: true));

        Assert.Equal(inTest ? test : valid, e.FilePath);
        Assert.StartsWith($"line 3: the word 'dog' is not in the vocabulary of the training file {train}", e.Problem);
        Assert.Contains("<unk>", e.Problem);

        // The default builds the vocabulary from all files, so the same files load.
        Assert.Equal("dog", PennTreebank.Load(train, valid, test).Vocabulary[^1]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void An_empty_file_is_an_error_naming_it(int which)
    {
        using var temp = new TempDirectory();
        string[] paths =
        [
            Write(temp.Path, "train.txt", "a b\n"),
            Write(temp.Path, "valid.txt", "b\n"),
            Write(temp.Path, "test.txt", "a\n"),
        ];
        File.WriteAllBytes(paths[which], []);

        var e = Assert.Throws<DataFormatException>(() => PennTreebank.Load(paths[0], paths[1], paths[2]));

        Assert.Equal(paths[which], e.FilePath);
        Assert.Equal("is empty (no lines, so no tokens).", e.Problem);
        Assert.StartsWith(paths[which] + ": ", e.Message);
    }

    [Fact]
    public void A_file_of_blank_lines_or_only_a_byte_order_mark_is_an_error()
    {
        using var temp = new TempDirectory();
        string blank = Write(temp.Path, "blank.txt", "\n  \n\t\n");
        var e = Assert.Throws<DataFormatException>(() => PennTreebank.CountTokens(blank));
        Assert.Equal(blank, e.FilePath);
        Assert.Equal("holds 3 blank lines and no word.", e.Problem);

        string bom = Path.Combine(temp.Path, "bom.txt");
        File.WriteAllBytes(bom, [0xEF, 0xBB, 0xBF]);
        e = Assert.Throws<DataFormatException>(() => PennTreebank.CountTokens(bom));
        Assert.Equal(bom, e.FilePath);
        Assert.Contains("is empty", e.Problem);
    }

    [Fact]
    public void A_leading_byte_order_mark_is_skipped_and_non_ascii_words_are_kept()
    {
        using var temp = new TempDirectory();
        string train = Path.Combine(temp.Path, "train.txt");
        File.WriteAllBytes(train, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("a café\u00a0b\n")]);

        PtbCorpus corpus = PennTreebank.Load(train, train, train);

        // U+00A0 is white space to Python's str.split(), and so here.
        Assert.Equal(["a", "café", "b", "<eos>"], corpus.Vocabulary);
        Assert.Equal(corpus.Train, corpus.Validation);
        Assert.Equal(corpus.Train, corpus.Test);
    }

    [Fact]
    public void Invalid_utf8_is_an_error_naming_file_line_and_byte_offset()
    {
        using var temp = new TempDirectory();
        string train = Write(temp.Path, "train.txt", "a b\n");
        string valid = Path.Combine(temp.Path, "valid.txt");
        File.WriteAllBytes(valid, [(byte)'a', (byte)'\n', (byte)'b', (byte)' ', 0xC3, 0x28, (byte)'\n']);

        var e = Assert.Throws<DataFormatException>(() => PennTreebank.Load(train, valid, train));

        Assert.Equal(valid, e.FilePath);
        Assert.StartsWith("line 2 (byte offset 4): invalid UTF-8", e.Problem);
    }

    [Fact]
    public void A_missing_file_is_an_error_naming_it()
    {
        using var temp = new TempDirectory();
        string train = Write(temp.Path, "train.txt", "a b\n");
        string missing = Path.Combine(temp.Path, "nowhere.txt");

        var e = Assert.Throws<DataFormatException>(() => PennTreebank.Load(train, train, missing));

        Assert.Equal(missing, e.FilePath);
        Assert.Equal("file not found.", e.Problem);
        Assert.Equal(missing, Assert.Throws<DataFormatException>(() => PennTreebank.CountTokens(missing)).FilePath);
    }

    [Fact]
    public void LoadFolder_reads_the_three_files_by_name_and_lists_the_missing_ones()
    {
        using var temp = new TempDirectory();
        Write(temp.Path, "ptb.train.txt", "t1 t2\n");
        Write(temp.Path, "ptb.valid.txt", "v1\n");

        var e = Assert.Throws<DataFormatException>(() => PennTreebank.LoadFolder(temp.Path));
        Assert.Equal(temp.Path, e.FilePath);
        Assert.StartsWith("lacks ptb.test.txt (a Penn Treebank folder holds ptb.train.txt, ptb.valid.txt, ptb.test.txt", e.Problem);

        Write(temp.Path, "ptb.test.txt", "s1 t1\n");
        PtbCorpus corpus = PennTreebank.LoadFolder(temp.Path);

        Assert.Equal(["t1", "t2", "<eos>", "v1", "s1"], corpus.Vocabulary);
        Assert.Equal([0, 1, 2], corpus.Train);
        Assert.Equal([3, 2], corpus.Validation);
        Assert.Equal([4, 0, 2], corpus.Test);

        File.Delete(Path.Combine(temp.Path, "ptb.train.txt"));
        File.Delete(Path.Combine(temp.Path, "ptb.test.txt"));
        e = Assert.Throws<DataFormatException>(() => PennTreebank.LoadFolder(temp.Path));
        Assert.StartsWith("lacks ptb.train.txt, ptb.test.txt (", e.Problem);
    }

    [RequiresSharedPtbFact]
    public void Real_validation_and_test_files_have_the_documented_counts_and_batch_as_the_reference()
    {
        string folder = SharedPtb.Directory()!;
        string valid = Path.Combine(folder, PennTreebank.ValidationFile);
        string test = Path.Combine(folder, PennTreebank.TestFile);

        // The shared files are the official ones the locator checks a download against.
        Assert.Equal(PtbLocator.OfficialFileSha256[PennTreebank.ValidationFile], Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(valid))));
        Assert.Equal(PtbLocator.OfficialFileSha256[PennTreebank.TestFile], Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(test))));

        // Train on the validation file, as a configuration may here (the training file is not shared).
        PtbCorpus corpus = PennTreebank.Load(valid, valid, test);

        Assert.Equal(73_760, corpus.Train.Length);
        Assert.Equal(73_760, corpus.Validation.Length);
        Assert.Equal(82_430, corpus.Test.Length);
        Assert.Equal(7_596, corpus.VocabularySize);
        Assert.Equal(73_760, PennTreebank.CountTokens(valid));
        Assert.Equal(3_370, corpus.Train.Count(id => id == corpus.IdOf("<eos>")));
        Assert.Equal("consumers may want to move their telephones a little closer to the tv set <eos>", corpus.Decode(corpus.Train.AsSpan(0, 15)));
        Assert.Contains("<unk>", corpus.Vocabulary);

        // The test file has words the validation file lacks.
        Assert.Throws<DataFormatException>(() => PennTreebank.Load(valid, valid, test, vocabularyFromTrainOnly: true));

        // Reference batching: 73 760 / 40 = 1 844 tokens a sequence, ⌈1 843 / 70⌉ = 27 batches, the last of 23 steps.
        var batcher = new TokenBatcher(corpus.Validation, sequences: 40, steps: 70);
        Assert.Equal(1_844, batcher.SequenceLength);
        Assert.Equal(27, batcher.BatchesPerPass);
        Assert.Equal(1_843L * 40, batcher.TokensPerPass);
        TokenBatch last = null!;
        for (int b = 0; b < 27; b++)
        {
            last = batcher.Next();
        }

        Assert.Equal(23, last.Steps);
        Assert.Equal(corpus.Validation[1_843], last.Targets[22 * 40]);
        Assert.Equal(corpus.Validation[39 * 1_844 + 1_843], last.Targets[22 * 40 + 39]);
        Assert.True(batcher.Next().StartsPass);

        // The shared folder lacks the training file: a strict --data-dir error that names it.
        var locator = new PtbLocator { GetEnvironmentVariable = _ => null, AllowDownload = false };
        var e = Assert.Throws<DataNotFoundException>(() => locator.Locate(folder));
        Assert.Contains($"{folder} lacks ptb.train.txt", e.Message);
    }
}
