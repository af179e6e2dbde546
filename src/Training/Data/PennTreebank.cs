using System.Text;

namespace OnePass.Training.Data;

/// <summary>
/// Reads Mikolov's preprocessed Penn Treebank text (<c>ptb.train.txt</c>, <c>ptb.valid.txt</c>,
/// <c>ptb.test.txt</c>): UTF-8 text, one sentence a line. Every line is split on whitespace and
/// <see cref="EndOfSentence"/> is appended to it, so an empty line gives just <c>&lt;eos&gt;</c>.
/// Lines end at <c>\n</c>, <c>\r\n</c> or <c>\r</c>; a final line without a line break still counts,
/// and a line break at the end of the file does not start another line (as Python's text files,
/// which the reference reads, behave). Words are split on the characters Python's <c>str.split()</c>
/// treats as whitespace. <see cref="Unknown"/> is an ordinary word of the text (the files already
/// map rare words to it). A UTF-8 byte order mark at the start of a file is skipped.
/// </summary>
public static class PennTreebank
{
    /// <summary>Data set name.</summary>
    public const string Name = "ptb";

    /// <summary>The end-of-sentence token appended to every line.</summary>
    public const string EndOfSentence = "<eos>";

    /// <summary>The unknown-word token of Mikolov's text (an ordinary word as far as the reader is concerned).</summary>
    public const string Unknown = "<unk>";

    /// <summary>Training file name.</summary>
    public const string TrainFile = "ptb.train.txt";

    /// <summary>Validation file name.</summary>
    public const string ValidationFile = "ptb.valid.txt";

    /// <summary>Test file name.</summary>
    public const string TestFile = "ptb.test.txt";

    /// <summary>The three file names of a Penn Treebank folder: training, validation, test.</summary>
    public static IReadOnlyList<string> FileNames { get; } = [TrainFile, ValidationFile, TestFile];

    /// <summary>UTF-8 that throws on invalid bytes instead of substituting U+FFFD.</summary>
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Receives one token (a word or <see cref="EndOfSentence"/>) and its 1-based line number.</summary>
    private delegate void TokenHandler(ReadOnlySpan<char> token, int line);

    /// <summary>
    /// Loads <c>ptb.train.txt</c>, <c>ptb.valid.txt</c> and <c>ptb.test.txt</c> from
    /// <paramref name="directory"/>, with the vocabulary built from all three files (see <see cref="Load"/>).
    /// </summary>
    /// <exception cref="DataFormatException">
    /// The folder lacks one of the files (the message names every missing one), or a file is empty or not UTF-8.
    /// </exception>
    public static PtbCorpus LoadFolder(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var missing = FileNames.Where(f => !File.Exists(Path.Combine(directory, f))).ToList();
        if (missing.Count > 0)
        {
            throw new DataFormatException(
                directory,
                $"lacks {string.Join(", ", missing)} (a Penn Treebank folder holds {string.Join(", ", FileNames)}, "
                + "as in the data folder of Mikolov's simple-examples archive).");
        }

        return Load(
            Path.Combine(directory, TrainFile),
            Path.Combine(directory, ValidationFile),
            Path.Combine(directory, TestFile));
    }

    /// <summary>
    /// Loads three text files as the training, validation and test splits. The vocabulary holds
    /// the words of the training file in order of first appearance, then (by default) the words of
    /// the validation file and then of the test file not seen before, each in order of first
    /// appearance; <see cref="EndOfSentence"/> gets its id where it first occurs (at the end of the
    /// training file's first line). A path may be given for more than one split.
    /// </summary>
    /// <param name="trainPath">The training text; its words come first in the vocabulary.</param>
    /// <param name="validationPath">The validation text.</param>
    /// <param name="testPath">The test text.</param>
    /// <param name="vocabularyFromTrainOnly">
    /// Build the vocabulary from the training file alone; a word of the validation or test file
    /// that the training file lacks is then an error. The reference builds it from all three files
    /// (the default); with Mikolov's files both give the same 10 000 words.
    /// </param>
    /// <exception cref="DataFormatException">
    /// A file is missing, unreadable, not valid UTF-8, empty (no lines) or holds no word (blank lines
    /// only); or, with <paramref name="vocabularyFromTrainOnly"/>, a validation or test word is not in
    /// the training vocabulary (the message names the file, the line and the word).
    /// </exception>
    public static PtbCorpus Load(string trainPath, string validationPath, string testPath, bool vocabularyFromTrainOnly = false)
    {
        ArgumentNullException.ThrowIfNull(trainPath);
        ArgumentNullException.ThrowIfNull(validationPath);
        ArgumentNullException.ThrowIfNull(testPath);
        foreach (string path in new[] { trainPath, validationPath, testPath })
        {
            if (!File.Exists(path))
            {
                throw new DataFormatException(path, "file not found.");
            }
        }

        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var words = new List<string>();
        int[] train = Encode(trainPath, ids, words, grow: true, trainPath);
        int[] validation = Encode(validationPath, ids, words, grow: !vocabularyFromTrainOnly, trainPath);
        int[] test = Encode(testPath, ids, words, grow: !vocabularyFromTrainOnly, trainPath);
        return new PtbCorpus(words.AsReadOnly(), train, validation, test);
    }

