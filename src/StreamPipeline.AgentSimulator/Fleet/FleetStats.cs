namespace StreamPipeline.AgentSimulator.Fleet;

/// <summary>A snapshot of a fleet's counters. Gauges: <see cref="Connected"/>, <see cref="Authenticated"/>; the rest only grow.</summary>
public sealed record FleetStats
{
    /// <summary>Agents in the fleet.</summary>
    public int Agents { get; init; }

    /// <summary>Open WebSockets now.</summary>
    public long Connected { get; init; }

    /// <summary>Sessions authenticated now.</summary>
    public long Authenticated { get; init; }

    /// <summary>Connection attempts (TCP + TLS + WebSocket handshake).</summary>
    public long ConnectAttempts { get; init; }

    /// <summary>Attempts that failed before the WebSocket opened.</summary>
    public long ConnectFailures { get; init; }

    /// <summary>WebSockets opened.</summary>
    public long Connects { get; init; }

    /// <summary>Successful authentications.</summary>
    public long Authentications { get; init; }

    /// <summary>Authentication replies with <c>"status":"error"</c>, plus 1008 closes before success.</summary>
    public long AuthFailures { get; init; }

    /// <summary>Authentications left unanswered past <see cref="SimulatorOptions.AuthenticationTimeout"/>.</summary>
    public long AuthTimeouts { get; init; }

    /// <summary>Agents stopped for good because their token was revoked.</summary>
    public long RevokedAgents { get; init; }

    /// <summary>Metrics frames sent (misbehaving ones included).</summary>
    public long MetricsSent { get; init; }

    /// <summary>Metrics ticks skipped because the previous send had not finished (the server stopped reading).</summary>
    public long MetricsSkipped { get; init; }

    /// <summary>Requests received from the server.</summary>
    public long RequestsReceived { get; init; }

    /// <summary>Requests really executed.</summary>
    public long Executions { get; init; }

    /// <summary>Requests answered from the response cache (their id was already processed).</summary>
    public long CachedReplies { get; init; }

    /// <summary>Connection attempts after the first one of each agent.</summary>
    public long Reconnects { get; init; }

    /// <summary>Sessions the server closed because a newer session of the same agent replaced them.</summary>
    public long ReplacedSessions { get; init; }

    /// <summary>Sessions that ended other than by the simulator's own stop.</summary>
    public long ConnectionsLost { get; init; }

    /// <summary>Bytes of WebSocket payload sent.</summary>
    public long BytesSent { get; init; }

    /// <summary>The one-line form the CLI prints.</summary>
    public override string ToString() =>
        $"agents={Agents} connected={Connected} authenticated={Authenticated} connects={Connects} connect_failures={ConnectFailures} " +
        $"auth_failures={AuthFailures} auth_timeouts={AuthTimeouts} revoked={RevokedAgents} metrics_sent={MetricsSent} metrics_skipped={MetricsSkipped} " +
        $"requests={RequestsReceived} executions={Executions} cached_replies={CachedReplies} reconnects={Reconnects} " +
        $"replaced={ReplacedSessions} lost={ConnectionsLost} bytes_sent={BytesSent}";
}
