namespace StreamPipeline.Protocol;

/// <summary>
/// Kafka header names on a dead letter, for both publishers: the edge connector's (a frame it refused, kept as the raw
/// bytes received, on <c>agent-metrics-dlq</c>; KafkaPublisher.PublishDeadLetterAsync) and the sink's (a record it
/// could not load, on <c>agent-metrics-sink-dlq</c>; DeadLetterPublisher), and for their readers (the sink's
/// <c>dead_letters</c> index and dead-letter replay). Header values are UTF-8 text; the names are a contract with
/// operators' tools (kcat, replay): never rename one. See schemas/avro/README.md.
/// </summary>
public static class DeadLetterHeaders
{
    /// <summary>Why: the <see cref="ProtocolErrorReason"/> in snake_case, e.g. <c>wrong_type</c>, <c>malformed_json</c>.</summary>
    public const string Reason = "reason";

    /// <summary>The error message naming the field, e.g. <c>diskUsage[2].totalGB must be a number, got string</c>.</summary>
    public const string Error = "error";

    /// <summary>Agent id from the authenticated session.</summary>
    public const string AgentId = "agent_id";

    /// <summary>The connector that received the frame.</summary>
    public const string ConnectorId = "connector_id";

    /// <summary>The session the frame arrived on.</summary>
    public const string SessionId = "session_id";

    /// <summary>Receive time, Unix milliseconds as decimal text.</summary>
    public const string ReceivedTimeMs = "received_time_ms";

    /// <summary>Present when the frame may carry a credential: the record value is then empty and this says why.</summary>
    public const string Redacted = "redacted";

    /// <summary>Sink dead letters: the topic the record was read from.</summary>
    public const string SourceTopic = "source_topic";

    /// <summary>Sink dead letters: its partition, decimal text.</summary>
    public const string SourcePartition = "source_partition";

    /// <summary>Sink dead letters: its offset, decimal text (with topic and partition, the key to deduplicate by).</summary>
    public const string SourceOffset = "source_offset";
}
