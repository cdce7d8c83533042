using System.Collections.Concurrent;
using System.Net;

namespace StreamPipeline.EdgeConnector.Authentication;

/// <summary>
/// Counts failed authentications per source address in one-minute windows; an address over the limit is
/// refused without checking its token until the window ends. Bounded: at most <see cref="MaxAddresses"/>
/// addresses are tracked, the table is cleared when it is full.
/// </summary>
internal sealed class AuthThrottle(int failuresPerMinute, TimeProvider time)
{
    public const int MaxAddresses = 100_000;
    private readonly ConcurrentDictionary<IPAddress, Window> _windows = new();

    public bool IsBlocked(IPAddress address)
    {
        var now = time.GetUtcNow();
        return _windows.TryGetValue(address, out var w) && now - w.Start < TimeSpan.FromMinutes(1) && w.Failures >= failuresPerMinute;
    }

    public void RecordFailure(IPAddress address)
    {
        var now = time.GetUtcNow();
        if (_windows.Count >= MaxAddresses) _windows.Clear();
        _windows.AddOrUpdate(address, _ => new Window(now, 1),
            (_, w) => now - w.Start >= TimeSpan.FromMinutes(1) ? new Window(now, 1) : w with { Failures = w.Failures + 1 });
    }

    private sealed record Window(DateTimeOffset Start, int Failures);
}
