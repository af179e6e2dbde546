namespace OnePass.Training.Data;

/// <summary>
/// A word-level corpus read by <see cref="PennTreebank"/>: the vocabulary (word of each id, in the
/// order the words were first met) and the three splits as token-id streams, each line's words
/// followed by <see cref="PennTreebank.EndOfSentence"/>.
/// </summary>
/// <param name="Vocabulary">The word of each id: <c>Vocabulary[id]</c>.</param>
/// <param name="Train">Token ids of the training text, in reading order.</param>
/// <param name="Validation">Token ids of the validation text, in reading order.</param>
/// <param name="Test">Token ids of the test text, in reading order.</param>
public sealed record PtbCorpus(IReadOnlyList<string> Vocabulary, int[] Train, int[] Validation, int[] Test)
{
    /// <summary>Number of distinct words, the valid ids being <c>0 .. VocabularySize − 1</c>.</summary>
    public int VocabularySize => Vocabulary.Count;

    /// <summary>The id of <paramref name="word"/>, or −1 when it is not in the vocabulary.</summary>
    /// <remarks>A linear search: for occasional look-ups (a prompt, a test), not for whole texts.</remarks>
    public int IdOf(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        for (int id = 0; id < Vocabulary.Count; id++)
        {
            if (string.Equals(Vocabulary[id], word, StringComparison.Ordinal))
            {
                return id;
            }
        }

        return -1;
    }

    /// <summary>The words of <paramref name="ids"/> joined by single spaces (for messages and samples).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the vocabulary.</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var words = new string[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            if ((uint)id >= (uint)Vocabulary.Count)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(ids), id, $"Token id {id} at position {i} is outside the vocabulary of {Vocabulary.Count} words.");
            }

            words[i] = Vocabulary[id];
        }

        return string.Join(' ', words);
    }
}
