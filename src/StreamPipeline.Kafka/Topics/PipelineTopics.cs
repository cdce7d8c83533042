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

    /// <summary>The default set, with partition counts sized for the embedded mock (about 5 MiB per partition).</summary>
    public static IReadOnlyList<TopicSpec> All(short replicationFactor = 3) =>
    [
        new(Metrics, 12, replicationFactor),
        new(Presence, 6, replicationFactor),
        new(MetricsDeadLetter, 3, replicationFactor),
        new(SinkDeadLetter, 3, replicationFactor),
        new(Commands, 6, replicationFactor),
        new(CommandResults, 6, replicationFactor),
        new(ConnectorRequests, 6, replicationFactor),
        new(ConnectorResponses, 6, replicationFactor),
        new(LateResponses, 3, replicationFactor),
    ];
}
