using System.Collections.Concurrent;
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

/// <summary>
/// Requests this connector sent and is waiting on, by (agent, request id). An entry is kept for twice the request's
/// timeout, so an answer that comes after the dispatcher gave up is still forwarded (and recorded there as late) rather
/// than lost; after that an answer is unknown: counted and dropped. The same request sent again to the same session (a
/// dispatcher took the command over) is not written twice: the agent may be running it.
/// </summary>
internal sealed class PendingRequests
{
    public const int MaxEntries = 200_000;
    private readonly ConcurrentDictionary<(string AgentId, long RequestId), PendingRequest> _pending = new();

    public int Count => _pending.Count;

    /// <summary>
    /// Records a request for a session; false when the same request is already pending on that session (already
    /// written, or about to be), so it must not be written again: its answer will be reported when it comes.
    /// </summary>
    public bool TryAdd(PendingRequest pending)
    {
        var key = (pending.Request.AgentId, pending.Request.RequestId);
        while (true)
        {
            if (_pending.TryGetValue(key, out var existing))
            {
                if (existing.SessionId == pending.SessionId) return false;
                // The same request for a newer session: the old one's entry is replaced (that session is closing).
                if (_pending.TryUpdate(key, pending, existing)) return true;
                continue;
            }

            if (_pending.Count >= MaxEntries) return true; // not tracked: its answer will be unknown, but it is sent
            if (_pending.TryAdd(key, pending)) return true;
        }
    }

    public bool TryTake(string agentId, long requestId, out PendingRequest? pending) => _pending.TryRemove((agentId, requestId), out pending);

    /// <summary>Removes this very entry (not a newer one for the same request).</summary>
    public bool TryRemove(PendingRequest pending) =>
        _pending.TryRemove(new KeyValuePair<(string, long), PendingRequest>((pending.Request.AgentId, pending.Request.RequestId), pending));

    /// <summary>Removes and returns the requests of one session (it ended, or is closing, before the agent answered).</summary>
    public List<PendingRequest> TakeSession(string agentId, string sessionId)
    {
        var taken = new List<PendingRequest>();
        foreach (var (key, value) in _pending)
        {
            if (key.AgentId == agentId && value.SessionId == sessionId && _pending.TryRemove(new KeyValuePair<(string, long), PendingRequest>(key, value))) taken.Add(value);
        }

        return taken;
    }

    /// <summary>Forgets entries past their time; returns how many.</summary>
    public int Sweep(DateTimeOffset now)
    {
        var removed = 0;
        foreach (var (key, value) in _pending)
        {
            if (value.ForgetAt <= now && _pending.TryRemove(new KeyValuePair<(string, long), PendingRequest>(key, value))) removed++;
        }

        return removed;
    }
}
