namespace StreamPipeline.Sink;

/// <summary>Settings of the sink worker (configuration section <c>Sink</c>). Defaults are production-sane.</summary>
public sealed class SinkOptions
{
    public const string Section = "Sink";

    /// <summary>Kafka consumer group; every sink instance of one deployment shares it. Default <c>streampipeline-sink</c>.</summary>
    public string GroupId { get; set; } = "streampipeline-sink";

    /// <summary>Kafka client id of this instance (logs, broker metrics). Default host name and process id.</summary>
    public string ClientId { get; set; } = $"sink-{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>Metrics topic (Avro <c>streampipeline.v1.MetricsSample</c>).</summary>
    public string MetricsTopic { get; set; } = Kafka.Topics.PipelineTopics.Metrics;

    /// <summary>Presence topic (Avro <c>streampipeline.v1.AgentPresence</c>).</summary>
    public string PresenceTopic { get; set; } = Kafka.Topics.PipelineTopics.Presence;

    /// <summary>Command results topic (Avro <c>streampipeline.v1.CommandResult</c>), loaded into <c>command_log</c>; empty to not consume it.</summary>
    public string CommandResultsTopic { get; set; } = Kafka.Topics.PipelineTopics.CommandResults;

    /// <summary>Where records that cannot be decoded go, with the reason in headers. Default <c>agent-metrics-sink-dlq</c>.</summary>
    public string DeadLetterTopic { get; set; } = Kafka.Topics.PipelineTopics.SinkDeadLetter;

    /// <summary>
    /// The edge connector's dead-letter topic (frames it refused, the reason in headers), indexed into the
    /// <c>dead_letters</c> table for the dashboards; empty to not consume it. Default <c>agent-metrics-dlq</c>.
    /// </summary>
    public string ConnectorDeadLetterTopic { get; set; } = Kafka.Topics.PipelineTopics.MetricsDeadLetter;

    /// <summary>
    /// The audit events of <c>spctl tokens</c> (every issue and revoke of an agent token, JSON), loaded into
    /// <c>credential_audit</c>; empty to not consume it. Default <c>credential-audit</c>.
    /// </summary>
    public string CredentialAuditTopic { get; set; } = Kafka.Topics.PipelineTopics.CredentialAudit;

    /// <summary>Partitions of the dead-letter topic when the sink creates it. Default 3.</summary>
    public int DeadLetterPartitions { get; set; } = 3;

    /// <summary>Create the dead-letter topic at start (through the AdminClient, or the embedded mock's API). Default true.</summary>
    public bool CreateDeadLetterTopic { get; set; } = true;

    /// <summary>ClickHouse database of the tables. Created when missing. Default <c>streampipeline</c>.</summary>
    public string Database { get; set; } = "streampipeline";

    /// <summary>A partition's batch is inserted when it holds this many records. Default 50,000.</summary>
    public int BatchMaxRows { get; set; } = 50_000;

    /// <summary>
    /// A partition's batch is also inserted once its rows (RowBinary, all tables) and dead letters take this many bytes:
    /// a record can be ~1 MB, so rows alone do not bound memory. Each assigned partition holds at most two batches (one
    /// inserting, one filling), so memory is about 2 x partitions x this: the default 16 MiB keeps 24 partitions under
    /// 800 MB, inside a 2 GB container with room for the runtime and the Kafka client's fetch buffers. Replays close
    /// at their recorded range whatever this says (the range decides the token). Default 16 MiB.
    /// </summary>
    public long BatchMaxBytes { get; set; } = 16L << 20;

