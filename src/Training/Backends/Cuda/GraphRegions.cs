namespace OnePass.Training.Backends.Cuda;

/// <summary>Captures recorded work into executable CUDA graphs and launches them (the driver half of <see cref="GraphRegions"/>).</summary>
internal interface IGraphDriver
{
    /// <summary>
    /// Captures the work <paramref name="issue"/> queues into an instantiated graph without running it; throws when the
    /// driver refuses (the stream is then no longer capturing).
    /// </summary>
    IDisposable Capture(Action issue);

    /// <summary>Queues one run of a graph made by <see cref="Capture"/>.</summary>
    void Launch(IDisposable graph);
}

/// <summary>
/// Replayable regions: a named stretch of host code (a training step's forward and backward passes, one Neumann
/// term) whose device work is recorded rather than issued. When the recording equals one this region made before —
/// the same kernels, shapes, pointers and scalars in the same order — the CUDA graph captured then is launched in
/// one call instead of the hundreds of launches the code queued; otherwise the recording is captured into a new graph
/// (up to <see cref="GraphsPerRegion"/> per region, most recent first) and launched. The host code runs exactly once
/// either way, so anything it decides on the host (shapes, flags, scalars) is seen and compared, never assumed.
/// A region that needs a value from the device (a download, a reduction read on the host) is broken: what it recorded
/// is issued at once, the rest runs eagerly, and the region runs without graphs from then on (one log line says so).
/// </summary>
internal sealed class GraphRegions : IDisposable
{
    /// <summary>Graphs kept per region (for example a full batch and a pass's shorter last batch).</summary>
    public const int GraphsPerRegion = 4;

    private readonly IGraphDriver driver;
    private readonly Action<string> log;
    private readonly Dictionary<string, List<(StreamRecording Work, IDisposable Graph)>> graphs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> eagerRegions = new(StringComparer.Ordinal);
    private string? activeName;

    /// <summary>Creates the regions over <paramref name="driver"/>, reporting regions that fall back to eager launches to <paramref name="log"/>.</summary>
    public GraphRegions(IGraphDriver driver, Action<string> log)
    {
        this.driver = driver ?? throw new ArgumentNullException(nameof(driver));
        this.log = log ?? throw new ArgumentNullException(nameof(log));
    }

    /// <summary>Whether regions use graphs at all; off, <see cref="Run"/> just runs its work.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The recording in progress; the backend records into it instead of issuing while it is set.</summary>
    public StreamRecording? Active { get; private set; }

    /// <summary>Graphs captured so far.</summary>
    public int Captures { get; private set; }

    /// <summary>Regions served by launching a graph captured earlier.</summary>
    public int Replays { get; private set; }

    /// <summary>Regions that run eagerly for good, with the reason.</summary>
    public IReadOnlyDictionary<string, string> EagerRegions => eagerRegions;

    /// <summary>Runs <paramref name="work"/> as the region <paramref name="name"/> (see the class summary).</summary>
    public void Run(string name, Action work)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(work);
        if (!Enabled || Active is not null || eagerRegions.ContainsKey(name))
        {
            // Off, eager for good, or nested inside another region (whose recording then holds this work too).
            work();
            return;
        }

        var recording = new StreamRecording();
        Active = recording;
        activeName = name;
        try
        {
            work();
        }
        catch
        {
            // Eagerly, the work queued before the failure would have been issued: keep that.
            if (ReferenceEquals(Active, recording))
            {
                Stop();
                recording.IssueAll();
            }

            throw;
        }

        if (!ReferenceEquals(Active, recording))
        {
            return; // broken by a host read: already issued, and the region is eager from now on
        }

        Stop();
        if (recording.Count == 0)
        {
            return;
        }

        if (!graphs.TryGetValue(name, out var kept))
        {
            graphs[name] = kept = [];
        }

        for (int i = 0; i < kept.Count; i++)
        {
            if (kept[i].Work.SameWorkAs(recording))
            {
                var hit = kept[i];
                kept.RemoveAt(i);
                kept.Insert(0, hit);
                driver.Launch(hit.Graph);
                Replays++;
                return;
            }
        }

        IDisposable graph;
        try
        {
            graph = driver.Capture(recording.IssueAll);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            GoEager(name, $"capturing it failed ({FirstLine(e.Message)})");
            recording.IssueAll();
            return;
        }

        Captures++;
        kept.Insert(0, (recording, graph));
        if (kept.Count > GraphsPerRegion)
        {
            kept[^1].Graph.Dispose();
            kept.RemoveAt(kept.Count - 1);
        }

        driver.Launch(graph);
    }

    /// <summary>
    /// Called by the backend before an operation that waits for the device or reads host memory later (a download,
    /// an upload from pageable memory, a reduction read back): issues what the active region recorded, so the
    /// operation sees it done, and makes that region eager for good. Does nothing outside a region.
    /// </summary>
    public void Break(string operation)
    {
        if (Active is not { } recording)
        {
            return;
        }

        string name = activeName!;
        Stop();
        recording.IssueAll();
        GoEager(name, $"it reads from or writes to host memory ({operation})");
    }

    private void Stop()
    {
        Active = null;
        activeName = null;
    }

    private void GoEager(string name, string reason)
    {
        eagerRegions[name] = reason;
        if (graphs.Remove(name, out var kept))
        {
            foreach (var (_, graph) in kept)
            {
                graph.Dispose();
            }
        }

        log($"CUDA graphs: region '{name}' runs without a graph: {reason}");
    }

    private static string FirstLine(string message)
    {
        int newline = message.IndexOfAny(['\r', '\n']);
        return newline < 0 ? message : message[..newline];
    }

    /// <summary>Destroys every graph kept.</summary>
    public void Dispose()
    {
        foreach (var kept in graphs.Values)
        {
            foreach (var (_, graph) in kept)
            {
                graph.Dispose();
            }
        }

        graphs.Clear();
    }
}
