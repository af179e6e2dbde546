using OnePass.Training.Data;

namespace OnePass.Training.Tests.Data;

public sealed class BatchSamplerTests
{
    /// <summary>A split whose row i has inputs (i, −i) and target i, so rows are identifiable.</summary>
    private static DataSplit Split(int count)
    {
        var inputs = new float[count * 2];
        var targets = new float[count];
        for (int i = 0; i < count; i++)
        {
            inputs[2 * i] = i;
            inputs[2 * i + 1] = -i;
            targets[i] = i;
        }

        return new DataSplit(inputs, targets, count, 2, 1);
    }

    private static List<int[]> Draw(BatchSampler sampler, int batches)
    {
        var result = new List<int[]>();
        for (int b = 0; b < batches; b++)
        {
            Batch batch = sampler.Next();
            for (int r = 0; r < batch.Count; r++)
            {
                Assert.Equal(batch.Targets[r], batch.Inputs[2 * r]);
                Assert.Equal(-batch.Targets[r], batch.Inputs[2 * r + 1]);
            }

            result.Add(batch.Targets.Select(t => (int)t).ToArray());
        }

        return result;
    }

    [Fact]
    public void Same_seed_gives_the_same_batches()
    {
        var a = Draw(new BatchSampler(Split(20), 4, seed: 7), 12);
        var b = Draw(new BatchSampler(Split(20), 4, seed: 7), 12);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Different_seed_gives_a_different_order()
    {
        var a = Draw(new BatchSampler(Split(20), 4, seed: 7), 5).SelectMany(x => x);
        var b = Draw(new BatchSampler(Split(20), 4, seed: 8), 5).SelectMany(x => x);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Every_row_is_seen_once_per_epoch_and_epochs_reshuffle()
    {
        var sampler = new BatchSampler(Split(12), 4, seed: 1);
        Assert.Equal(3, sampler.BatchesPerEpoch);
        var epoch0 = Draw(sampler, 3).SelectMany(x => x).ToArray();
        Assert.Equal(0, sampler.Epoch);
        var epoch1 = Draw(sampler, 3).SelectMany(x => x).ToArray();
        Assert.Equal(1, sampler.Epoch);

        Assert.Equal(Enumerable.Range(0, 12), epoch0.Order());
        Assert.Equal(Enumerable.Range(0, 12), epoch1.Order());
        Assert.NotEqual(epoch0, epoch1);
    }

    [Fact]
    public void Batches_are_always_full_and_leftover_rows_start_a_new_epoch()
    {
        var sampler = new BatchSampler(Split(10), 4, seed: 3);
        Assert.Equal(2, sampler.BatchesPerEpoch);
        var epoch0 = Draw(sampler, 2).SelectMany(x => x).ToArray();
        Assert.Equal(8, epoch0.Distinct().Count());
        var next = Draw(sampler, 1)[0];
        Assert.Equal(4, next.Length);
        Assert.Equal(1, sampler.Epoch);
    }

    [Fact]
    public void Batch_size_at_least_the_row_count_gives_all_rows_in_stored_order_every_time()
    {
        var sampler = new BatchSampler(Split(5), 64, seed: 9);
        Assert.Equal(5, sampler.BatchSize);
        foreach (var batch in Draw(sampler, 3))
        {
            Assert.Equal([0, 1, 2, 3, 4], batch);
        }
    }

    [Fact]
    public void FromSplit_copies_a_contiguous_block()
    {
        Batch batch = Batch.FromSplit(Split(10), 3, 4);
        Assert.Equal(4, batch.Count);
        Assert.Equal([3f, 4f, 5f, 6f], batch.Targets);
        Assert.Equal([3f, -3f, 4f, -4f, 5f, -5f, 6f, -6f], batch.Inputs);
        Assert.Throws<ArgumentOutOfRangeException>(() => Batch.FromSplit(Split(10), 8, 3));
    }
}
