namespace StreamPipeline.Sink.Decoding;

/// <summary>A table the sink inserts into and the columns, in the order <see cref="RecordDecoder"/> writes them.</summary>
internal sealed record SinkTable(string Name, string[] Columns);

/// <summary>The tables of schemas/clickhouse that the sink writes (the rest is filled by materialized views).</summary>
internal static class SinkTables
{
    public static readonly SinkTable MetricsSamples = new("metrics_samples",
    [
        "agent_id", "connector_id", "session_id", "agent_time", "received_time",
        "cpu_usage_percent", "ram_usage_percent", "ram_used_gb", "uptime_seconds",
        "load_1m", "load_5m", "load_15m", "disk_read_speed_mbps", "disk_write_speed_mbps",
        "disk_count", "interface_count", "clock_skewed", "kafka_partition", "kafka_offset",
    ]);

    public static readonly SinkTable MetricsDisks = new("metrics_disks",
    [
        "agent_id", "agent_time", "received_time", "disk_index", "device", "mountpoint", "fstype",
        "total_gb", "used_gb", "usage_percent", "kafka_partition", "kafka_offset",
    ]);

    public static readonly SinkTable MetricsInterfaces = new("metrics_interfaces",
    [
        "agent_id", "agent_time", "received_time", "interface_index", "name", "mac", "ipv4", "ipv6",
        "upload_speed_mbps", "download_speed_mbps", "kafka_partition", "kafka_offset",
    ]);

    public static readonly SinkTable AgentPresence = new("agent_presence",
    [
        "agent_id", "connector_id", "session_id", "epoch", "status", "reason", "remote_address",
        "event_time", "connected_time", "kafka_partition", "kafka_offset",
    ]);

    public static readonly SinkTable CommandLog = new("command_log",
    [
        "command_id", "agent_id", "action", "request_id", "status", "response_json", "error", "connector_id",
        "created_time", "dispatched_time", "completed_time", "kafka_partition", "kafka_offset",
    ]);

    /// <summary>
    /// The index of dead letters, both stages: the sink's own (written with the batch that set them aside) and the
    /// connector's (loaded from its dead-letter topic). Written by <see cref="DeadLetters.DeadLetterRows"/>.
    /// </summary>
    public static readonly SinkTable DeadLetters = new("dead_letters",
    [
        "stage", "agent_id", "connector_id", "source_topic", "source_partition", "source_offset",
        "dead_letter_topic", "dead_letter_partition", "dead_letter_offset", "reason", "error", "dead_lettered_time",
    ]);

    /// <summary>Every issue and revoke of an agent token, from <c>credential-audit</c>. Written by <see cref="CredentialAuditRows"/>.</summary>
    public static readonly SinkTable CredentialAudit = new("credential_audit",
    [
        "event_id", "action", "agent_id", "actor", "tool", "host", "event_time", "kafka_partition", "kafka_offset",
    ]);

    /// <summary>Tables of a metrics batch, in insert order (buffer index = position here).</summary>
    public static readonly SinkTable[] Metrics = [MetricsSamples, MetricsDisks, MetricsInterfaces];

    /// <summary>Tables of a presence batch.</summary>
    public static readonly SinkTable[] Presence = [AgentPresence];

    /// <summary>Tables of a command-results batch.</summary>
    public static readonly SinkTable[] CommandResults = [CommandLog];

    /// <summary>Tables of a batch of the connector's dead letters.</summary>
    public static readonly SinkTable[] ConnectorDeadLetters = [DeadLetters];

    /// <summary>Tables of a batch of credential audit events.</summary>
    public static readonly SinkTable[] CredentialAuditEvents = [CredentialAudit];
}
