using OnePass.Training.Backends.Cuda;

namespace OnePass.Training.Tests.Backends;

/// <summary>
/// The replay logic of CUDA graphs, on a fake device: whatever regions do, the device must see exactly the work the
/// host code would have issued eagerly, in the same order, while equal recordings are served by one launch.
/// </summary>
public sealed class GraphRegionTests
{
    /// <summary>A device that logs work; a graph is a list of work items replayed by one launch.</summary>
    private sealed class FakeDevice : IGraphDriver
    {
        private List<string>? capturing;

        public List<string> Executed { get; } = [];

        public int Launches { get; private set; }

        public int Disposed { get; private set; }

        public bool RefuseCapture { get; set; }

        public GraphRegions? Regions { get; set; }

        // A backend operation: recorded while a region records, else issued at once.
        public void Queue(string kernel, ulong pointer, float scalar = 0)
        {
            ulong[] identity = [1, (ulong)kernel.GetHashCode(), pointer, BitConverter.SingleToUInt32Bits(scalar)];
            string item = $"{kernel}@{pointer}:{scalar}";
            if (Regions?.Active is { } recording)
            {
                recording.Add(identity, () => Issue(item));
            }
            else
            {
                Issue(item);
            }
        }

        // A host read: everything queued before it must have run.
        public void Read()
        {
            Regions?.Break("read");
            Executed.Add("read");
        }

        private void Issue(string item)
        {
            if (capturing is not null)
            {
                capturing.Add(item);
            }
            else
            {
                Executed.Add(item);
            }
        }

        public IDisposable Capture(Action issue)
        {
            capturing = [];
            try
            {
                issue();
                if (RefuseCapture)
                {
                    throw new InvalidOperationException("operation not permitted when stream is capturing");
                }

                return new Graph(this, [.. capturing]);
            }
            finally
            {
                capturing = null;
            }
        }

        public void Launch(IDisposable graph)
        {
            Launches++;
            Executed.AddRange(((Graph)graph).Items);
        }

        private sealed record Graph(FakeDevice Owner, List<string> Items) : IDisposable
        {
            public void Dispose() => Owner.Disposed++;
        }
    }

    private static (FakeDevice Device, GraphRegions Regions, List<string> Log) Make()
    {
        var device = new FakeDevice();
        var log = new List<string>();
        var regions = new GraphRegions(device, log.Add);
        device.Regions = regions;
        return (device, regions, log);
    }

    private static void Step(FakeDevice d, ulong buffer, float lr)
    {
        d.Queue("forward", buffer);
        d.Queue("backward", buffer);
        d.Queue("update", buffer, lr);
    }

    [Fact]
    public void Equal_work_is_captured_once_and_replayed_with_one_launch()
    {
        var (d, regions, log) = Make();
        for (int i = 0; i < 5; i++)
        {
            regions.Run("step", () => Step(d, 100, 0.1f));
        }

        Assert.Equal(1, regions.Captures);
        Assert.Equal(4, regions.Replays);
        Assert.Equal(5, d.Launches);
        Assert.Equal(Enumerable.Repeat(new[] { "forward@100:0", "backward@100:0", "update@100:0.1" }, 5).SelectMany(x => x), d.Executed);
        Assert.Empty(log);
    }

    [Fact]
    public void A_changed_scalar_or_pointer_is_never_replayed_from_a_stale_graph()
    {
        var (d, regions, _) = Make();
        regions.Run("step", () => Step(d, 100, 0.1f));
        regions.Run("step", () => Step(d, 100, 0.2f));
        regions.Run("step", () => Step(d, 200, 0.2f));
        regions.Run("step", () => Step(d, 100, 0.1f));

        Assert.Equal(3, regions.Captures);
        Assert.Equal(1, regions.Replays);
        Assert.Equal(
            ["forward@100:0", "backward@100:0", "update@100:0.1", "forward@100:0", "backward@100:0", "update@100:0.2",
             "forward@200:0", "backward@200:0", "update@200:0.2", "forward@100:0", "backward@100:0", "update@100:0.1"],
            d.Executed);
    }

