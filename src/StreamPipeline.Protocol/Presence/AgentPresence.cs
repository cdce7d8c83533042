namespace StreamPipeline.Protocol;

/// <summary>Whether a session began or ended (enum <c>streampipeline.v1.PresenceStatus</c>; order matches the schema's symbols).</summary>
public enum PresenceStatus
{
    /// <summary><c>CONNECTED</c>: the agent authenticated on a connector.</summary>
    Connected = 0,
    /// <summary><c>DISCONNECTED</c>: the session ended.</summary>
    Disconnected = 1,
}

/// <summary>An agent presence event (record <c>streampipeline.v1.AgentPresence</c>); see schemas/avro/agent-presence.avsc for each field's meaning.</summary>
public sealed class AgentPresence
{
    /// <summary>Agent id from the authenticated session.</summary>
    public string AgentId { get; set; } = string.Empty;

    /// <summary>The connector that holds (or held) the session.</summary>
    public string ConnectorId { get; set; } = string.Empty;

    /// <summary>The session the event is about.</summary>
    public string SessionId { get; set; } = string.Empty;

    /// <summary>Ownership epoch: the connector's clock when the authenticate succeeded, Unix ms (highest wins).</summary>
    public long Epoch { get; set; }

    /// <summary>Connected or disconnected.</summary>
    public PresenceStatus Status { get; set; }

    /// <summary>Free-text reason for people, e.g. "agent closed", "replaced by newer session", "drain", "auth timeout".</summary>
    public string Reason { get; set; } = string.Empty;

    /// <summary>The agent's remote IP address as the connector saw it; empty when unknown.</summary>
    public string RemoteAddress { get; set; } = string.Empty;

    /// <summary>When the event happened, Unix ms.</summary>
    public long EventTimeMs { get; set; }

    /// <summary>When the session was authenticated, Unix ms.</summary>
    public long ConnectedTimeMs { get; set; }
}
