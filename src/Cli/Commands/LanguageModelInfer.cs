using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnePass.Export;

namespace OnePass.Cli.Commands;

/// <summary>
/// `onepass infer` on an exported language model: score a text file (mean cross-entropy and perplexity of one stream
/// over the whole file, fed chunk by chunk with the LSTM states passed along) or continue a prompt by greedy decoding.
/// </summary>
internal static class LanguageModelInfer
{
    /// <summary>Tokens per ONNX Runtime call unless --batch says otherwise.</summary>
    public const int DefaultChunk = 256;

    /// <summary>Words generated after --prompt unless --generate says otherwise.</summary>
    public const int DefaultGenerate = 20;

    public sealed record Request(
        string ModelPath,
        string? InputPath,
        string? Prompt,
        int Generate,
        int Chunk,
        ExecutionProviderChoice Provider,
        bool Json,
        string? RunDir);

    public static int Run(Request request)
    {
        using var session = LanguageModelSession.Create(request.ModelPath, request.Provider, line => Console.Error.WriteLine($"onepass: {line}"));
        string providerName = session.UsesCuda ? "CUDA" : "CPU";
        var inv = CultureInfo.InvariantCulture;
        if (request.InputPath is { } inputPath)
        {
            var text = LanguageModelText.ReadFile(inputPath, session.IdOf);
            if (text.Ids.Length < 2)
            {
                throw new UserInputException($"{inputPath}: {text.Ids.Length} token: scoring needs at least 2");
            }

            var clock = Stopwatch.StartNew();
            double crossEntropy = session.MeanCrossEntropy(text.Ids, request.Chunk);
            double seconds = clock.Elapsed.TotalSeconds;
            double perplexity = Math.Exp(crossEntropy);
            int predictions = text.Ids.Length - 1;
            var engine = request.RunDir is null ? null : EngineTestFigures.TryRead(request.RunDir, OnnxModelReader.LoadMetadata(request.ModelPath).Metadata.GetValueOrDefault("dataset"));
            if (request.Json)
            {
                var report = new JsonObject
                {
                    ["input"] = inputPath,
                    ["tokens"] = text.Ids.Length,
                    ["predictions"] = predictions,
                    ["unknown_words"] = text.Unknown,
                    ["mean_cross_entropy"] = crossEntropy,
                    ["perplexity"] = perplexity,
                    ["seconds"] = seconds,
                    ["provider"] = providerName,
                };
                if (engine?.TestLoss is { } loss)
                {
                    report["engine_test_loss"] = loss;
                    report["engine_test_perplexity"] = Math.Exp(loss);
                }

                Console.WriteLine(report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                Console.WriteLine($"{text.Ids.Length.ToString("N0", inv)} tokens of {inputPath} ({predictions.ToString("N0", inv)} predictions) in {(seconds * 1000).ToString("F1", inv)} ms: "
                    + $"{(predictions / Math.Max(seconds, 1e-9)).ToString("N0", inv)} tokens/s ({providerName} execution provider, {request.Chunk} tokens a call)");
                if (text.Unknown > 0)
                {
                    Console.WriteLine($"{text.Unknown.ToString("N0", inv)} word(s) not in the vocabulary were scored as {LanguageModelText.UnknownWord}");
                }

                string title = "scores of one stream over the file";
                string onnxHeader = $"ONNX Runtime ({providerName})";
                var lines = new List<(string Name, string Onnx, string Engine)>
                {
                    ("mean cross-entropy (nats)", crossEntropy.ToString("F6", inv), engine?.TestLoss is { } l ? l.ToString("F6", inv) : "-"),
                    ("perplexity", perplexity.ToString("F3", inv), engine?.TestLoss is { } l2 ? Math.Exp(l2).ToString("F3", inv) : "-"),
                };
                int nameWidth = Math.Max(title.Length, lines.Max(l => l.Name.Length + 2)) + 3;
                int onnxWidth = Math.Max(onnxHeader.Length, lines.Max(l => l.Onnx.Length)) + 3;
                Console.WriteLine($"{title.PadRight(nameWidth)}{onnxHeader.PadRight(onnxWidth)}{(engine is null ? string.Empty : "engine test split (summary.json)")}".TrimEnd());
                foreach (var (name, onnx, engineValue) in lines)
                {
                    Console.WriteLine(($"  {name}".PadRight(nameWidth) + (engine is null ? onnx : onnx.PadRight(onnxWidth) + engineValue)).TrimEnd());
                }
            }

            return 0;
        }

        LanguageModelTokens prompt;
        try
        {
            prompt = LanguageModelText.ReadPrompt(request.Prompt!, "--prompt", session.IdOf);
        }
        catch (ArgumentException e)
        {
            throw new UserInputException(e.Message);
        }

        int[] generated = session.Generate(prompt.Ids, request.Generate);
        string[] words = generated.Select(id => session.Vocabulary[id]).ToArray();
        if (request.Json)
        {
            var report = new JsonObject
            {
                ["prompt"] = new JsonArray(prompt.Ids.Select(id => (JsonNode?)JsonValue.Create(session.Vocabulary[id])).ToArray()),
                ["unknown_words"] = prompt.Unknown,
                ["generated"] = new JsonArray(words.Select(w => (JsonNode?)JsonValue.Create(w)).ToArray()),
                ["generated_ids"] = new JsonArray(generated.Select(id => (JsonNode?)JsonValue.Create(id)).ToArray()),
                ["decoding"] = "greedy",
                ["provider"] = providerName,
            };
            Console.WriteLine(report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
        else
        {
            if (prompt.Unknown > 0)
            {
                Console.Error.WriteLine($"onepass: {prompt.Unknown} prompt word(s) not in the vocabulary were read as {LanguageModelText.UnknownWord}");
            }

            Console.WriteLine(string.Join(' ', words));
        }

        return 0;
    }
}
