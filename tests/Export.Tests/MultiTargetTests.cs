using System.Security.Cryptography;
using System.Text;
using OnePass.Training.Backends;
using OnePass.Training.Checkpoints;
using OnePass.Training.Graphs;

namespace OnePass.Export.Tests;

/// <summary>
/// Regression models with several targets: per-target scaling in the checkpoint (a list) and in the exported graph,
/// single-target checkpoints written and read as before (a number), and the per-target scores and CSV headings.
/// </summary>
public sealed class MultiTargetTests
{
    private static CheckpointHeader TwoTargets(Random random) => TestHeaders.Create([3, 5, 2], "mse", "tanh", random) with
    {
        TargetMean = [12.5f, -1.25f], TargetStd = [6f, 0.125f], TargetNames = ["load", "loss rate"],
    };

    [Fact]
    public void A_two_target_checkpoint_round_trips_its_lists_and_names()
    {
        using var temp = new TempDirectory();
        var header = TwoTargets(new Random(1));
        var model = CheckpointModel.Build(header, "test");
        new Checkpoint(header, model.InitialWeights(1)).Save(temp.File("two.ckpt"));

        var loaded = Checkpoint.Load(temp.File("two.ckpt"));
        Assert.Equal([12.5f, -1.25f], loaded.Header.TargetMean);
        Assert.Equal([6f, 0.125f], loaded.Header.TargetStd);
        Assert.Equal(["load", "loss rate"], loaded.Header.TargetNames!);
        string json = HeaderJson(temp.File("two.ckpt"));
        Assert.Contains("\"target_mean\":[12.5,-1.25],\"target_std\":[6,0.125],\"target_names\":[\"load\",\"loss rate\"]", json, StringComparison.Ordinal);
    }

    [Fact]
    public void A_single_target_header_is_written_with_numbers_as_before()
    {
        using var temp = new TempDirectory();
        var header = TestHeaders.Create([3, 1], "mse", "relu", new Random(2));
        new Checkpoint(header, new float[4]).Save(temp.File("one.ckpt"));
        string json = HeaderJson(temp.File("one.ckpt"));
        Assert.Contains("\"target_mean\":17.5,\"target_std\":4.25,", json, StringComparison.Ordinal);
        Assert.DoesNotContain("target_names", json, StringComparison.Ordinal);
        Assert.Equal([17.5f], Checkpoint.Load(temp.File("one.ckpt")).Header.TargetMean);
    }

    [Fact]
    public void An_older_single_target_checkpoint_loads_exports_and_predicts_as_before()
    {
        // A header as earlier versions wrote it (scalar target scaling, no target names), in format 2 with its checksum.
        const string Json = """
            {"onepass_version":"0.1.0","dataset":"uci-energy","task":"regression","model":{"architecture":"mlp","input_shape":[3],"outputs":1,"loss":"mse","layer_sizes":[3,4,1],"activation":"relu","base_width":0},"payload_sha256":"@","layer_sizes":[3,4,1],"activation":"relu","loss":"mse","input_mean":[1,2,3],"input_std":[0.5,2,4],"target_mean":22.25,"target_std":10.5,"algorithm":"random","weight_step":10,"seed":0,"hyperparameters":{},"metrics":{},"config_sha256":""}
            """;
        using var temp = new TempDirectory();
        float[] weights = Enumerable.Range(0, (3 * 4) + 4 + 4 + 1).Select(i => MathF.Sin(i) * 0.5f).ToArray();
        File.WriteAllBytes(temp.File("old.ckpt"), FormatTwo(Json, weights));

        var old = Checkpoint.Load(temp.File("old.ckpt"));
        Assert.Equal([22.25f], old.Header.TargetMean);
        Assert.Equal([10.5f], old.Header.TargetStd);
        Assert.Null(old.Header.TargetNames);

        var proto = OnnxExporter.Export(old, temp.File("old.ckpt"));
        var metadata = proto.MetadataProps.ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal("22.25", metadata["target_mean"]);
        Assert.Equal("10.5", metadata["target_std"]);
        Assert.False(metadata.ContainsKey("target_names"));
        Assert.Equal([1L], proto.Graph.Initializer.Single(i => i.Name == "target_std").Dims);

        float[] raw = [1f, 2f, 3f, -4f, 0.5f, 9f];
        float[] predictions = RunOnnx(proto, temp, raw, 2);
        float[] engine = Engine(old.Header, weights, raw, 2);
        for (int i = 0; i < 2; i++)
        {
            Assert.True(Math.Abs(predictions[i] - ((engine[i] * 10.5f) + 22.25f)) <= 1e-5, $"row {i}: ONNX {predictions[i]}, engine {engine[i]}");
        }
    }

