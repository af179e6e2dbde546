namespace OnePass.Export.Tests;

/// <summary>input [N,3] → Gemm(W[2,3], b[2], transB=1) → Relu → Softmax, built by hand.</summary>
internal static class TinyModel
{
    public static readonly float[] W = [0.5f, -1.0f, 0.25f, -0.75f, 0.3f, 1.2f];
    public static readonly float[] B = [0.1f, -0.2f];

    public static OnnxGraphBuilder Build()
    {
        var g = new OnnxGraphBuilder("tiny");
        var x = g.AddInput("x", [null, 3]);
        var w = g.AddInitializer("W", [2, 3], W);
        var b = g.AddInitializer("b", [2], B);
        var gemm = g.AddNode("Gemm", [x, w, b], null, OnnxAttribute.Int("transB", 1), OnnxAttribute.Float("alpha", 1f));
        var relu = g.AddNode("Relu", [gemm]);
        var probs = g.AddNode("Softmax", [relu], "probabilities", OnnxAttribute.Int("axis", 1));
        g.AddOutput(probs, [null, 2]);
        return g;
    }

    public static string Save(string path, IReadOnlyDictionary<string, string>? metadata = null, string? doc = null)
    {
        OnnxModelWriter.Save(OnnxModelFactory.CreateModel(Build(), doc, metadata), path);
        return path;
    }

    public static float[] Expected(float[] input, int rows)
    {
        var result = new float[rows * 2];
        for (var r = 0; r < rows; r++)
        {
            var z = new double[2];
            for (var j = 0; j < 2; j++)
            {
                double s = B[j];
                for (var k = 0; k < 3; k++)
                {
                    s += (double)input[r * 3 + k] * W[j * 3 + k];
                }

                z[j] = Math.Max(0, s);
            }

            var m = Math.Max(z[0], z[1]);
            var e0 = Math.Exp(z[0] - m);
            var e1 = Math.Exp(z[1] - m);
            result[r * 2] = (float)(e0 / (e0 + e1));
            result[r * 2 + 1] = (float)(e1 / (e0 + e1));
        }

        return result;
    }
}
