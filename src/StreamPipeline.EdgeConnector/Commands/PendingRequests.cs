using StreamPipeline.Kafka.Contracts;

namespace StreamPipeline.EdgeConnector.Commands;

/// <summary>
/// A request sent to an agent's session and not answered yet. Its state tells "never written" from "written": the
/// sender claims it just before the frame goes to the socket, and a session that ends first abandons it, so exactly one
/// of them wins and the report says truthfully whether the agent can have received it.
/// </summary>
internal sealed class PendingRequest(ConnectorRequest request, string sessionId, DateTimeOffset sentAt, DateTimeOffset forgetAt)
{
    private const int Queued = 0;
    private const int Written = 1;
    private const int Abandoned = 2;
    private int _state;

    public ConnectorRequest Request { get; } = request;
    public string SessionId { get; } = sessionId;
    public DateTimeOffset SentAt { get; } = sentAt;
    public DateTimeOffset ForgetAt { get; } = forgetAt;

    /// <summary>True once the frame was (being) written to the socket: the agent may have it.</summary>
    public bool MayHaveReachedAgent => Volatile.Read(ref _state) == Written;

    /// <summary>Called by the sender right before writing; false when the session already gave it up (do not write).</summary>
    public bool TryBeginWrite() => Interlocked.CompareExchange(ref _state, Written, Queued) != Abandoned;

    /// <summary>Called when the session ends: true when the frame was never written (the agent cannot have it).</summary>
    public bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Queued) == Queued;
}

/// <summary>What <see cref="PendingRequests.TryAdd"/> did with a request.</summary>
internal enum PendingAddResult
{
    /// <summary>Recorded (or it replaced the entry of an older session of the agent): write it.</summary>
    Added,

    /// <summary>The same request is already pending on this very session (a dispatcher took the command over): do not
    /// write it twice, the agent may be running it; its answer is reported when it comes.</summary>
    AlreadyPending,

    /// <summary>The map is at its bound: refuse the request (reported as not deliverable) rather than grow.</summary>
    Full,
}

/// <summary>
/// Requests this connector sent and is waiting on, by (agent, request id), and indexed by session so a session's end
/// touches only its own entries (the whole map used to be scanned at every session end). An entry is kept for twice
/// the request's timeout, so an answer that comes after the dispatcher gave up is still forwarded (and recorded there
/// as late) rather than lost; after that an answer is unknown: counted and dropped. The same request sent again to the
/// same session (a dispatcher took the command over) is not written twice. Bounded: at most <c>maxEntries</c>
/// entries; beyond it a new request is refused instead of growing without bound.
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

    /// <summary>Records a request for a session; see <see cref="PendingAddResult"/>.</summary>
    public PendingAddResult TryAdd(PendingRequest pending)
    {
        var key = (pending.Request.AgentId, pending.Request.RequestId);
        lock (_lock)
        {
            if (_pending.TryGetValue(key, out var existing))
            {
                if (existing.SessionId == pending.SessionId) return PendingAddResult.AlreadyPending;
                // The same request for a newer session: the old one's entry is replaced (that session is closing).
                Unindex(existing);
            }
            else if (_pending.Count >= maxEntries)
            {
                return PendingAddResult.Full;
            }

            _pending[key] = pending;
            if (!_bySession.TryGetValue(pending.SessionId, out var ids)) _bySession[pending.SessionId] = ids = [];
            ids.Add(pending.Request.RequestId);
            return PendingAddResult.Added;
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

    /// <summary>Removes this very entry (not a newer one for the same request).</summary>
    public bool TryRemove(PendingRequest pending)
    {
        var key = (pending.Request.AgentId, pending.Request.RequestId);
        lock (_lock)
        {
            if (!_pending.TryGetValue(key, out var current) || !ReferenceEquals(current, pending)) return false;
            _pending.Remove(key);
            Unindex(pending);
            return true;
        }
    }

    /// <summary>Removes and returns the requests of one session (it ended, or is closing, before the agent answered).</summary>
    public List<PendingRequest> TakeSession(string agentId, string sessionId)
    {
        var taken = new List<PendingRequest>();
        lock (_lock)
        {
            if (!_bySession.Remove(sessionId, out var ids)) return taken;
            foreach (var id in ids)
            {
                if (_pending.TryGetValue((agentId, id), out var p) && p.SessionId == sessionId)
                {
                    _pending.Remove((agentId, id));
                    taken.Add(p);
                }
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