    [Fact]
    public void The_exported_graph_scales_each_target_by_its_own_statistics()
    {
        using var temp = new TempDirectory();
        var random = new Random(3);
        var header = TwoTargets(random);
        var model = CheckpointModel.Build(header, "test");
        float[] weights = model.InitialWeights(4);
        var proto = OnnxExporter.Export(model, weights, header);
        var metadata = proto.MetadataProps.ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal("[12.5,-1.25]", metadata["target_mean"]);
        Assert.Equal("[6,0.125]", metadata["target_std"]);
        Assert.Equal("""["load","loss rate"]""", metadata["target_names"]);
        Assert.Equal([6.0, 0.125], TargetScaling.Read(metadata, OnnxExporter.TargetStdKey)!);
        Assert.Equal(["load", "loss rate"], TargetScaling.TargetNames(metadata));
        Assert.Contains("(load, loss rate)", proto.Graph.Output.Single().DocString, StringComparison.Ordinal);

        int rows = 7;
        float[] raw = Enumerable.Range(0, rows * 3).Select(_ => (float)(random.NextDouble() * 20 - 5)).ToArray();
        float[] predictions = RunOnnx(proto, temp, raw, rows);
        float[] engine = Engine(header, weights, raw, rows);
        for (int i = 0; i < rows * 2; i++)
        {
            int t = i % 2;
            float expected = (engine[i] * header.TargetStd[t]) + header.TargetMean[t];
            Assert.True(Math.Abs(predictions[i] - expected) <= 1e-5, $"value {i}: ONNX {predictions[i]}, engine {expected}");
        }
    }

    [Fact]
    public void Target_scaling_that_does_not_fit_the_outputs_is_a_checkpoint_error()
    {
        using var temp = new TempDirectory();
        var header = TwoTargets(new Random(4)) with { TargetMean = [1f, 2f, 3f], TargetStd = [1f, 1f, 1f] };
        var model = CheckpointModel.Build(TwoTargets(new Random(4)), "test");
        new Checkpoint(header, model.InitialWeights(1)).Save(temp.File("bad.ckpt"));
        var e = Assert.Throws<CheckpointException>(() => OnnxExporter.Export(Checkpoint.Load(temp.File("bad.ckpt")), temp.File("bad.ckpt")));
        Assert.Contains("has target scaling for 3 targets", e.Message, StringComparison.Ordinal);
        Assert.Contains("bad.ckpt", e.Message, StringComparison.Ordinal);

        var badStd = TwoTargets(new Random(4)) with { TargetStd = [1f, float.NaN] };
        var a = Assert.Throws<ArgumentException>(() => OnnxExporter.Export(model, model.InitialWeights(1), badStd));
        Assert.Contains("target scaling of target 1", a.Message, StringComparison.Ordinal);

        // A header whose target_mean is neither a number nor a list is a corrupt header, not a crash.
        string json = HeaderJson(temp.File("bad.ckpt"));
        Assert.Throws<CheckpointException>(() => CheckpointFromJson(temp, json.Replace("\"target_mean\":[1,2,3]", "\"target_mean\":\"x\"", StringComparison.Ordinal)));
    }

