namespace StreamPipeline.AgentSimulator.Misbehaviour;

/// <summary>Ways a simulated agent can break the protocol, to test how the connector copes.</summary>
public enum AgentMisbehaviour
{
    /// <summary>Behaves exactly like the real agent.</summary>
    None = 0,

    /// <summary>Authenticates, then every metrics frame is truncated JSON.</summary>
    MalformedJson,

    /// <summary>Authenticates, then metrics carry wrong JSON types: <c>cpuUsagePercent</c> and <c>uptimeSeconds</c> as strings.</summary>
    WrongTypes,

    /// <summary>Authenticates, then every metrics frame is valid JSON padded to <see cref="SimulatorOptions.OversizedFrameBytes"/>.</summary>
    OversizedFrames,

    /// <summary>Authenticates, then sends metrics back to back as fast as the socket takes them, ignoring the interval.</summary>
    Flood,

    /// <summary>Opens the socket and sends nothing at all (still reads, so it sees the server's close).</summary>
    NeverAuthenticate,

    /// <summary>Opens the socket and streams metrics at the interval without ever authenticating.</summary>
    MetricsBeforeAuthentication,

    /// <summary>Authenticates, then never reads from the socket again (requests pile up unanswered); keeps sending metrics.</summary>
    SlowReader,

    /// <summary>Authenticates with a token that is not the agent's (so it fails and retries with the auth-failure backoff).</summary>
    BadToken,
}
