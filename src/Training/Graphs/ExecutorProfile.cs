using System.Diagnostics;

namespace OnePass.Training.Graphs;

/// <summary>
/// Wall time per op type and rule, accumulated over the passes of a <see cref="GraphExecutor"/> that has one set
/// (for `onepass bench --profile`: where the time of a gradient or a Hessian-vector product goes). The backend
/// is synchronised around each rule so that asynchronous devices are charged correctly.
/// </summary>
public sealed class ExecutorProfile
{
    private readonly Dictionary<(string Op, string Rule), (long Ticks, long Calls)> _entries = [];

    /// <summary>Seconds and calls per (op type, rule), largest first.</summary>
    public IReadOnlyList<(string Op, string Rule, double Seconds, long Calls)> Entries =>
        _entries.Select(e => (e.Key.Op, e.Key.Rule, e.Value.Ticks / (double)Stopwatch.Frequency, e.Value.Calls))
            .OrderByDescending(e => e.Item3).ToList();

    /// <summary>Forgets everything measured so far.</summary>
    public void Clear() => _entries.Clear();

    internal void Time(Node node, string rule, OpContext context, Action<OpContext> action)
    {
        context.Backend.Synchronize();
        long start = Stopwatch.GetTimestamp();
        action(context);
        context.Backend.Synchronize();
        var key = (node.Op.Type, rule);
        var (ticks, calls) = _entries.GetValueOrDefault(key);
        _entries[key] = (ticks + Stopwatch.GetTimestamp() - start, calls + 1);
    }
}
