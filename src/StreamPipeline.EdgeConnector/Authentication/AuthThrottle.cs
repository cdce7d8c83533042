using System.Net;

namespace StreamPipeline.EdgeConnector.Authentication;

/// <summary>
/// Counts failed authentications per (source address, agent id) in one-minute windows; a key over the limit is
/// refused without checking its token until its window ends. Keyed by agent id too, so one broken or revoked agent
/// behind a NAT does not lock out its neighbours on the same address. A bounded LRU: at most <c>maxEntries</c> keys
/// are tracked and the least recently failed one is forgotten first (it used to clear everyone at 100,000 addresses,
/// which also freed every throttled attacker).
/// </summary>
internal sealed class AuthThrottle(int failuresPerMinute, int maxEntries, TimeProvider time)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly Lock _lock = new();
    private readonly Dictionary<Key, LinkedListNode<Entry>> _entries = [];
    private readonly LinkedList<Entry> _recency = new(); // most recent first

    public int Count
    {
        get { lock (_lock) return _entries.Count; }
    }

    public bool IsBlocked(IPAddress address, string agentId)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            return _entries.TryGetValue(new Key(address, agentId), out var node)
                   && now - node.Value.WindowStart < Window && node.Value.Failures >= failuresPerMinute;
        }
    }

    public void RecordFailure(IPAddress address, string agentId)
    {
        var now = time.GetUtcNow();
        var key = new Key(address, agentId);
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                var e = node.Value;
                if (now - e.WindowStart >= Window) { e.WindowStart = now; e.Failures = 0; }
                e.Failures++;
                _recency.Remove(node);
                _recency.AddFirst(node);
                return;
            }

            if (_entries.Count >= maxEntries)
            {
                var oldest = _recency.Last!;
                _recency.RemoveLast();
                _entries.Remove(oldest.Value.Key);
            }

            _entries[key] = _recency.AddFirst(new Entry(key) { WindowStart = now, Failures = 1 });
        }
    }

    private readonly record struct Key(IPAddress Address, string AgentId);

    private sealed class Entry(Key key)
    {
        public Key Key { get; } = key;
        public DateTimeOffset WindowStart { get; set; }
        public int Failures { get; set; }
    }
}
