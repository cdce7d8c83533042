using StreamPipeline.Kafka.Contracts;

namespace StreamPipeline.EdgeConnector.Commands;

/// <summary>A request sent to an agent and not answered yet.</summary>
internal sealed record PendingRequest(ConnectorRequest Request, string SessionId, DateTimeOffset SentAt, DateTimeOffset ForgetAt);

/// <summary>
/// Requests this connector sent and is waiting on, by (agent, request id), and indexed by session so a session's end
/// touches only its own entries (the whole map used to be scanned at every session end). An entry is kept for twice
/// the request's timeout, so an answer that comes after the dispatcher gave up is still forwarded (and recorded there
/// as late) rather than lost; after that an answer is unknown. Bounded: at most <c>maxEntries</c> entries; beyond it
/// a new request is refused (the relay reports it as not deliverable) instead of growing without bound.
/// One lock: every operation is a few dictionary steps, and none calls out while holding it.
/// </summary>
internal sealed class PendingRequests(TimeProvider time, int maxEntries)
{
    public const int DefaultMaxEntries = 200_000;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string AgentId, long RequestId), PendingRequest> _pending = [];
    private readonly Dictionary<string, HashSet<long>> _bySession = new(StringComparer.Ordinal);

    public PendingRequests(TimeProvider time) : this(time, DefaultMaxEntries)
    {
    }

    public int MaxEntries => maxEntries;

    public int Count
    {
        get { lock (_lock) return _pending.Count; }
    }

    /// <summary>Adds an entry, or replaces one for the same id (a resend of the same command). False when full.</summary>
    public bool TrySet(PendingRequest pending)
    {
        var key = (pending.Request.AgentId, pending.Request.RequestId);
        lock (_lock)
        {
            if (_pending.TryGetValue(key, out var old)) Unindex(old);
            else if (_pending.Count >= maxEntries) return false;
            _pending[key] = pending;
            if (!_bySession.TryGetValue(pending.SessionId, out var ids)) _bySession[pending.SessionId] = ids = [];
            ids.Add(pending.Request.RequestId);
            return true;
        }
    }

    public bool TryTake(string agentId, long requestId, out PendingRequest? pending)
    {
        lock (_lock)
        {
            if (!_pending.Remove((agentId, requestId), out pending)) return false;
            Unindex(pending);
            return true;
        }
    }

    /// <summary>Removes and returns the requests of one session (it ended before the agent answered).</summary>
    public List<PendingRequest> TakeSession(string agentId, string sessionId)
    {
        var taken = new List<PendingRequest>();
        lock (_lock)
        {
            if (!_bySession.Remove(sessionId, out var ids)) return taken;
            foreach (var id in ids)
            {
                if (_pending.Remove((agentId, id), out var p)) taken.Add(p);
            }
        }

        return taken;
    }

    /// <summary>Forgets entries past their time; returns how many.</summary>
    public int Sweep()
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            List<(string, long)>? expired = null;
            foreach (var (key, value) in _pending)
            {
                if (value.ForgetAt <= now) (expired ??= []).Add(key);
            }

            if (expired is null) return 0;
            foreach (var key in expired)
            {
                if (_pending.Remove(key, out var p)) Unindex(p);
            }

            return expired.Count;
        }
    }

    private void Unindex(PendingRequest pending)
    {
        if (_bySession.TryGetValue(pending.SessionId, out var ids) && ids.Remove(pending.Request.RequestId) && ids.Count == 0)
            _bySession.Remove(pending.SessionId);
    }
}
