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
var ortCuda = Argument("ort-cuda", false);

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
    // Finds Fashion-MNIST (data dir, ONEPASS_DATA, user cache, Debian's package folder); where none has it,
    // installs Debian's dataset-fashion-mnist (apt-get as root or with password-less sudo; skipped where
    // impossible), and failing that downloads and verifies the official files.
    Onepass("data --install" + DataDirOption());
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
    // --test-set takes the configuration itself, so that a table data set is split as training split it.
    var provider = backend == "cpu" ? "cpu" : "auto";
    Onepass($"infer --model {runDir}/model.onnx --test-set {config} --run {runDir} --provider {provider}" + DataDirOption());
});

// The main job: train on the configuration, export the model to ONNX, score the test set through ONNX Runtime.
Task("Train").IsDependentOn("TrainModel").IsDependentOn("Export").IsDependentOn("Infer");

Task("Bench").IsDependentOn("Build").Does(() =>
{
    Onepass($"bench --layers 784,50,10 --batch 50 --backend {backend}");
});

// Self-contained bundle plus a .tar.gz of it. ONNX Runtime's NuGet package ships every platform's native
// libraries and its CUDA and TensorRT providers (about 480 MB); the bundle keeps only this runtime's
// libraries, and drops the CUDA/TensorRT providers unless --ort-cuda=true, so that the archive fits the
// 64 MiB a GPU test machine can carry. Without the providers, ONNX Runtime scores on its CPU provider;
// the engine's own CUDA backend does not need them.
Task("Publish").Does(() =>
{
    var bundle = artifacts + Directory("onepass-" + runtime);
    CleanDirectory(bundle);
    DotNetPublish(cliProject, new DotNetPublishSettings
    {
        Configuration = configuration,
        Runtime = runtime,
        SelfContained = true,
        OutputDirectory = bundle,
    });

    bool windows = runtime.StartsWith("win");
    var drop = new List<FilePath>();
    foreach (var file in GetFiles(bundle.Path.FullPath + "/*onnxruntime*"))
    {
        string name = file.GetFilename().FullPath;
        bool foreignPlatform = windows ? name.EndsWith(".so") : name.EndsWith(".dll");
        bool gpuProvider = name.Contains("providers_cuda") || name.Contains("providers_tensorrt");
        if (foreignPlatform || (gpuProvider && !ortCuda)) drop.Add(file);
    }
    DeleteFiles(drop);
    Information($"Dropped {drop.Count} ONNX Runtime libraries not used by this bundle: {string.Join(", ", drop.Select(f => f.GetFilename().FullPath))}");

    var archive = artifacts + File($"onepass-{runtime}.tar.gz");
    int exit = StartProcess("tar", new ProcessSettings { Arguments = $"-czf \"{MakeAbsolute(archive)}\" -C \"{MakeAbsolute(bundle)}\" ." });
    if (exit != 0) throw new Exception($"tar failed with exit code {exit}");
    long bytes = new System.IO.FileInfo(MakeAbsolute(archive).FullPath).Length;
    Information($"Self-contained bundle: {bundle}/onepass; archive {archive}: {bytes / 1048576.0:F1} MiB");
    if (bytes > 64L * 1024 * 1024) Warning("The archive is over 64 MiB, more than a GPU test machine can carry.");
});

RunTarget(target);