    [Fact]
    public void At_most_four_graphs_are_kept_per_region_and_evicted_ones_are_destroyed()
    {
        var (d, regions, _) = Make();
        for (int i = 0; i < 6; i++)
        {
            regions.Run("step", () => Step(d, (ulong)i, 0));
        }

        Assert.Equal(6, regions.Captures);
        Assert.Equal(2, d.Disposed);
        regions.Run("step", () => Step(d, 5, 0));
        Assert.Equal(1, regions.Replays);
        regions.Run("step", () => Step(d, 0, 0));
        Assert.Equal(7, regions.Captures);
        regions.Dispose();
        Assert.Equal(7, d.Disposed);
    }

    [Fact]
    public void A_host_read_inside_a_region_issues_what_came_before_it_and_makes_the_region_eager()
    {
        var (d, regions, log) = Make();
        for (int i = 0; i < 3; i++)
        {
            regions.Run("hyper", () =>
            {
                d.Queue("a", 1);
                d.Read();
                d.Queue("b", 1);
            });
        }

        Assert.Equal(Enumerable.Repeat(new[] { "a@1:0", "read", "b@1:0" }, 3).SelectMany(x => x), d.Executed);
        Assert.Equal(0, regions.Captures);
        Assert.Equal(0, d.Launches);
        Assert.Contains("hyper", regions.EagerRegions.Keys);
        Assert.Single(log);
        Assert.Contains("region 'hyper' runs without a graph", log[0]);
    }

    [Fact]
    public void A_refused_capture_runs_the_work_eagerly_once_and_says_so_once()
    {
        var (d, regions, log) = Make();
        d.RefuseCapture = true;
        regions.Run("step", () => Step(d, 7, 1));
        regions.Run("step", () => Step(d, 7, 1));

        Assert.Equal(Enumerable.Repeat(new[] { "forward@7:0", "backward@7:0", "update@7:1" }, 2).SelectMany(x => x), d.Executed);
        Assert.Equal(0, d.Launches);
        Assert.Single(log);
        Assert.Contains("capturing it failed", log[0]);
    }

    [Fact]
    public void Work_queued_before_an_exception_is_still_issued_and_the_exception_propagates()
    {
        var (d, regions, _) = Make();
        Assert.Throws<ArgumentException>(() => regions.Run("step", () =>
        {
            d.Queue("forward", 3);
            throw new ArgumentException("bad shape");
        }));

        Assert.Equal(["forward@3:0"], d.Executed);
        Assert.Null(regions.Active);
        regions.Run("step", () => Step(d, 3, 0));
        Assert.Equal(1, regions.Captures);
    }

    [Fact]
    public void Disabled_or_nested_regions_run_their_work_directly()
    {
        var (d, regions, _) = Make();
        regions.Enabled = false;
        regions.Run("step", () => Step(d, 1, 0));
        Assert.Equal(0, regions.Captures);
        Assert.Equal(3, d.Executed.Count);

        regions.Enabled = true;
        d.Executed.Clear();
        regions.Run("outer", () =>
        {
            d.Queue("x", 1);
            regions.Run("inner", () => d.Queue("y", 1));
        });
        Assert.Equal(1, regions.Captures);
        Assert.Equal(["x@1:0", "y@1:0"], d.Executed);
    }
}

/// <summary>The <c>cuda_graphs</c> configuration key.</summary>
public sealed class CudaGraphsSettingTests
{
    [Fact]
    public void Cuda_graphs_default_on_parse_and_survive_the_saved_configuration()
    {
        string dir = Directory.CreateTempSubdirectory("onepass-graphs-").FullName;
        try
        {
            string path = Path.Combine(dir, "c.yaml");
            File.WriteAllText(path, "dataset: uci-energy\n");
            Assert.True(OnePass.Training.Configuration.TrainingConfig.Load(path).CudaGraphs);

            var off = OnePass.Training.Configuration.TrainingConfig.Load(path, ["cuda_graphs=false"]);
            Assert.False(off.CudaGraphs);
            File.WriteAllText(path, off.ToYaml());
            Assert.False(OnePass.Training.Configuration.TrainingConfig.Load(path).CudaGraphs);

            var e = Assert.Throws<OnePass.Training.Configuration.ConfigException>(() => OnePass.Training.Configuration.TrainingConfig.Load(path, ["cuda_graphs=sometimes"]));
            Assert.Contains("cuda_graphs", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
