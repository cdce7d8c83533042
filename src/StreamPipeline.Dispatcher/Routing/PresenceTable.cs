using StreamPipeline.Protocol;

namespace StreamPipeline.Dispatcher.Routing;

/// <summary>The connector session that owns an agent now.</summary>
internal readonly record struct AgentOwner(string ConnectorId, string SessionId, long Epoch);

/// <summary>
/// Who owns each agent, folded from the <c>agent-presence</c> topic (one agent's events are in order in one partition).
/// Per agent only the session with the highest epoch counts: a CONNECTED with an epoch at least as high replaces it (a
/// tie goes to the later record), and the agent is online while that session has no DISCONNECTED. Events of older
/// sessions are ignored: an agent holds one connection at a time, so a lower epoch is a session it already left.
/// Not thread-safe: the dispatcher's engine owns it under its lock.
/// </summary>
internal sealed class PresenceTable
{
    private readonly Dictionary<string, Entry> _agents = new(StringComparer.Ordinal);

    public int Count => _agents.Count;

    /// <summary>Applies one event; true when the agent's owner changed (new session, or went offline).</summary>
    public bool Apply(AgentPresence presence)
    {
        ArgumentNullException.ThrowIfNull(presence);
        _agents.TryGetValue(presence.AgentId, out var current);
        if (presence.Status == PresenceStatus.Connected)
        {
            if (current is not null && (presence.Epoch < current.Epoch || (current.Connected && current.SessionId == presence.SessionId)))
            {
                return false;
            }

            _agents[presence.AgentId] = new Entry(presence.ConnectorId, presence.SessionId, presence.Epoch, Connected: true);
            return true;
        }

        if (current is null || presence.Epoch > current.Epoch)
        {
            // The CONNECTED of this session was never seen (e.g. evicted): the agent is offline as of this epoch.
            _agents[presence.AgentId] = new Entry(presence.ConnectorId, presence.SessionId, presence.Epoch, Connected: false);
            return current is { Connected: true };
        }

        if (current.Connected && current.SessionId == presence.SessionId)
        {
            _agents[presence.AgentId] = current with { Connected = false };
            return true;
        }

        return false;
    }

    /// <summary>The owner of an online agent; false when the agent is offline or unknown.</summary>
    public bool TryGetOwner(string agentId, out AgentOwner owner)
    {
        if (_agents.TryGetValue(agentId, out var e) && e.Connected)
        {
            owner = new AgentOwner(e.ConnectorId, e.SessionId, e.Epoch);
            return true;
        }

        owner = default;
        return false;
    }

    private sealed record Entry(string ConnectorId, string SessionId, long Epoch, bool Connected);
}
