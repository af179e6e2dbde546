using OnePass.Training.Backends;
using OnePass.Training.Tensors;

namespace OnePass.Training.Tests.Backends;

/// <summary>
/// The CPU SGD-with-momentum step, for every mix of scalar and per-weight learning rate, weight decay and momentum,
/// against a double-precision loop of the rule in ALGORITHM.md: b ← μ b + g + ξ w; w ← w − η b.
/// Lengths are chosen to exercise both the SIMD body and the scalar tail.
/// </summary>
public sealed class CpuSgdStepTests
{
    public static TheoryData<bool, bool, bool, int> Cases()
    {
        var data = new TheoryData<bool, bool, bool, int>();
        foreach (int n in new[] { 3, 37, 1024 })
        {
            for (int mask = 0; mask < 8; mask++)
            {
                data.Add((mask & 1) != 0, (mask & 2) != 0, (mask & 4) != 0, n);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void StepMatchesTheDoublePrecisionRule(bool perWeightLr, bool perWeightWd, bool perWeightMu, int n)
    {
        var random = new Random(n * 8 + (perWeightLr ? 1 : 0) + (perWeightWd ? 2 : 0) + (perWeightMu ? 4 : 0));
        float[] Draw(float lo, float hi) => Enumerable.Range(0, n).Select(_ => lo + ((hi - lo) * random.NextSingle())).ToArray();
        float[] w = Draw(-1, 1), g = Draw(-1, 1), b = Draw(-1, 1);
        float[] lr = Draw(1e-3f, 0.3f), wd = Draw(1e-6f, 1e-2f), mu = Draw(0f, 0.99f);
        const float lrS = 0.05f, wdS = 3e-4f, muS = 0.8f;

        using var backend = new CpuBackend();
        using var dw = backend.Allocate(n);
        using var dg = backend.Allocate(n);
        using var db = backend.Allocate(n);
        using var dlr = backend.Allocate(n);
        using var dwd = backend.Allocate(n);
        using var dmu = backend.Allocate(n);
        backend.Upload(w, dw);
        backend.Upload(g, dg);
        backend.Upload(b, db);
        backend.Upload(lr, dlr);
        backend.Upload(wd, dwd);
        backend.Upload(mu, dmu);

        // Two steps, so that the velocity written by the first feeds the second.
        for (int step = 0; step < 2; step++)
        {
            backend.SgdMomentumStep(dw, dg, db,
                perWeightLr ? HyperValue.Of(dlr) : HyperValue.Of(lrS),
                perWeightWd ? HyperValue.Of(dwd) : HyperValue.Of(wdS),
                perWeightMu ? HyperValue.Of(dmu) : HyperValue.Of(muS));
        }

        double[] ew = w.Select(x => (double)x).ToArray(), eb = b.Select(x => (double)x).ToArray();
        for (int step = 0; step < 2; step++)
        {
            for (int i = 0; i < n; i++)
            {
                double eta = perWeightLr ? lr[i] : lrS, xi = perWeightWd ? wd[i] : wdS, m = perWeightMu ? mu[i] : muS;
                eb[i] = (m * eb[i]) + g[i] + (xi * ew[i]);
                ew[i] -= eta * eb[i];
            }
        }

        float[] gotW = new float[n], gotB = new float[n], gotG = new float[n];
        backend.Download(dw, gotW);
        backend.Download(db, gotB);
        backend.Download(dg, gotG);
        for (int i = 0; i < n; i++)
        {
            Assert.True(Math.Abs(gotW[i] - ew[i]) <= 1e-5 * (1 + Math.Abs(ew[i])), $"w[{i}] = {gotW[i]}, expected {ew[i]}");
            Assert.True(Math.Abs(gotB[i] - eb[i]) <= 1e-5 * (1 + Math.Abs(eb[i])), $"b[{i}] = {gotB[i]}, expected {eb[i]}");
            Assert.Equal(g[i], gotG[i]);
        }
    }
}