    [Fact]
    public void Scores_and_csv_headings_are_per_target()
    {
        float[] predictions = [1f, 10f, 2f, 20f];
        float[] targets = [0f, 12f, 2f, 16f];
        Assert.Equal(((1.0 / 1) + (4.0 / 4) + 0 + (16.0 / 4)) / 4, PredictionScoring.MeanSquaredError(predictions, targets, [1.0, 2.0]), 12);
        Assert.Equal(PredictionScoring.MeanSquaredError(predictions, targets, 2.0), PredictionScoring.MeanSquaredError(predictions, targets, [2.0]));
        Assert.Equal(0.5, PredictionScoring.MeanSquaredError(predictions, targets, 2, 0), 12);
        Assert.Equal(10.0, PredictionScoring.MeanSquaredError(predictions, targets, 2, 1), 12);
        Assert.Throws<ArgumentException>(() => PredictionScoring.MeanSquaredError(predictions, targets, [1.0, 1.0, 1.0]));

        var outputs = new Dictionary<string, float[]> { ["prediction"] = predictions };
        var named = new StringWriter();
        PredictionWriter.WriteCsv(named, ["prediction"], outputs, 2, new Dictionary<string, IReadOnlyList<string>> { ["prediction"] = ["load", "rate, per hour"] });
        Assert.StartsWith("load,\"rate, per hour\"", named.ToString(), StringComparison.Ordinal);
        var plain = new StringWriter();
        PredictionWriter.WriteCsv(plain, ["prediction"], outputs, 2);
        Assert.StartsWith("prediction_0,prediction_1", plain.ToString(), StringComparison.Ordinal);
    }

    private static string HeaderJson(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int length = BitConverter.ToInt32(bytes, 10);
        return Encoding.UTF8.GetString(bytes, 14, length);
    }

    private static void CheckpointFromJson(TempDirectory temp, string json)
    {
        File.WriteAllBytes(temp.File("json.ckpt"), FormatTwo(json, new float[1]));
        Checkpoint.Load(temp.File("json.ckpt"));
    }

    // A format-2 file: the header's payload_sha256 ("@" in the JSON, or its recorded value) set to the payload's hash.
    private static byte[] FormatTwo(string json, float[] weights)
    {
        using var payload = new MemoryStream();
        payload.Write(BitConverter.GetBytes(weights.Length));
        foreach (float w in weights)
        {
            payload.Write(BitConverter.GetBytes(w));
        }

        payload.Write(BitConverter.GetBytes(0));
        string sha = Convert.ToHexStringLower(SHA256.HashData(payload.ToArray()));
        json = System.Text.RegularExpressions.Regex.Replace(json.Trim(), "\"payload_sha256\":\"[^\"]*\"", $"\"payload_sha256\":\"{sha}\"");
        byte[] header = Encoding.UTF8.GetBytes(json);
        using var file = new MemoryStream();
        file.Write("OPCKPT"u8);
        file.Write(BitConverter.GetBytes(2));
        file.Write(BitConverter.GetBytes(header.Length));
        file.Write(header);
        file.Write(payload.ToArray());
        file.Write("END!"u8);
        return file.ToArray();
    }

    private static float[] RunOnnx(OnePass.Export.Onnx.ModelProto proto, TempDirectory temp, float[] raw, int rows)
    {
        string path = temp.File($"m-{Guid.NewGuid():N}.onnx");
        OnnxModelWriter.Save(proto, path);
        using var session = OnnxInferenceSession.Create(path, ExecutionProviderChoice.Cpu);
        return session.Run(raw, rows)[OnnxExporter.PredictionName];
    }

    private static float[] Engine(CheckpointHeader header, float[] weights, float[] raw, int rows)
    {
        var model = CheckpointModel.Build(header, "test");
        int width = model.InputWidth;
        float[] normalised = raw.Select((x, i) => (x - header.InputMean[i % width]) / header.InputStd[i % width]).ToArray();
        using var backend = new CpuBackend();
        using var executor = new GraphExecutor(model, backend);
        using var w = backend.Allocate(model.ParameterCount);
        backend.Upload(weights, w);
        executor.SetBatch(normalised, new float[rows * model.OutputWidth], rows);
        executor.Forward(w);
        var engine = new float[rows * model.OutputWidth];
        backend.Download(executor.PredictionBuffer, engine);
        return engine;
    }
}