    /// <summary>
    /// The number of tokens of a file (its words plus one <see cref="EndOfSentence"/> a line), with
    /// the same checks as <see cref="Load"/>.
    /// </summary>
    /// <exception cref="DataFormatException">The file is missing, unreadable, not valid UTF-8, empty or holds no word.</exception>
    public static int CountTokens(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text = ReadText(path);
        int count = 0;
        Scan(path, text, (_, _) => count++);
        return count;
    }

    /// <summary>Reads a file and maps its tokens to ids, adding new words when <paramref name="grow"/>.</summary>
    private static int[] Encode(string path, Dictionary<string, int> ids, List<string> words, bool grow, string trainPath)
    {
        string text = ReadText(path);
        var lookup = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        var tokens = new List<int>(text.Length / 5 + 16);
        Scan(path, text, (token, line) =>
        {
            if (!lookup.TryGetValue(token, out int id))
            {
                if (!grow)
                {
                    throw new DataFormatException(
                        path,
                        $"line {line}: the word '{token}' is not in the vocabulary of the training file {trainPath} "
                        + "(the vocabulary was built from the training file only; map the word to "
                        + $"{Unknown} or build the vocabulary from all files).");
                }

                id = words.Count;
                string word = token.ToString();
                ids.Add(word, id);
                words.Add(word);
            }

            tokens.Add(id);
        });
        return tokens.ToArray();
    }

    /// <summary>
    /// Calls <paramref name="handler"/> for every token of <paramref name="text"/> in order: the words
    /// of each line, then <see cref="EndOfSentence"/>. Throws when there is no line or no word.
    /// </summary>
    private static void Scan(string path, string text, TokenHandler handler)
    {
        if (text.Length == 0)
        {
            throw new DataFormatException(path, "is empty (no lines, so no tokens).");
        }

        long wordCount = 0;
        int line = 0;
        int position = 0;
        while (position < text.Length)
        {
            line++;
            int end = text.AsSpan(position).IndexOfAny('\n', '\r');
            int next;
            if (end < 0)
            {
                end = text.Length;
                next = text.Length;
            }
            else
            {
                end += position;
                next = end + 1;
                if (text[end] == '\r' && next < text.Length && text[next] == '\n')
                {
                    next++;
                }
            }

            var content = text.AsSpan(position, end - position);
            int i = 0;
            while (i < content.Length)
            {
                while (i < content.Length && IsSeparator(content[i]))
                {
                    i++;
                }

                int start = i;
                while (i < content.Length && !IsSeparator(content[i]))
                {
                    i++;
                }

                if (i > start)
                {
                    wordCount++;
                    handler(content[start..i], line);
                }
            }

            handler(EndOfSentence, line);
            position = next;
        }

        if (wordCount == 0)
        {
            throw new DataFormatException(path, $"holds {line} blank line{(line == 1 ? "" : "s")} and no word.");
        }
    }

    /// <summary>Whitespace as Python's <c>str.split()</c> sees it: Unicode white space and the separators U+001C..U+001F.</summary>
    private static bool IsSeparator(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';

    /// <summary>The file's text, decoded as strict UTF-8 without a leading byte order mark.</summary>
    private static string ReadText(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException e)
        {
            throw new DataFormatException(path, "file not found.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, $"cannot be read: {e.Message}", e);
        }

        int start = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        try
        {
            return StrictUtf8.GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException)
        {
            long offset = FirstInvalidUtf8(bytes, start);
            throw new DataFormatException(
                path,
                $"line {LineAt(bytes, offset)} (byte offset {offset}): invalid UTF-8; "
                + "the Penn Treebank text is plain ASCII/UTF-8 (is this the right file?).");
        }
    }

    /// <summary>The offset of the first byte that does not start or continue a valid UTF-8 sequence.</summary>
    private static long FirstInvalidUtf8(byte[] bytes, int start)
    {
        var rest = bytes.AsSpan(start);
        while (rest.Length > 0)
        {
            var status = System.Text.Rune.DecodeFromUtf8(rest, out _, out int consumed);
            if (status != System.Buffers.OperationStatus.Done)
            {
                return bytes.Length - rest.Length;
            }

            rest = rest[consumed..];
        }

        return bytes.Length;
    }

    /// <summary>The 1-based line (by the same line breaks as <see cref="Scan"/>) holding byte <paramref name="offset"/>.</summary>
    private static int LineAt(byte[] bytes, long offset)
    {
        int line = 1;
        for (long i = 0; i < offset && i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n' || (bytes[i] == (byte)'\r' && (i + 1 >= bytes.Length || bytes[i + 1] != (byte)'\n')))
            {
                line++;
            }
        }

        return line;
    }
}
