namespace OnePass.Training.Data;

/// <summary>
/// One batch of <see cref="TokenBatcher"/>: <see cref="Steps"/> consecutive time steps of all
/// <see cref="Sequences"/> parallel sequences, time-major. Element <c>[t, s]</c> (at
/// <c>t · Sequences + s</c>) of <see cref="Inputs"/> is the token of sequence <c>s</c> at step
/// <c>t</c>; the same element of <see cref="Targets"/> is the token that follows it. Token ids are
/// held as floats here, as every data set's rows are (exact up to 2²⁴, which <see cref="TokenStreamData"/> checks); the
/// engine converts them to int32 when it uploads a batch.
/// </summary>
/// <param name="Inputs">Input token ids, <c>[Steps, Sequences]</c>.</param>
/// <param name="Targets">Target token ids (each input's next token), <c>[Steps, Sequences]</c>.</param>
/// <param name="Steps">Time steps in this batch: the batcher's steps, or fewer for the last batch of a pass.</param>
/// <param name="Sequences">Parallel sequences.</param>
/// <param name="StartsPass">
/// Whether this is the first batch of a pass through the stream: carried recurrent states must be
/// reset to zero before it.
/// </param>
/// <param name="Pass">0-based pass through the stream this batch belongs to.</param>
/// <param name="Index">0-based index of this batch within its pass.</param>
public sealed record TokenBatch(float[] Inputs, float[] Targets, int Steps, int Sequences, bool StartsPass, int Pass, int Index)
{
    /// <summary>Tokens in the batch (and targets): <c>Steps · Sequences</c>.</summary>
    public int TokenCount => Steps * Sequences;
}

/// <summary>
/// Sequential batching of a token stream for truncated back-propagation through time, without
/// shuffling, laid out as the reference's <c>batchify</c> and <c>get_batch</c>: the stream of
/// length <c>L</c> is cut into <see cref="Sequences"/> parallel sequences of
/// <c>n = ⌊L / Sequences⌋</c> tokens each (sequence <c>s</c> holds tokens <c>s·n .. s·n + n − 1</c>;
/// the <c>L mod Sequences</c> tokens at the end of the stream are dropped). The time positions
/// <c>0 .. n − 2</c> (the last token of a sequence has no target) are cut into batches of
/// <see cref="Steps"/> positions starting at <c>0, Steps, 2·Steps, …</c>; the input at step
/// <c>t</c> of the batch starting at <c>i</c> is token <c>s·n + i + t</c>, its target token
/// <c>s·n + i + t + 1</c>. So consecutive batches continue each sequence where the previous batch
/// stopped, and the hidden states can carry over.
/// <para>
/// The last batch of a pass has <c>(n − 1) − i</c> steps, fewer than <see cref="Steps"/> unless
/// <c>Steps</c> divides <c>n − 1</c>, exactly as the reference's
/// <c>seq_len = min(bptt, len − 1 − i)</c>; so every token but a sequence's last is an input once
/// per pass. With <c>keepShortLastBatch: false</c> that batch is skipped instead, so that every
/// batch has the full shape (the dropped positions are then never trained on or scored).
/// </para>
/// <para>
/// <see cref="Next"/> cycles through the passes without end; after the last batch of a pass the
/// next call starts the following pass at position 0 and says so in
/// <see cref="TokenBatch.StartsPass"/>. Not thread-safe.
/// </para>
/// </summary>
public sealed class TokenBatcher
{
    private readonly int[] _tokens;
    private int _index;
    private int _pass;

    /// <summary>Creates the batcher over a copy of <paramref name="tokens"/>.</summary>
    /// <param name="tokens">The token stream (e.g. <see cref="PtbCorpus.Train"/>).</param>
    /// <param name="sequences">Parallel sequences (40 for the reference's training).</param>
    /// <param name="steps">Time steps per batch (70 for the reference's training).</param>
    /// <param name="keepShortLastBatch">
    /// Whether the last batch of a pass may be shorter than <paramref name="steps"/> (true, the
    /// reference's behaviour) or is skipped when it would be (false).
    /// </param>
    /// <param name="name">What the stream is (e.g. a split and its file), used in error messages.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sequences"/> or <paramref name="steps"/> is not positive.</exception>
    /// <exception cref="ArgumentException">
    /// The stream is shorter than one batch: fewer than <c>2 · sequences</c> tokens (each sequence
    /// needs an input and its target), or, with <paramref name="keepShortLastBatch"/> false, fewer
    /// than <c>(steps + 1) · sequences</c>.
    /// </exception>
    public TokenBatcher(ReadOnlySpan<int> tokens, int sequences = 40, int steps = 70, bool keepShortLastBatch = true, string? name = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequences);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        string what = string.IsNullOrWhiteSpace(name) ? "The token stream" : $"The token stream of {name}";
        long needed = keepShortLastBatch ? 2L * sequences : (steps + 1L) * sequences;
        if (tokens.Length < needed)
        {
            string shape = keepShortLastBatch
                ? $"{sequences} parallel sequences need at least {needed} tokens (2 each: an input and its target)"
                : $"{sequences} parallel sequences × {steps} full time steps need at least {needed} tokens ({steps + 1} each)";
            throw new ArgumentException(
                $"{what} has {tokens.Length} token{(tokens.Length == 1 ? "" : "s")}, fewer than one batch: {shape}. "
                + "Use a longer text or fewer sequences.",
                nameof(tokens));
        }

        Sequences = sequences;
        Steps = steps;
        SequenceLength = tokens.Length / sequences;
        int positions = SequenceLength - 1;
        BatchesPerPass = keepShortLastBatch ? (positions + steps - 1) / steps : positions / steps;
        _tokens = tokens[..(SequenceLength * sequences)].ToArray();
    }

    /// <summary>Parallel sequences (the batch dimension).</summary>
    public int Sequences { get; }

    /// <summary>Time steps of a full batch.</summary>
    public int Steps { get; }

    /// <summary>Tokens per sequence, <c>⌊L / Sequences⌋</c>.</summary>
    public int SequenceLength { get; }

    /// <summary>Batches in one pass through the stream.</summary>
    public int BatchesPerPass { get; }

    /// <summary>Input tokens in one pass: the sum of <see cref="TokenBatch.TokenCount"/> over its batches.</summary>
    public long TokensPerPass => (long)Sequences * Math.Min(SequenceLength - 1, (long)BatchesPerPass * Steps);

    /// <summary>The pass the next batch belongs to (0-based).</summary>
    public int Pass => _pass;

    /// <summary>The index within its pass of the next batch.</summary>
    public int NextIndex => _index;

    /// <summary>Returns the next batch (fresh arrays), starting the next pass after the last batch of one.</summary>
    public TokenBatch Next()
    {
        int start = _index * Steps;
        int steps = Math.Min(Steps, SequenceLength - 1 - start);
        var inputs = new float[steps * Sequences];
        var targets = new float[steps * Sequences];
        for (int s = 0; s < Sequences; s++)
        {
            int offset = s * SequenceLength + start;
            for (int t = 0; t < steps; t++)
            {
                inputs[t * Sequences + s] = _tokens[offset + t];
                targets[t * Sequences + s] = _tokens[offset + t + 1];
            }
        }

        var batch = new TokenBatch(inputs, targets, steps, Sequences, StartsPass: _index == 0, _pass, _index);
        if (++_index == BatchesPerPass)
        {
            _index = 0;
            _pass++;
        }

        return batch;
    }

    /// <summary>Returns to the first batch of pass 0.</summary>
    public void Reset()
    {
        _index = 0;
        _pass = 0;
    }
}
