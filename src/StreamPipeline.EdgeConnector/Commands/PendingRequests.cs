using System.Collections.Concurrent;
using StreamPipeline.Kafka.Contracts;

namespace StreamPipeline.EdgeConnector.Commands;

/// <summary>A request sent to an agent and not answered yet.</summary>
internal sealed record PendingRequest(ConnectorRequest Request, string SessionId, DateTimeOffset SentAt, DateTimeOffset ForgetAt);

/// <summary>
/// Requests this connector sent and is waiting on, by (agent, request id). An entry is kept for twice the
/// request's timeout, so an answer that comes after the dispatcher gave up is still forwarded (and recorded
/// there as late) rather than lost; after that an answer is unknown: counted and dropped.
/// </summary>
internal sealed class PendingRequests
{
    public const int MaxEntries = 200_000;
    private readonly ConcurrentDictionary<(string AgentId, long RequestId), PendingRequest> _pending = new();

    public int Count => _pending.Count;

    public bool TryAdd(PendingRequest pending) =>
        _pending.Count < MaxEntries && _pending.TryAdd((pending.Request.AgentId, pending.Request.RequestId), pending);

    /// <summary>Replaces an entry for the same id (a resend of the same command).</summary>
    public void Set(PendingRequest pending) => _pending[(pending.Request.AgentId, pending.Request.RequestId)] = pending;

    public bool TryTake(string agentId, long requestId, out PendingRequest? pending) => _pending.TryRemove((agentId, requestId), out pending);

    /// <summary>Removes and returns the requests of one session (it ended before the agent answered).</summary>
    public List<PendingRequest> TakeSession(string agentId, string sessionId)
    {
        var taken = new List<PendingRequest>();
        foreach (var (key, value) in _pending)
        {
            if (key.AgentId == agentId && value.SessionId == sessionId && _pending.TryRemove(key, out var p)) taken.Add(p);
        }

        return taken;
    }

    /// <summary>Forgets entries past their time; returns how many.</summary>
    public int Sweep(DateTimeOffset now)
    {
        var removed = 0;
        foreach (var (key, value) in _pending)
        {
            if (value.ForgetAt <= now && _pending.TryRemove(key, out _)) removed++;
        }

        return removed;
    }
}
