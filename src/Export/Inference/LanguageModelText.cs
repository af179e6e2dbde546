namespace OnePass.Export;

/// <summary>A text as a language model's token ids, with the number of words that were mapped to <c>&lt;unk&gt;</c>.</summary>
public sealed record LanguageModelTokens(int[] Ids, int Unknown);

/// <summary>
/// Reads text for a language model the way the Penn Treebank reader does: each line's words (split on white space)
/// and then <see cref="EndOfSentence"/>. A word outside the vocabulary is an error naming the file, the line and the
/// word, unless the vocabulary has <see cref="UnknownWord"/>: then it is mapped to that and counted.
/// </summary>
public static class LanguageModelText
{
    /// <summary>The token appended to each line.</summary>
    public const string EndOfSentence = "<eos>";

    /// <summary>The unknown-word token of Mikolov's text.</summary>
    public const string UnknownWord = "<unk>";

    /// <summary>The tokens of the file at <paramref name="path"/>; throws <see cref="InputFormatException"/> for bad input.</summary>
    public static LanguageModelTokens ReadFile(string path, Func<string, int> idOf)
    {
        ArgumentNullException.ThrowIfNull(idOf);
        if (!File.Exists(path))
        {
            throw new InputFormatException(path, "file not found");
        }

        int unk = idOf(UnknownWord), eos = idOf(EndOfSentence);
        if (eos < 0)
        {
            throw new InputFormatException(path, $"the model's vocabulary has no '{EndOfSentence}', so a text file cannot be scored (its lines end with it)");
        }

        var ids = new List<int>();
        int unknown = 0, line = 0;
        bool anyWord = false;
        foreach (string text in File.ReadLines(path))
        {
            line++;
            foreach (string word in Words(text))
            {
                anyWord = true;
                int id = idOf(word);
                if (id < 0)
                {
                    if (unk < 0)
                    {
                        throw new InputFormatException(path, $"the word '{word}' is not in the model's vocabulary (which has no '{UnknownWord}' to map it to)", line);
                    }

                    id = unk;
                    unknown++;
                }

                ids.Add(id);
            }

            ids.Add(eos);
        }

        if (!anyWord)
        {
            throw new InputFormatException(path, line == 0 ? "is empty: no words to score" : $"holds {line} blank line(s) and no word to score");
        }

        return new LanguageModelTokens(ids.ToArray(), unknown);
    }

    /// <summary>
    /// The tokens of a prompt (its words; no <see cref="EndOfSentence"/> is added); throws <see cref="ArgumentException"/>
    /// naming <paramref name="field"/> for an empty prompt or a word outside the vocabulary (without <c>&lt;unk&gt;</c>).
    /// </summary>
    public static LanguageModelTokens ReadPrompt(string prompt, string field, Func<string, int> idOf)
    {
        ArgumentNullException.ThrowIfNull(idOf);
        var words = Words(prompt ?? string.Empty).ToList();
        if (words.Count == 0)
        {
            throw new ArgumentException($"{field} '{prompt}': holds no word to continue");
        }

        int unk = idOf(UnknownWord), unknown = 0;
        var ids = new int[words.Count];
        for (int k = 0; k < words.Count; k++)
        {
            ids[k] = idOf(words[k]);
            if (ids[k] < 0)
            {
                if (unk < 0)
                {
                    throw new ArgumentException($"{field}: the word '{words[k]}' is not in the model's vocabulary (which has no '{UnknownWord}' to map it to)");
                }

                ids[k] = unk;
                unknown++;
            }
        }

        return new LanguageModelTokens(ids, unknown);
    }

    private static IEnumerable<string> Words(string line) =>
        line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
}