    /// <summary>A partition's batch is inserted at the latest this long after its first record. Default 1 s.</summary>
    public TimeSpan BatchMaxDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Batches inserted at once (each partition has at most one in flight). Default 4 (measured: 2 left ClickHouse idle between a batch's sequential inserts).</summary>
    public int MaxConcurrentInserts { get; set; } = 4;

    /// <summary>
    /// How long a schema id the Schema Registry answers 404 for is retried (the partition waits) before its records are
    /// dead-lettered as <c>unknown_schema_id</c>; after that the id is asked again at most once per this period. Default 30 s.
    /// </summary>
    public TimeSpan SchemaNotFoundGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Batches this instance may insert while the oldest of them is not committed in Kafka (offset commits failing). A
    /// replay after a crash re-inserts them under their tokens, which ClickHouse only recognises within each table's
    /// deduplication window; the sink checks at start that every target table's window holds this plus
    /// <see cref="MaxConcurrentInserts"/>, and refuses to start otherwise. With N instances, keep N times this below the
    /// window (all instances insert into the same tables). Default 1,000 (the tables' window is 10,000).
    /// </summary>
    public int MaxUncommittedBatches { get; set; } = 1_000;

    /// <summary>
    /// The same bound in time: no new batch once the oldest uncommitted one is this old. Replicated tables forget
    /// tokens after <c>replicated_deduplication_window_seconds</c> (default 3600), checked at start. Default 30 minutes.
    /// </summary>
    public TimeSpan MaxUncommittedAge { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Apply the migrations of schemas/clickhouse at start. Default true.</summary>
    public bool ApplyMigrations { get; set; } = true;

    /// <summary>
    /// TTL of raw tables (samples, disks, interfaces, sink_batches), in days. Written when a table is created and, when
    /// changed later, applied at start by the migration runner (<c>ALTER TABLE ... MODIFY TTL</c>). Default 30.
    /// </summary>
    public int RawTtlDays { get; set; } = 30;

    /// <summary>TTL of rollups, presence history and the command log, in days, unless set one by one below. Applied like <see cref="RawTtlDays"/>. Default 365.</summary>
    public int RollupTtlDays { get; set; } = 365;

    /// <summary>TTL of <c>metrics_1m</c> in days. Default <see cref="RollupTtlDays"/>.</summary>
    public int? Metrics1mTtlDays { get; set; }

    /// <summary>TTL of <c>metrics_1h</c> in days. Default <see cref="RollupTtlDays"/>.</summary>
    public int? Metrics1hTtlDays { get; set; }

    /// <summary>TTL of <c>agent_presence</c> in days. Default <see cref="RollupTtlDays"/>.</summary>
    public int? PresenceTtlDays { get; set; }

    /// <summary>TTL of <c>command_log</c> in days. Default <see cref="RollupTtlDays"/>.</summary>
    public int? CommandLogTtlDays { get; set; }

    /// <summary>
    /// A sample whose agent clock differs from the connector's receive time by more than this is stored with
    /// <c>clock_skewed = 1</c> and counted in <c>sink_clock_skewed_samples_total</c> (the raw tables are partitioned and
    /// expired by receive time, so a wrong clock cannot spread a batch over many partitions). Default 5 minutes.
    /// </summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Address of the plain-HTTP listener for /healthz, /readyz and /metrics. Default all interfaces.</summary>
    public string OpsAddress { get; set; } = "0.0.0.0";

    /// <summary>Port of that listener; 0 picks a free one. Default 8082.</summary>
    public int OpsPort { get; set; } = 8082;

    /// <summary>On SIGTERM: time to flush the batches in memory and commit before the consumer is closed anyway. Default 20 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Every problem at once, each naming the setting and what to do.</summary>
    public IReadOnlyList<string> Validate()
    {
        var e = new List<string>();
        if (string.IsNullOrWhiteSpace(GroupId)) e.Add("Sink:GroupId must not be empty (every sink instance of a deployment shares one group).");
        if (string.IsNullOrWhiteSpace(ClientId)) e.Add("Sink:ClientId must not be empty.");
        if (string.IsNullOrWhiteSpace(MetricsTopic)) e.Add("Sink:MetricsTopic must not be empty.");
        if (string.IsNullOrWhiteSpace(PresenceTopic)) e.Add("Sink:PresenceTopic must not be empty.");
        if (string.IsNullOrWhiteSpace(DeadLetterTopic)) e.Add("Sink:DeadLetterTopic must not be empty.");
        if (DeadLetterTopic == MetricsTopic || DeadLetterTopic == PresenceTopic || DeadLetterTopic == CommandResultsTopic || DeadLetterTopic == ConnectorDeadLetterTopic || DeadLetterTopic == CredentialAuditTopic) e.Add($"Sink:DeadLetterTopic '{DeadLetterTopic}' must differ from the topics the sink consumes.");
        if (!string.IsNullOrWhiteSpace(ConnectorDeadLetterTopic) && (ConnectorDeadLetterTopic == MetricsTopic || ConnectorDeadLetterTopic == PresenceTopic || ConnectorDeadLetterTopic == CommandResultsTopic || ConnectorDeadLetterTopic == DeadLetterTopic))
            e.Add($"Sink:ConnectorDeadLetterTopic '{ConnectorDeadLetterTopic}' must be the connector's dead-letter topic (EdgeConnector:DeadLetterTopic), not one of the sink's other topics or its own Sink:DeadLetterTopic; set it empty to not index the connector's dead letters.");
        if (!string.IsNullOrWhiteSpace(CredentialAuditTopic) && (CredentialAuditTopic == MetricsTopic || CredentialAuditTopic == PresenceTopic || CredentialAuditTopic == CommandResultsTopic || CredentialAuditTopic == ConnectorDeadLetterTopic || CredentialAuditTopic == DeadLetterTopic))
            e.Add($"Sink:CredentialAuditTopic '{CredentialAuditTopic}' must be the topic spctl tokens writes its audit events to (default credential-audit), not one of the sink's other topics; set it empty to not load them.");
        if (DeadLetterPartitions is < 1 or > 1000) e.Add($"Sink:DeadLetterPartitions must be 1..1000, got {DeadLetterPartitions}.");
        if (string.IsNullOrWhiteSpace(Database) || !IsIdentifier(Database)) e.Add($"Sink:Database must be a plain identifier (letters, digits, underscore), got '{Database}'.");
        if (BatchMaxRows is < 1 or > 1_000_000) e.Add($"Sink:BatchMaxRows must be 1..1,000,000 (ClickHouse splits larger inserts into several blocks), got {BatchMaxRows}.");
        if (BatchMaxBytes is < 64 << 10 or > 1L << 30) e.Add($"Sink:BatchMaxBytes must be 64 KiB..1 GiB (memory is about 2 x assigned partitions x this), got {BatchMaxBytes}.");
        if (BatchMaxDelay <= TimeSpan.Zero || BatchMaxDelay > TimeSpan.FromMinutes(5)) e.Add($"Sink:BatchMaxDelay must be between 0 and 5 minutes, got {BatchMaxDelay}.");
        if (SchemaNotFoundGrace < TimeSpan.Zero || SchemaNotFoundGrace > TimeSpan.FromMinutes(4)) e.Add($"Sink:SchemaNotFoundGrace must be 0..4 minutes (the consumer waits that long, within Kafka's max.poll.interval.ms), got {SchemaNotFoundGrace}.");
        if (MaxUncommittedBatches is < 1 or > 1_000_000) e.Add($"Sink:MaxUncommittedBatches must be 1..1,000,000 (and below the tables' deduplication window), got {MaxUncommittedBatches}.");
        if (MaxUncommittedAge < TimeSpan.FromSeconds(1) || MaxUncommittedAge > TimeSpan.FromDays(7)) e.Add($"Sink:MaxUncommittedAge must be 1 s..7 days, got {MaxUncommittedAge}.");
        if (MaxConcurrentInserts is < 1 or > 64) e.Add($"Sink:MaxConcurrentInserts must be 1..64, got {MaxConcurrentInserts}.");
        if (RawTtlDays is < 1 or > 36_500) e.Add($"Sink:RawTtlDays must be 1..36500, got {RawTtlDays}.");
        if (RollupTtlDays is < 1 or > 36_500) e.Add($"Sink:RollupTtlDays must be 1..36500, got {RollupTtlDays}.");
        if (Metrics1mTtlDays is < 1 or > 36_500) e.Add($"Sink:Metrics1mTtlDays must be 1..36500 (or unset for Sink:RollupTtlDays), got {Metrics1mTtlDays}.");
        if (Metrics1hTtlDays is < 1 or > 36_500) e.Add($"Sink:Metrics1hTtlDays must be 1..36500 (or unset for Sink:RollupTtlDays), got {Metrics1hTtlDays}.");
        if (PresenceTtlDays is < 1 or > 36_500) e.Add($"Sink:PresenceTtlDays must be 1..36500 (or unset for Sink:RollupTtlDays), got {PresenceTtlDays}.");
        if (CommandLogTtlDays is < 1 or > 36_500) e.Add($"Sink:CommandLogTtlDays must be 1..36500 (or unset for Sink:RollupTtlDays), got {CommandLogTtlDays}.");
        if (MaxClockSkew < TimeSpan.FromSeconds(1) || MaxClockSkew > TimeSpan.FromDays(365)) e.Add($"Sink:MaxClockSkew must be 1 s..365 days, got {MaxClockSkew}.");
        if (!System.Net.IPAddress.TryParse(OpsAddress, out _)) e.Add($"Sink:OpsAddress must be an IP address, got '{OpsAddress}'.");
        if (OpsPort is < 0 or > 65535) e.Add($"Sink:OpsPort must be 0..65535, got {OpsPort}.");
        if (DrainTimeout < TimeSpan.Zero || DrainTimeout > TimeSpan.FromMinutes(10)) e.Add($"Sink:DrainTimeout must be 0..10 minutes, got {DrainTimeout}.");
        return e;
    }

    internal static bool IsIdentifier(string value)
    {
        if (value.Length == 0 || char.IsAsciiDigit(value[0])) return false;
        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_') return false;
        }

        return true;
    }
}

/// <summary>How the sink reaches ClickHouse (configuration section <c>ClickHouse</c>).</summary>
public sealed class ClickHouseOptions
{
    public const string Section = "ClickHouse";

