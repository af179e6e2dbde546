using OnePass.Training.Backends;
using OnePass.Training.Graphs;
using OnePass.Training.Graphs.Ops;
using OnePass.Training.Models;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Backends;

/// <summary>
/// int32 data on the CPU backend: index buffers, the conversion of ids held as floats (exact only up to 2²⁴), labels and
/// ids reaching the graph as ints, and the argmax and correct-count calls against a host computation.
/// </summary>
public sealed class IndexBufferTests
{
    [Fact]
    public void Index_buffers_round_trip_copy_and_slice()
    {
        using var backend = new CpuBackend();
        int[] ids = [0, 7, 16777217, int.MaxValue, -5, 42];
        using var a = backend.AllocateIndices(ids.Length);
        using var b = backend.AllocateIndices(ids.Length);
        var zeros = new int[ids.Length];
        backend.Download(b, zeros);
        Assert.All(zeros, v => Assert.Equal(0, v));
        backend.Upload(ids, a);
        backend.Copy(a, b);
        var back = new int[ids.Length];
        backend.Download(b, back);
        Assert.Equal(ids, back);
        var slice = new int[3];
        backend.Download(a.Slice(1, 3), slice);
        Assert.Equal([7, 16777217, int.MaxValue], slice);
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Slice(4, 3));
        Assert.Throws<ArgumentException>(() => backend.Upload([1, 2], a));
    }

    [Fact]
    public void Ids_held_as_floats_convert_exactly_up_to_two_to_the_24()
    {
        var ids = new int[4];
        Indices.FromFloats([0f, 3f, 16777215f, 16777216f], ids, "ids");
        Assert.Equal([0, 3, 16777215, 16777216], ids);

        // 16777217 has no float of its own: stored as a float it is already 16777216 or 16777218, so anything above
        // 2^24 is refused rather than passed on as a neighbouring id.
        Assert.NotEqual(16777217, (int)(float)16777217);
        var one = new int[1];
        var above = Assert.Throws<ArgumentException>(() => Indices.FromFloats([16777218f], one, "the targets"));
        Assert.Contains("above 2^24", above.Message, StringComparison.Ordinal);
        Assert.Contains("the targets", above.Message, StringComparison.Ordinal);
        foreach (float bad in new[] { 2.5f, -1f, float.NaN, float.PositiveInfinity })
        {
            Assert.Throws<ArgumentException>(() => Indices.FromFloats([bad], one, "ids"));
        }
    }

    private static Model Classifier(int inputs, int classes)
    {
        var graph = new Graph();
        var x = graph.AddInput("x", Value.Batch, inputs);
        var target = graph.AddIndexTarget("target", Value.Batch);
        var w = graph.AddParameter("w", classes, inputs);
        var b = graph.AddParameter("b", classes);
        var logits = graph.Apply(new LinearOp(), "logits", x, w, b);
        var loss = graph.Apply(new SoftmaxCrossEntropyOp(), "loss", logits, target);
        return new Model(graph, x, target, logits, loss, LossKind.CrossEntropy, "classifier", new Dictionary<Value, ParameterInit>
        {
            [w] = new ParameterInit.Uniform(0.5f), [b] = new ParameterInit.Uniform(0.5f),
        });
    }

    [Fact]
    public void Labels_reach_the_graph_as_ints_and_large_ones_are_kept_exact_or_refused()
    {
        using var backend = new CpuBackend();
        var model = Classifier(2, 3);
        using var executor = new GraphExecutor(model, backend);
        Assert.True(model.Target.IsIndices);
        Assert.False(model.Input.IsIndices);

        // Int labels go through unchanged, even where a float could not hold them (the loss then rejects them).
        executor.SetBatch([1f, 2f, 3f, 4f], [2, 16777217], 2);
        var labels = new int[2];
        backend.Download(executor.IndexBuffer(model.Target), labels);
        Assert.Equal([2, 16777217], labels);
        using var weights = backend.Allocate(model.ParameterCount);
        var tooLarge = Assert.Throws<ArgumentException>(() => executor.Forward(weights));
        Assert.Contains("label 16777217 of row 1 is not a class index in [0, 3)", tooLarge.Message, StringComparison.Ordinal);

        // Float labels are converted, and refused above 2^24 or when not integers.
        executor.SetBatch([1f, 2f, 3f, 4f], [0f, 1f], 2);
        backend.Download(executor.IndexBuffer(model.Target), labels);
        Assert.Equal([0, 1], labels);
        Assert.Throws<ArgumentException>(() => executor.SetBatch([1f, 2f, 3f, 4f], [0f, 16777218f], 2));
        Assert.Throws<ArgumentException>(() => executor.SetBatch([1f, 2f, 3f, 4f], [0f, 0.5f], 2));
        Assert.Throws<ArgumentException>(() => executor.IndexBuffer(model.Input));
    }

    [Fact]
    public void A_float_value_cannot_feed_an_index_input()
    {
        var graph = new Graph();
        var ids = graph.AddInput("ids", Value.Batch, 3);
        var embedding = graph.AddParameter("embedding", 5, 2);
        var error = Assert.Throws<ArgumentException>(() => graph.Apply(new EmbeddingOp(), ids, embedding));
        Assert.Contains("int32 ids", error.Message, StringComparison.Ordinal);
        var labels = graph.AddIndexTarget("labels", Value.Batch);
        Assert.Throws<ArgumentException>(() => graph.Apply(new LinearOp(), labels, embedding));
    }

    // The host reference: the first index of the row's maximum, a NaN counting as the maximum (torch.argmax).
    internal static int HostArgMax(ReadOnlySpan<float> row)
    {
        for (int c = 0; c < row.Length; c++)
        {
            if (float.IsNaN(row[c]))
            {
                return c;
            }
        }

        int best = 0;
        for (int c = 1; c < row.Length; c++)
        {
            if (row[c] > row[best])
            {
                best = c;
            }
        }

        return best;
    }

    internal static float[] LogitsWithTiesAndNaNs(int rows, int classes, int seed)
    {
        var random = new Random(seed);
        var values = Enumerable.Range(0, rows * classes).Select(_ => (float)Math.Round((random.NextDouble() * 4) - 2, 1)).ToArray();
        for (int r = 0; r < rows; r++)
        {
            values[(r * classes) + ((r * 7) % classes)] = 10f;
            values[(r * classes) + ((r * 3) % classes)] = 10f;
            if (r % 5 == 4)
            {
                values[(r * classes) + (r % classes)] = float.NaN;
            }
        }

        return values;
    }

    [Theory]
    [InlineData(40, 7)]
    [InlineData(6, 1)]
    [InlineData(3, 300)]
    public void Argmax_and_correct_count_agree_with_the_host_with_ties_and_nans(int rows, int classes)
    {
        using var backend = new CpuBackend();
        float[] values = LogitsWithTiesAndNaNs(rows, classes, rows + classes);
        using var logits = backend.Allocate(values.Length);
        backend.Upload(values, logits);
        using var argmax = backend.AllocateIndices(rows);
        backend.ArgMax(logits, rows, classes, argmax);
        var actual = new int[rows];
        backend.Download(argmax, actual);
        int[] expected = Enumerable.Range(0, rows).Select(r => HostArgMax(values.AsSpan(r * classes, classes))).ToArray();
        Assert.Equal(expected, actual);
        Assert.Equal(expected, Enumerable.Range(0, rows).Select(r => System.Numerics.Tensors.TensorPrimitives.IndexOfMax<float>(values.AsSpan(r * classes, classes))).ToArray());

        var random = new Random(5);
        int[] labels = expected.Select(e => random.Next(3) == 0 ? (e + 1) % Math.Max(2, classes) : e).ToArray();
        labels[0] = -1; // an invalid label never matches
        using var labelBuffer = backend.AllocateIndices(rows);
        backend.Upload(labels, labelBuffer);
        Assert.Equal(expected.Zip(labels).Count(p => p.First == p.Second), backend.CountCorrect(logits, labelBuffer, rows, classes));
    }
}
