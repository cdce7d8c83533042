using System.Collections.Concurrent;

namespace StreamPipeline.EdgeConnector.Sessions;

/// <summary>The live session of each agent on this connector: one per agent id, the newest wins.</summary>
internal sealed class SessionRegistry
{
    private readonly ConcurrentDictionary<string, AgentSession> _sessions = new(StringComparer.Ordinal);

    public int Count => _sessions.Count;

    /// <summary>Registers a session; returns the one it replaces, if any.</summary>
    public AgentSession? Register(AgentSession session)
    {
        AgentSession? replaced = null;
        _sessions.AddOrUpdate(session.AgentId, session, (_, old) => { replaced = old; return session; });
        return replaced;
    }

    /// <summary>Removes the session only if it is still the registered one (a replaced session must not remove its successor).</summary>
    public bool Remove(AgentSession session) => _sessions.TryRemove(new KeyValuePair<string, AgentSession>(session.AgentId, session));

    public bool TryGet(string agentId, out AgentSession? session) => _sessions.TryGetValue(agentId, out session);

    public IReadOnlyCollection<AgentSession> Snapshot() => _sessions.Values.ToArray();
}
