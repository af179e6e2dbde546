// OnePass build script. Run through ./build.sh, e.g. ./build.sh --target=Test
// Targets: Clean, Build, Test, GpuTest, Data, Train (= TrainModel, Export, Infer), Export, Infer, Bench, Publish.

var target = Argument("target", "Build");
var configuration = Argument("configuration", "Release");
var config = Argument("config", "configs/fashion-mnist.yaml");
var runDir = Argument("run", "runs/main");
var dataDir = Argument("data-dir", EnvironmentVariable("ONEPASS_DATA") ?? "");
var backend = Argument("backend", "auto");
var testFilter = Argument("filter", "");
var runtime = Argument("runtime", "linux-x64");

var solution = "./Pipeline.sln";
var cliProject = "./src/Cli/Cli.csproj";
var artifacts = Directory("./artifacts");

// Runs the built CLI with the given arguments and fails the target on a non-zero exit code.
void Onepass(string arguments)
{
    var cli = $"src/Cli/bin/{configuration}/net10.0/onepass.dll";
    Information($"onepass {arguments}");
    var exit = StartProcess("dotnet", new ProcessSettings { Arguments = $"{cli} {arguments}" });
    if (exit != 0) throw new Exception($"onepass {arguments.Split(' ')[0]} failed with exit code {exit}");
}

string DataDirOption() => string.IsNullOrEmpty(dataDir) ? "" : $" --data-dir \"{dataDir}\"";

Task("Clean").Does(() =>
{
    CleanDirectories("./src/**/bin/" + configuration);
    CleanDirectories("./src/**/obj");
    CleanDirectories("./tests/**/bin/" + configuration);
    CleanDirectories("./tests/**/obj");
    CleanDirectory(artifacts);
});

Task("Build").Does(() =>
{
    DotNetBuild(solution, new DotNetBuildSettings { Configuration = configuration });
});

Task("Test").IsDependentOn("Build").Does(() =>
{
    DotNetTest(solution, new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        Filter = string.IsNullOrEmpty(testFilter) ? null : testFilter,
        Loggers = { "console;verbosity=normal" },
    });
});

Task("GpuTest").IsDependentOn("Build").Does(() =>
{
    DotNetTest(solution, new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        Filter = "Category=Gpu",
        Loggers = { "console;verbosity=normal" },
    });
});

Task("Data").IsDependentOn("Build").Does(() =>
{
    // Finds Fashion-MNIST (data dir, ONEPASS_DATA, user cache, Debian's package) or downloads and verifies it.
    Onepass("data" + DataDirOption());
});

Task("TrainModel").IsDependentOn("Data").Does(() =>
{
    Onepass($"train --config {config} --out {runDir} --backend {backend}" + DataDirOption());
});

Task("Export").IsDependentOn("Build").Does(() =>
{
    Onepass($"export --run {runDir}");
});

Task("Infer").IsDependentOn("Build").Does(() =>
{
    // Scores the data set's test split through ONNX Runtime, beside the engine's own figure from summary.json.
    // Prints accuracy (or MSE) and loss from both, so a mismatch between engine and export shows at once.
    var dataset = System.Text.RegularExpressions.Regex.Match(System.IO.File.ReadAllText(config), @"(?m)^dataset:\s*[""']?([\w.-]+)").Groups[1].Value;
    if (string.IsNullOrEmpty(dataset)) throw new Exception($"{config}: no top-level 'dataset:' key, so the test split to score is unknown");
    var provider = backend == "cpu" ? "cpu" : "auto";
    Onepass($"infer --model {runDir}/model.onnx --test-set {dataset} --run {runDir} --provider {provider}" + DataDirOption());
});

// The main job: train on the configuration, export the model to ONNX, score the test set through ONNX Runtime.
Task("Train").IsDependentOn("TrainModel").IsDependentOn("Export").IsDependentOn("Infer");

Task("Bench").IsDependentOn("Build").Does(() =>
{
    Onepass($"bench --layers 784,50,10 --batch 50 --backend {backend}");
});

Task("Publish").Does(() =>
{
    DotNetPublish(cliProject, new DotNetPublishSettings
    {
        Configuration = configuration,
        Runtime = runtime,
        SelfContained = true,
        OutputDirectory = artifacts + Directory("onepass-" + runtime),
    });
    Information($"Self-contained bundle: {artifacts}/onepass-{runtime}/onepass");
});

RunTarget(target);
