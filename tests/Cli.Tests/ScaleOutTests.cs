using System.Diagnostics;
using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace OnePass.Cli.Tests;

/// <summary>
/// Issue 13 item 7: deploy/slurm/sweep-array.sh and deploy/kubernetes/sweep-indexed-job.yaml run the shards of one
/// sweep into one folder, and `onepass report` over it sees every run; each run folder holds its TensorBoard events.
/// The scripts run here as the cluster would run them, with `onepass` a wrapper around the built onepass.dll.
/// </summary>
public sealed class ScaleOutTests
{
    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{relative} not found above the test binaries");
    }

    // A folder holding an `onepass` script that runs the built CLI, to put first on PATH.
    private static string FakeOnePassFolder(string dir)
    {
        string bin = Path.Combine(dir, "bin");
        Directory.CreateDirectory(bin);
        string script = Path.Combine(bin, "onepass");
        File.WriteAllText(script, $"#!/bin/sh\nexec dotnet \"{Path.Combine(AppContext.BaseDirectory, "onepass.dll")}\" \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return bin;
    }

    private static (int ExitCode, string Output) Shell(string program, IEnumerable<string> args, IReadOnlyDictionary<string, string> env)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (string name in info.Environment.Keys.Where(k => k.StartsWith("SLURM_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in env)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in 3 minutes");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    // The merged folder: `onepass report` counts every run, and every run folder has its TensorBoard event file.
    private static void AssertMergedSweep(string sweep, int initsPerAlgorithm)
    {
        var report = OnePassProcess.Run("report", sweep);
        Assert.True(report.ExitCode == 0, report.StdOut + report.StdErr);
        Assert.Contains($"| ours-wd-lr-m | {initsPerAlgorithm} |", report.StdOut);
        Assert.Contains($"| random | {initsPerAlgorithm} |", report.StdOut);
        foreach (string algorithm in new[] { "random", "ours-wd-lr-m" })
        {
            for (int k = 0; k < initsPerAlgorithm; k++)
            {
                string run = Path.Combine(sweep, algorithm, $"init-{k}");
                Assert.True(File.Exists(Path.Combine(run, "summary.json")), $"{run}: no summary.json");
                Assert.Single(Directory.GetFiles(run, "events.out.tfevents.*"));
            }
        }
    }

    [Fact]
    public void TheSlurmArrayScriptShardsOneSweepIntoOneFolder()
    {
        string dir = OnePassProcess.TempDir();
        string data = Fixtures.EnergyData(dir);
        string config = Fixtures.EnergyConfig(dir, 2);
        string sweep = Path.Combine(dir, "sweep");
        string script = RepoFile(Path.Combine("deploy", "slurm", "sweep-array.sh"));
        string onepass = Path.Combine(FakeOnePassFolder(dir), "onepass");
        for (int task = 0; task < 2; task++)
        {
            var env = new Dictionary<string, string>
            {
                ["SLURM_ARRAY_TASK_ID"] = task.ToString(CultureInfo.InvariantCulture), ["SLURM_ARRAY_TASK_COUNT"] = "2", ["SLURM_ARRAY_TASK_MIN"] = "0",
                ["SLURM_CPUS_PER_TASK"] = "2", ["SWEEP_DIR"] = sweep, ["CONFIG"] = config, ["DATA_DIR"] = data,
                ["ALGORITHMS"] = "random,ours-wd-lr-m", ["INITS"] = "2", ["ONEPASS"] = onepass,
            };
            var (exit, output) = Shell("bash", [script], env);
            Assert.True(exit == 0, output);
            Assert.Contains($"runs shard {task}/2", output);
            Assert.Contains("2 runs in this shard, 0 already finished, 2 to run", output);
        }

        AssertMergedSweep(sweep, 2);

        // Outside an array task the script stops at once, saying why.
        var (outside, message) = Shell("bash", [script], new Dictionary<string, string> { ["SWEEP_DIR"] = sweep, ["ONEPASS"] = onepass });
        Assert.NotEqual(0, outside);
        Assert.Contains("SLURM_ARRAY_TASK_ID", message);
    }

    [Fact]
    public void TheKubernetesIndexedJobRunsShardIndexOfCompletions()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(RepoFile(Path.Combine("deploy", "kubernetes", "sweep-indexed-job.yaml"))))
        {
            yaml.Load(reader);
        }

        var job = (YamlMappingNode)yaml.Documents[0].RootNode;
        string Scalar(YamlNode node, params string[] path) =>
            ((YamlScalarNode)path.Aggregate(node, (n, key) => ((YamlMappingNode)n)[key])).Value!;
        Assert.Equal("Job", Scalar(job, "kind"));
        Assert.Equal("Indexed", Scalar(job, "spec", "completionMode"));
        int completions = int.Parse(Scalar(job, "spec", "completions"), CultureInfo.InvariantCulture);
        var podSpec = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)job["spec"])["template"])["spec"];
        var container = (YamlMappingNode)((YamlSequenceNode)podSpec["containers"])[0];
        var env = ((YamlSequenceNode)container["env"]).Cast<YamlMappingNode>()
            .ToDictionary(e => Scalar(e, "name"), e => Scalar(e, "value"));
        Assert.Equal(completions.ToString(CultureInfo.InvariantCulture), env["SHARDS"]);
        string[] command = ((YamlSequenceNode)container["command"]).Select(n => ((YamlScalarNode)n).Value!).ToArray();
        string shellCommand = ((YamlScalarNode)((YamlSequenceNode)container["args"])[0]).Value!;
        Assert.Equal(["/bin/sh", "-c"], command);

        // Run every pod's command here, with the manifest's environment pointed at test folders and a small sweep.
        string dir = OnePassProcess.TempDir();
        string sweep = Path.Combine(dir, "sweep");
        env["SWEEP_DIR"] = sweep;
        env["CONFIG"] = Fixtures.EnergyConfig(dir, 2);
        env["DATA_DIR"] = Fixtures.EnergyData(dir);
        env["INITS"] = "2"; // 2 algorithms x 2 initialisations = 4 runs over the manifest's pods
        env["PATH"] = FakeOnePassFolder(dir) + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
        int ran = 0;
        for (int index = 0; index < completions; index++)
        {
            env["JOB_COMPLETION_INDEX"] = index.ToString(CultureInfo.InvariantCulture);
            var (exit, output) = Shell(command[0], [.. command.Skip(1), shellCommand], env);
            Assert.True(exit == 0, $"pod {index}: {output}");
            var counted = System.Text.RegularExpressions.Regex.Match(output, @"sweep: (\d+) runs in this shard");
            Assert.True(counted.Success, output);
            ran += int.Parse(counted.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        Assert.Equal(4, ran); // each run in exactly one shard
        AssertMergedSweep(sweep, 2);
    }
}
