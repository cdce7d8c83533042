namespace StreamPipeline.AgentSimulator.Fleet;

/// <summary>The fleet's live counters, updated with <see cref="Interlocked"/> by every agent.</summary>
internal sealed class FleetCounters
{
    public long Connected;
    public long Authenticated;
    public long ConnectAttempts;
    public long ConnectFailures;
    public long Connects;
    public long Authentications;
    public long AuthFailures;
    public long AuthTimeouts;
    public long RevokedAgents;
    public long MetricsSent;
    public long MetricsSkipped;
    public long RequestsReceived;
    public long Executions;
    public long CachedReplies;
    public long Reconnects;
    public long ReplacedSessions;
    public long ConnectionsLost;
    public long BytesSent;

    public FleetStats Snapshot(int agents) => new()
    {
        Agents = agents,
        Connected = Volatile.Read(ref Connected),
        Authenticated = Volatile.Read(ref Authenticated),
        ConnectAttempts = Volatile.Read(ref ConnectAttempts),
        ConnectFailures = Volatile.Read(ref ConnectFailures),
        Connects = Volatile.Read(ref Connects),
        Authentications = Volatile.Read(ref Authentications),
        AuthFailures = Volatile.Read(ref AuthFailures),
        AuthTimeouts = Volatile.Read(ref AuthTimeouts),
        RevokedAgents = Volatile.Read(ref RevokedAgents),
        MetricsSent = Volatile.Read(ref MetricsSent),
        MetricsSkipped = Volatile.Read(ref MetricsSkipped),
        RequestsReceived = Volatile.Read(ref RequestsReceived),
        Executions = Volatile.Read(ref Executions),
        CachedReplies = Volatile.Read(ref CachedReplies),
        Reconnects = Volatile.Read(ref Reconnects),
        ReplacedSessions = Volatile.Read(ref ReplacedSessions),
        ConnectionsLost = Volatile.Read(ref ConnectionsLost),
        BytesSent = Volatile.Read(ref BytesSent),
    };
}
