using OnePass.Training.Data;

namespace OnePass.Training.Tests.Data;

public sealed class TokenBatcherTests
{
    /// <summary>Token <c>i</c> of the test stream is <c>100 + i</c>, so a value shows its stream position.</summary>
    private static int[] Stream(int length) => Enumerable.Range(100, length).ToArray();

    [Fact]
    public void Layout_of_26_tokens_in_3_sequences_of_4_steps_is_time_major_and_continues_each_sequence()
    {
        // 26 tokens / 3 sequences = 8 tokens each (tokens 124 and 125 are dropped):
        // sequence 0 = 100..107, sequence 1 = 108..115, sequence 2 = 116..123.
        // Positions 0..6 have targets: a batch of 4 steps, then the last batch of 3.
        var batcher = new TokenBatcher(Stream(26), sequences: 3, steps: 4);

        Assert.Equal(3, batcher.Sequences);
        Assert.Equal(4, batcher.Steps);
        Assert.Equal(8, batcher.SequenceLength);
        Assert.Equal(2, batcher.BatchesPerPass);
        Assert.Equal(21, batcher.TokensPerPass);

        TokenBatch first = batcher.Next();
        Assert.Equal(4, first.Steps);
        Assert.Equal(3, first.Sequences);
        Assert.Equal(12, first.TokenCount);
        Assert.True(first.StartsPass);
        Assert.Equal(0, first.Pass);
        Assert.Equal(0, first.Index);
        Assert.Equal(
            [
                100, 108, 116, // t = 0: sequences 0, 1, 2
                101, 109, 117,
                102, 110, 118,
                103, 111, 119,
            ],
            first.Inputs);
        Assert.Equal(
            [
                101, 109, 117,
                102, 110, 118,
                103, 111, 119,
                104, 112, 120,
            ],
            first.Targets);

        TokenBatch second = batcher.Next();
        Assert.Equal(3, second.Steps);
        Assert.Equal(9, second.TokenCount);
        Assert.False(second.StartsPass);
        Assert.Equal(0, second.Pass);
        Assert.Equal(1, second.Index);
        Assert.Equal(
            [
                104, 112, 120,
                105, 113, 121,
                106, 114, 122,
            ],
            second.Inputs);
        Assert.Equal(
            [
                105, 113, 121,
                106, 114, 122,
                107, 115, 123,
            ],
            second.Targets);
    }

    [Fact]
    public void After_the_last_batch_the_next_pass_starts_and_says_so_and_Reset_returns_to_pass_0()
    {
        var batcher = new TokenBatcher(Stream(26), sequences: 3, steps: 4);
        TokenBatch a = batcher.Next();
        batcher.Next();

        Assert.Equal(1, batcher.Pass);
        Assert.Equal(0, batcher.NextIndex);
        TokenBatch again = batcher.Next();
        Assert.True(again.StartsPass);
        Assert.Equal(1, again.Pass);
        Assert.Equal(0, again.Index);
        Assert.Equal(a.Inputs, again.Inputs);
        Assert.Equal(a.Targets, again.Targets);
        Assert.NotSame(a.Inputs, again.Inputs);

        TokenBatch b = batcher.Next();
        Assert.False(b.StartsPass);
        Assert.Equal(1, b.Pass);
        Assert.Equal(3, b.Steps);
        Assert.True(batcher.Next().StartsPass);
        Assert.Equal(2, batcher.Pass);
        Assert.Equal(1, batcher.NextIndex);
        batcher.Reset();
        Assert.Equal(0, batcher.Pass);
        Assert.Equal(0, batcher.NextIndex);
        TokenBatch reset = batcher.Next();
        Assert.True(reset.StartsPass);
        Assert.Equal(0, reset.Pass);
        Assert.Equal(a.Inputs, reset.Inputs);
    }

    [Fact]
    public void Without_the_short_last_batch_every_batch_is_full_and_each_starts_a_pass_when_there_is_one()
    {
        var batcher = new TokenBatcher(Stream(26), sequences: 3, steps: 4, keepShortLastBatch: false);

        Assert.Equal(1, batcher.BatchesPerPass);
        Assert.Equal(12, batcher.TokensPerPass);
        for (int pass = 0; pass < 3; pass++)
        {
            TokenBatch batch = batcher.Next();
            Assert.Equal(4, batch.Steps);
            Assert.True(batch.StartsPass);
            Assert.Equal(pass, batch.Pass);
            Assert.Equal([100f, 108, 116, 101, 109, 117, 102, 110, 118, 103, 111, 119], batch.Inputs);
        }
    }

    [Fact]
    public void When_the_steps_divide_the_positions_all_batches_are_full()
    {
        // 2 sequences of 7 tokens: positions 0..5, two batches of 3 steps.
        var batcher = new TokenBatcher(Stream(15), sequences: 2, steps: 3);

        Assert.Equal(7, batcher.SequenceLength);
        Assert.Equal(2, batcher.BatchesPerPass);
        TokenBatch first = batcher.Next();
        TokenBatch second = batcher.Next();
        Assert.Equal(3, second.Steps);
        Assert.Equal([100f, 107, 101, 108, 102, 109], first.Inputs);
        Assert.Equal([103f, 110, 104, 111, 105, 112], second.Inputs);
        Assert.Equal([104f, 111, 105, 112, 106, 113], second.Targets);
    }

    [Fact]
    public void The_smallest_stream_gives_one_batch_of_one_step()
    {
        var batcher = new TokenBatcher(Stream(7), sequences: 3, steps: 70);

        Assert.Equal(2, batcher.SequenceLength);
        Assert.Equal(1, batcher.BatchesPerPass);
        TokenBatch batch = batcher.Next();
        Assert.Equal(1, batch.Steps);
        Assert.Equal([100f, 102, 104], batch.Inputs);
        Assert.Equal([101f, 103, 105], batch.Targets);
        Assert.True(batcher.Next().StartsPass);
    }

    [Fact]
    public void A_stream_shorter_than_one_batch_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentException>(() => new TokenBatcher(Stream(79), sequences: 40, steps: 70));
        Assert.StartsWith(
            "The token stream has 79 tokens, fewer than one batch: 40 parallel sequences need at least 80 tokens "
            + "(2 each: an input and its target).",
            e.Message);

        e = Assert.Throws<ArgumentException>(() => new TokenBatcher(Stream(1), sequences: 1, steps: 70, name: "the validation split (valid.txt)"));
        Assert.StartsWith("The token stream of the validation split (valid.txt) has 1 token, fewer than one batch", e.Message);

        e = Assert.Throws<ArgumentException>(() => new TokenBatcher(Stream(14), sequences: 3, steps: 4, keepShortLastBatch: false));
        Assert.Contains("3 parallel sequences × 4 full time steps need at least 15 tokens (5 each)", e.Message);
        Assert.Equal(1, new TokenBatcher(Stream(15), sequences: 3, steps: 4, keepShortLastBatch: false).BatchesPerPass);

        Assert.Throws<ArgumentException>(() => new TokenBatcher([], sequences: 1, steps: 1));
    }

    [Theory]
    [InlineData(0, 4)]
    [InlineData(-1, 4)]
    [InlineData(3, 0)]
    public void Sequences_and_steps_must_be_positive(int sequences, int steps)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBatcher(Stream(26), sequences, steps));
    }

    [Fact]
    public void The_batcher_copies_the_stream()
    {
        int[] tokens = Stream(26);
        var batcher = new TokenBatcher(tokens, sequences: 3, steps: 4);
        tokens[0] = 7;

        Assert.Equal(100f, batcher.Next().Inputs[0]);
    }
}
