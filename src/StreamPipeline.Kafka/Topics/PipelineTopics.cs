namespace StreamPipeline.Kafka.Topics;

/// <summary>
/// The topics of the pipeline, their default names and partition counts. Every agent-scoped record is
/// keyed by agent id, so one agent's records stay ordered in one partition. See docs/kafka-topics.md.
/// </summary>
public static class PipelineTopics
{
    /// <summary>Metrics samples (Avro <c>streampipeline.v1.MetricsSample</c>), written by edge connectors.</summary>
    public const string Metrics = "agent-metrics";

    /// <summary>Presence events (Avro <c>streampipeline.v1.AgentPresence</c>): connected / disconnected, owning connector, session epoch.</summary>
    public const string Presence = "agent-presence";

    /// <summary>Frames an edge connector refused (raw bytes, reason in headers).</summary>
    public const string MetricsDeadLetter = "agent-metrics-dlq";

    /// <summary>Records the sink could not decode: raw key and value, the reason in headers, skipped by offset.</summary>
    public const string SinkDeadLetter = "agent-metrics-sink-dlq";

    /// <summary>Commands written by other systems for the dispatcher.</summary>
    public const string Commands = "agent-commands";

    /// <summary>Exactly one terminal result per command, keyed by command id.</summary>
    public const string CommandResults = "command-results";

    /// <summary>Requests routed by dispatchers to the connector that owns the agent.</summary>
    public const string ConnectorRequests = "connector-requests";

    /// <summary>
    /// Connectors' reports on routed requests, back to the dispatcher that owns the command. MUST have the same
    /// partition count as <see cref="Commands"/>: with range assignment, partition i of both goes to the same
    /// dispatcher (the dispatcher checks this at start and refuses to run otherwise).
    /// </summary>
    public const string ConnectorResponses = "connector-responses";

    /// <summary>Agent responses that arrived after their command was already decided (recorded, not lost).</summary>
    public const string LateResponses = "command-late-responses";

    /// <summary>
    /// The dispatchers' own state: a snapshot per commands partition (keyed by the partition number, compacted), so the
    /// next owner of a partition knows which of its records are decided. Same partition count as <see cref="Commands"/>.
    /// </summary>
    public const string DispatcherState = "dispatcher-state";

    /// <summary>
    /// Agent credentials every connector follows when <c>EdgeConnector:CredentialStore=kafka</c>: the SHA-256 of each
    /// agent's token (never the token), active or revoked, keyed by agent id, compacted (a tombstone removes the agent).
    /// Written by <c>spctl tokens</c>; each connector reads it whole before it is ready.
    /// </summary>
    public const string Credentials = "agent-credentials";

    /// <summary>Every issue and revoke of an agent token (who, what, when, which agent; no token), keyed by agent id; loaded by sinks into <c>credential_audit</c>.</summary>
    public const string CredentialAudit = "credential-audit";

    /// <summary>
    /// Largest record on the topics that carry an agent's answer (connector responses, results, late responses): an
    /// answer may be a whole 1 MiB frame (EdgeConnector:MaxFrameBytes) plus the record's other fields. Producers of those
    /// records are sized to it; the topics need <c>max.message.bytes</c> at least this (Kafka's default is 1 MiB).
    /// </summary>
    public const int AnswerRecordBytes = 2 * 1024 * 1024;

    private static readonly Dictionary<string, string> AnswerTopicConfigs = new(StringComparer.Ordinal)
    {
        ["max.message.bytes"] = AnswerRecordBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    // Correct under both policies: connectors re-publish every live session's CONNECTED (EdgeConnector:PresenceRefreshInterval,
    // 1 h, well inside the retention) and right after a late DISCONNECTED of an older session of the same agent.
    private static readonly Dictionary<string, string> PresenceConfigs = new(StringComparer.Ordinal)
    {
        ["cleanup.policy"] = "compact,delete",
        ["retention.ms"] = "604800000",
    };

    private static readonly Dictionary<string, string> StateConfigs = new(StringComparer.Ordinal)
    {
        ["cleanup.policy"] = "compact",
        ["max.message.bytes"] = AnswerRecordBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    // Only the newest record per agent matters; delete.retention.ms keeps a tombstone a day so every connector sees it.
    private static readonly Dictionary<string, string> CredentialConfigs = new(StringComparer.Ordinal)
    {
        ["cleanup.policy"] = "compact",
        ["delete.retention.ms"] = "86400000",
    };

    // The audit trail stays in Kafka 90 days; ClickHouse's credential_audit keeps it for good.
    private static readonly Dictionary<string, string> AuditConfigs = new(StringComparer.Ordinal)
    {
        ["retention.ms"] = "7776000000",
    };

    /// <summary>The default set, with partition counts sized for the embedded mock (about 5 MiB per partition).</summary>
    public static IReadOnlyList<TopicSpec> All(short replicationFactor = 3) =>
    [
        new(Metrics, 12, replicationFactor),
        new(Presence, 6, replicationFactor, PresenceConfigs),
        new(MetricsDeadLetter, 3, replicationFactor),
        new(SinkDeadLetter, 3, replicationFactor),
        new(Commands, 6, replicationFactor),
        new(CommandResults, 6, replicationFactor, AnswerTopicConfigs),
        new(ConnectorRequests, 6, replicationFactor),
        new(ConnectorResponses, 6, replicationFactor, AnswerTopicConfigs),
        new(LateResponses, 3, replicationFactor, AnswerTopicConfigs),
        new(DispatcherState, 6, replicationFactor, StateConfigs),
        new(Credentials, 6, replicationFactor, CredentialConfigs),
        new(CredentialAudit, 3, replicationFactor, AuditConfigs),
    ];
}
