namespace OnePass.Training.Data;

/// <summary>
/// Turns a word-level corpus into a <see cref="DataSet"/> whose rows are time steps (see
/// <see cref="DataSet.Vocabulary"/>): each split's stream is cut into parallel sequences with
/// <see cref="TokenBatcher"/>'s layout (the reference's <c>batchify</c>), and one pass of its batches, concatenated,
/// gives the split's rows in order.
/// </summary>
public static class TokenStreamData
{
    /// <summary>Builds the data set of <paramref name="corpus"/> with <paramref name="sequences"/> parallel sequences.</summary>
    /// <param name="name">The data set's name.</param>
    /// <param name="corpus">Vocabulary and the three token streams.</param>
    /// <param name="sequences">Parallel sequences (the model's fixed batch width).</param>
    /// <param name="steps">Time steps per training batch: the training stream must hold at least one full batch.</param>
    /// <param name="files">What each split was read from (training, validation, test), for error messages.</param>
    /// <exception cref="DataFormatException">A split's stream is shorter than one batch.</exception>
    public static DataSet Build(string name, PtbCorpus corpus, int sequences, int steps, (string Train, string Validation, string Test) files)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (corpus.VocabularySize > Tensors.Indices.MaxExactFloatId + 1)
        {
            // The splits hold ids as floats, which are exact only up to 2^24: a larger vocabulary would round ids together.
            throw new DataFormatException(files.Train, $"has a vocabulary of {corpus.VocabularySize} words; at most {Tensors.Indices.MaxExactFloatId + 1} are supported (token ids are held as floats, exact up to 2^24)");
        }

        var train = Split(corpus.Train, sequences, steps, "training", files.Train, fullBatch: true);
        var validation = Split(corpus.Validation, sequences, steps, "validation", files.Validation, fullBatch: false);
        var test = Split(corpus.Test, sequences, steps, "test", files.Test, fullBatch: false);
        var identity = new Normalisation(new float[sequences], Enumerable.Repeat(1f, sequences).ToArray());
        return new DataSet(name, TaskKind.Classification, sequences, corpus.VocabularySize, train, validation, test, identity)
        {
            Vocabulary = corpus.Vocabulary,
        };
    }

    private static DataSplit Split(int[] tokens, int sequences, int steps, string split, string file, bool fullBatch)
    {
        TokenBatcher batcher;
        try
        {
            batcher = new TokenBatcher(tokens, sequences, steps, keepShortLastBatch: !fullBatch, name: $"the {split} split");
        }
        catch (ArgumentException e)
        {
            throw new DataFormatException(file, e.Message.Split(" (Parameter", 2)[0]);
        }

        int rows = (int)(batcher.TokensPerPass / sequences);
        var inputs = new float[(long)rows * sequences];
        var targets = new float[(long)rows * sequences];
        int at = 0;
        for (int b = 0; b < batcher.BatchesPerPass; b++)
        {
            var batch = batcher.Next();
            batch.Inputs.CopyTo(inputs, at);
            batch.Targets.CopyTo(targets, at);
            at += batch.Inputs.Length;
        }

        return new DataSplit(inputs, targets, rows, sequences, sequences);
    }

    /// <summary>
    /// Splits a token stream read from one file at a line boundary: the first <paramref name="share"/> of its lines
    /// (each ending in <paramref name="endOfSentence"/>) and the rest.
    /// </summary>
    public static (int[] First, int[] Remainder) SplitLines(int[] tokens, int endOfSentence, double share, string file)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        int lines = tokens.Count(t => t == endOfSentence);
        int firstLines = (int)Math.Round(share * lines);
        if (firstLines < 1 || firstLines >= lines)
        {
            throw new DataFormatException(file, $"has {lines} lines; a share of {share} leaves {firstLines} for validation and {lines - firstLines} for test (each needs at least one)");
        }

        int seen = 0, cut = 0;
        while (seen < firstLines)
        {
            if (tokens[cut++] == endOfSentence)
            {
                seen++;
            }
        }

        return (tokens[..cut], tokens[cut..]);
    }
}
