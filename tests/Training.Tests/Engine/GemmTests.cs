using OnePass.Training.Backends;

namespace OnePass.Training.Tests.Engine;

/// <summary>The CPU SGEMM against a naive double-precision product, for every transpose and awkward sizes.</summary>
public sealed class GemmTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 5, 3)]
    [InlineData(50, 50, 784)]
    [InlineData(50, 784, 50)]
    [InlineData(13, 300, 270)]
    [InlineData(131, 97, 600)]
    // Few rows (the paths that read B in place): ragged tiles in every dimension, k with and without a 16-lane tail,
    // k < 16, several k blocks, and the largest and one past the largest row count that takes those paths.
    [InlineData(40, 130, 70)]
    [InlineData(6, 33, 16)]
    [InlineData(1, 5, 17)]
    [InlineData(5, 70, 300)]
    [InlineData(11, 64, 9)]
    [InlineData(64, 97, 45)]
    [InlineData(65, 40, 20)]
    [InlineData(13, 37, 600)]
    // The blocked path with A read in place: rows one short of and one past a 6-row tile, k at and past a 256 block.
    [InlineData(71, 33, 256)]
    [InlineData(67, 64, 513)]
    [InlineData(96, 31, 257)]
    // Few rows but more than 512 columns (blocked rather than streamed), fewer rows than one tile.
    [InlineData(5, 600, 40)]
    [InlineData(20, 530, 270)]
    public void MatchesNaiveProductForAllTransposes(int m, int n, int k)
    {
        var random = new Random(m * 31 + n * 7 + k);
        float[] a = Oracle.Normal(random, m * k), b = Oracle.Normal(random, k * n), c0 = Oracle.Normal(random, m * n);
        var backend = new CpuBackend();
        foreach (bool ta in new[] { false, true })
        {
            foreach (bool tb in new[] { false, true })
            {
                foreach (float beta in new[] { 0f, 0.5f })
                {
                    var expected = new double[m * n];
                    for (int i = 0; i < m; i++)
                    {
                        for (int j = 0; j < n; j++)
                        {
                            double s = 0;
                            for (int p = 0; p < k; p++)
                            {
                                s += (double)a[ta ? (p * m) + i : (i * k) + p] * b[tb ? (j * k) + p : (p * n) + j];
                            }

                            expected[(i * n) + j] = (1.5 * s) + (beta * c0[(i * n) + j]);
                        }
                    }

                    using var ba = backend.Allocate(a.Length);
                    using var bb = backend.Allocate(b.Length);
                    using var bc = backend.Allocate(c0.Length);
                    backend.Upload(a, ba);
                    backend.Upload(b, bb);
                    backend.Upload(beta == 0f ? Enumerable.Repeat(float.NaN, m * n).ToArray() : c0, bc);
                    backend.Gemm(ta, tb, m, n, k, 1.5f, ba, bb, beta, bc);
                    var result = new float[m * n];
                    backend.Download(bc, result);
                    double error = Oracle.RelativeError(result, expected);
                    Assert.True(error < 1e-5, $"m={m} n={n} k={k} ta={ta} tb={tb} beta={beta}: relative error {error:E2}");
                }
            }
        }
    }
}