    /// <summary>ClickHouse.Driver connection string, e.g. <c>Host=clickhouse;Port=8123;Protocol=http;Username=default;Password=...</c>. Required.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// A replicated ClickHouse (self-managed with Keeper, or Cloud): the cluster name of <c>remote_servers</c> (Cloud:
    /// <c>default</c>). When set, the migrations create <c>Replicated*</c> engines <c>ON CLUSTER</c> with the replicated
    /// deduplication windows (docs/sink-exactly-once.md, "ClickHouse clusters"). Default empty: one server.
    /// </summary>
    public string Cluster { get; set; } = "";

    /// <summary>Time one insert attempt may take before it counts as failed and is retried. Default 30 s.</summary>
    public TimeSpan InsertTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Every problem at once.</summary>
    public IReadOnlyList<string> Validate()
    {
        var e = new List<string>();
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            e.Add("ClickHouse:ConnectionString is required (e.g. 'Host=clickhouse;Port=8123;Protocol=http;Username=default;Password=...'; env StreamPipeline__ClickHouse__ConnectionString).");
        }
        else
        {
            try
            {
                _ = new ClickHouse.Driver.ADO.ClickHouseClientSettings(ConnectionString);
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException)
            {
                e.Add($"ClickHouse:ConnectionString is not a valid ClickHouse.Driver connection string: {ex.Message}");
            }
        }

        if (Cluster.Length > 0 && !Schema.ClusterDdl.IsValidName(Cluster)) e.Add($"ClickHouse:Cluster must be a cluster name of the server's remote_servers (letters, digits, '_', '.', '-'), got '{Cluster}'; leave it empty for one server.");
        if (InsertTimeout < TimeSpan.FromSeconds(1) || InsertTimeout > TimeSpan.FromMinutes(10)) e.Add($"ClickHouse:InsertTimeout must be 1 s..10 min, got {InsertTimeout}.");
        return e;
    }
}
