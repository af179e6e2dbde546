using System.Text.Json;
using OnePass.Training.Backends.Cuda;

namespace OnePass.Cli.Tests;

/// <summary>A fact for the machine without a usable GPU: skipped, with the reason, where CUDA is usable.</summary>
public sealed class NoGpuFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when CUDA is usable here.</summary>
    public NoGpuFactAttribute()
    {
        if (CudaProbe.Run().Available)
        {
            Skip = "CUDA is usable on this machine; this test checks the machine without a GPU";
        }
    }
}

/// <summary>`onepass selftest`: the CPU half of the parity suite passes; without a GPU the CUDA half says so and exits 69.</summary>
public sealed class SelftestCliTests
{
    [Fact]
    public void Cpu_selftest_passes_and_writes_every_row_to_json()
    {
        string dir = OnePassProcess.TempDir();
        string json = Path.Combine(dir, "sub", "selftest.json");
        try
        {
            var r = OnePassProcess.Run("selftest", "--backend", "cpu", "--quick", "--json", json);

            Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
            Assert.Contains("PASS: all", r.StdOut);
            foreach (string check in (string[])["Conv2d", "BatchNorm2d", "Lstm", "Embedding", "resnet18", "lstm", "ours-wd-lr-m", "diff-through-opt"])
            {
                Assert.Contains(check, r.StdOut);
            }

            using var report = JsonDocument.Parse(File.ReadAllText(json));
            Assert.True(report.RootElement.GetProperty("passed").GetBoolean());
            Assert.Equal("cpu", report.RootElement.GetProperty("backend").GetString());
            var rows = report.RootElement.GetProperty("rows").EnumerateArray().ToList();
            Assert.True(rows.Count >= 25, $"{rows.Count} rows");
            Assert.All(rows, row => Assert.True(row.GetProperty("passed").GetBoolean(), row.GetProperty("name").GetString()));
            Assert.Contains(rows, row => row.GetProperty("group").GetString() == "model");
            Assert.Contains(rows, row => row.GetProperty("group").GetString() == "algorithm");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [NoGpuFact]
    public void Cuda_selftest_without_a_gpu_says_so_in_one_line_and_exits_69()
    {
        string dir = OnePassProcess.TempDir();
        string json = Path.Combine(dir, "selftest.json");
        try
        {
            var r = OnePassProcess.Run("selftest", "--backend", "cuda", "--json", json);

            Assert.Equal(69, r.ExitCode);
            Assert.Equal("", r.StdOut);
            string line = Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            Assert.StartsWith("onepass: selftest --backend cuda: no usable GPU", line);
            Assert.False(File.Exists(json), "nothing was tested, so no report is written");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void An_unknown_backend_is_one_line_and_exit_1()
    {
        var r = OnePassProcess.Run("selftest", "--backend", "tpu");

        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("--backend tpu", line);
    }
}
