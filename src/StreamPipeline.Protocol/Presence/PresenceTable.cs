namespace StreamPipeline.Protocol;

/// <summary>The connector session that owns an agent now; <see cref="Position"/> orders it among the agent's sessions.</summary>
public readonly record struct AgentOwner(string ConnectorId, string SessionId, long Position, long ConnectedTimeMs, string RemoteAddress);

/// <summary>
/// Who owns each agent, folded from the <c>agent-presence</c> topic (one home: the dispatcher routes with it, spctl lists
/// with it). Sessions are ordered by where their first record sits in the agent's partition (every record of one agent
/// is in one partition, keyed by agent id), never by a connector's clock: a connector whose clock is behind still
/// publishes a newer session later. The owner is the session that appeared last, while it has no DISCONNECTED (an older
/// session never comes back as owner: its connector may be dead). A CONNECTED of a session already known is a refresh (connectors re-publish live sessions so retention
/// and compaction never leave an agent without one) and changes nothing; a DISCONNECTED ends only its own session. A few
/// recent sessions are kept per agent, so an older session still open when a newer one appeared (a clone, or a
/// connection its connector had not yet seen die) can be told from one that ended first (<see cref="EndedBefore"/>).
/// Not thread-safe: the caller owns it under its lock.
/// </summary>
public sealed class PresenceTable
{
    /// <summary>Sessions remembered per agent; the oldest ended ones are forgotten first.</summary>
    public const int SessionsPerAgent = 4;

    private readonly Dictionary<string, List<Session>> _agents = new(StringComparer.Ordinal);

    /// <summary>Agents seen.</summary>
    public int Count => _agents.Count;

    /// <summary>Applies one record at <paramref name="position"/> (its offset in the agent's partition); true when the agent's owner changed.</summary>
    public bool Apply(AgentPresence presence, long position)
    {
        ArgumentNullException.ThrowIfNull(presence);
        if (!_agents.TryGetValue(presence.AgentId, out var sessions))
        {
            sessions = new List<Session>(1);
            _agents.Add(presence.AgentId, sessions);
        }

        var before = Owner(sessions);
        var session = sessions.Find(s => s.SessionId == presence.SessionId);
        if (presence.Status == PresenceStatus.Connected)
        {
            if (session is not null) return false; // a refresh of a live session, or a late copy of an ended one
            sessions.Add(new Session(presence.SessionId, presence.ConnectorId, position, presence.ConnectedTimeMs, presence.RemoteAddress));
        }
        else if (session is null)
        {
            // Its CONNECTED was never read: it lies before everything read (retention deleted it) or was compacted away
            // behind a later record of the agent. Either way an older session, which changes no owner.
            sessions.Add(new Session(presence.SessionId, presence.ConnectorId, -1, presence.ConnectedTimeMs, presence.RemoteAddress) { EndedAt = position });
        }
        else if (session.EndedAt == long.MaxValue)
        {
            session.EndedAt = position;
        }
        else
        {
            return false;
        }

        Trim(sessions);
        return !ReferenceEquals(before, Owner(sessions));
    }

    /// <summary>The owner of an online agent; false when the agent is offline or unknown.</summary>
    public bool TryGetOwner(string agentId, out AgentOwner owner)
    {
        if (_agents.TryGetValue(agentId, out var sessions) && Owner(sessions) is { } s)
        {
            owner = new AgentOwner(s.ConnectorId, s.SessionId, s.ConnectedAt, s.ConnectedTimeMs, s.RemoteAddress);
            return true;
        }

        owner = default;
        return false;
    }

    /// <summary>
    /// Whether the agent's session first seen at <paramref name="sessionPosition"/> had ended before the record at
    /// <paramref name="laterPosition"/> (the newer session's CONNECTED). False when it was still open then: two sessions
    /// of one agent id overlapped. A session no longer remembered counts as ended.
    /// </summary>
    public bool EndedBefore(string agentId, long sessionPosition, long laterPosition)
    {
        if (!_agents.TryGetValue(agentId, out var sessions)) return true;
        var session = sessions.Find(s => s.ConnectedAt == sessionPosition);
        return session is null || session.EndedAt < laterPosition;
    }

    /// <summary>Every agent online now and its owner.</summary>
    public IEnumerable<(string AgentId, AgentOwner Owner)> Online()
    {
        foreach (var (agentId, sessions) in _agents)
        {
            if (Owner(sessions) is { } s) yield return (agentId, new AgentOwner(s.ConnectorId, s.SessionId, s.ConnectedAt, s.ConnectedTimeMs, s.RemoteAddress));
        }
    }

    private static Session? Owner(List<Session> sessions)
    {
        Session? newest = null;
        foreach (var s in sessions)
        {
            if (newest is null || s.ConnectedAt > newest.ConnectedAt) newest = s;
        }

        return newest is { EndedAt: long.MaxValue } ? newest : null;
    }

    private static void Trim(List<Session> sessions)
    {
        while (sessions.Count > SessionsPerAgent)
        {
            // The oldest ended session goes first; if every one is open (a storm of clones), the oldest open one.
            var victim = -1;
            for (var i = 0; i < sessions.Count; i++)
            {
                var s = sessions[i];
                if (victim < 0) { victim = i; continue; }
                var v = sessions[victim];
                var sEnded = s.EndedAt != long.MaxValue;
                var vEnded = v.EndedAt != long.MaxValue;
                if ((sEnded && !vEnded) || (sEnded == vEnded && s.ConnectedAt < v.ConnectedAt)) victim = i;
            }

            sessions.RemoveAt(victim);
        }
    }

    private sealed class Session(string sessionId, string connectorId, long connectedAt, long connectedTimeMs, string remoteAddress)
    {
        public string SessionId { get; } = sessionId;
        public string ConnectorId { get; } = connectorId;

        /// <summary>Position of the first record of this session that was read.</summary>
        public long ConnectedAt { get; } = connectedAt;
        public long ConnectedTimeMs { get; } = connectedTimeMs;
        public string RemoteAddress { get; } = remoteAddress;

        /// <summary>Position of its DISCONNECTED; <see cref="long.MaxValue"/> while open.</summary>
        public long EndedAt { get; set; } = long.MaxValue;
    }
}
