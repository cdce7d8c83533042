using StreamPipeline.Protocol;

namespace StreamPipeline.Sink.Decoding;

/// <summary>Appends the rows of one record whose value is JSON (no schema, no framing); null on success, else why not.</summary>
internal delegate string? JsonRowAppender(ReadOnlySpan<byte> value, ushort partition, ulong offset, RowBinaryBuffer[] rows);

/// <summary>Appends one decoded record's rows to a batch's buffers (one per table of its kind); null on success, else why not.</summary>
internal delegate string? RowAppender(ReadOnlySpan<byte> body, ushort partition, ulong offset, RowBinaryBuffer[] rows, long maxClockSkewMs, out bool clockSkewed);

/// <summary>
/// What a topic carries, and everything the sink does with it in one place: the tables its rows go to (buffer index =
/// position), the reader schema it is decoded by, whether its key is an agent id, and how one record becomes rows.
/// The five kinds are the only instances; <see cref="Consuming.SinkTopics"/> maps the configured topics onto them.
/// </summary>
internal sealed class RecordKind
{
    /// <summary><c>streampipeline.v1.MetricsSample</c>: a samples row, a row per disk, a row per interface.</summary>
    public static readonly RecordKind Metrics = new(
        "Metrics", SinkTables.Metrics, AvroSchemaNode.Parse(AvroSchemas.MetricsSample.Json), SchemaCatalog.Canonical(AvroSchemas.MetricsSample.Json),
        keyedByAgent: true, AppendMetrics);

    /// <summary><c>streampipeline.v1.AgentPresence</c>, into <c>agent_presence</c>.</summary>
    public static readonly RecordKind Presence = new(
        "Presence", SinkTables.Presence, AvroSchemaNode.Parse(AvroSchemas.AgentPresence.Json), SchemaCatalog.Canonical(AvroSchemas.AgentPresence.Json),
        keyedByAgent: true, AppendPresence);

    /// <summary>
    /// <c>streampipeline.v1.CommandResult</c>, into <c>command_log</c>. Read with <c>status</c> as a string, so a status
    /// symbol added by a newer dispatcher loads as its name; every writer goes through schema resolution.
    /// </summary>
    public static readonly RecordKind CommandResult = new(
        "CommandResult", SinkTables.CommandResults,
        AvroSchemaNode.Parse(AvroSchemas.CommandResult.Json).WithFieldType("status", AvroSchemaNode.Primitive(AvroKind.String)), identityLayout: null,
        keyedByAgent: false, AppendCommandResult);

    /// <summary>The connector's dead letters (raw frames, the context in headers), indexed into <c>dead_letters</c> from their headers: no schema.</summary>
    public static readonly RecordKind ConnectorDeadLetter = new(
        "ConnectorDeadLetter", SinkTables.ConnectorDeadLetters, readerSchema: null, identityLayout: null, keyedByAgent: false, append: null);

    /// <summary>
    /// The audit events of <c>spctl tokens</c> (UTF-8 JSON, <see cref="Kafka.Credentials.CredentialAuditEvent"/>), into
    /// <c>credential_audit</c>; keyed by agent id.
    /// </summary>
    public static readonly RecordKind CredentialAudit = new(
        "CredentialAudit", SinkTables.CredentialAuditEvents, readerSchema: null, identityLayout: null, keyedByAgent: true, append: null,
        appendJson: static (value, partition, offset, rows) => CredentialAuditRows.Append(value, partition, offset, rows[0]));

    private RecordKind(string name, SinkTable[] tables, AvroSchemaNode? readerSchema, string? identityLayout, bool keyedByAgent, RowAppender? append,
        JsonRowAppender? appendJson = null)
    {
        _appendJson = appendJson;
        Name = name;
        Tables = tables;
        ReaderSchema = readerSchema;
        IdentityLayout = identityLayout;
        KeyedByAgent = keyedByAgent;
        _append = append;
    }

    private readonly RowAppender? _append;
    private readonly JsonRowAppender? _appendJson;

    /// <summary>The record value is JSON, not Confluent-framed Avro: rows come from <see cref="AppendJson"/>.</summary>
    public bool IsJson => _appendJson is not null;

    /// <summary>The kind's name in messages and in <c>dead_letter_replays</c> tokens (do not change: tokens must stay stable).</summary>
    public string Name { get; }

    /// <summary>Tables of a batch of this kind, in insert order.</summary>
    public SinkTable[] Tables { get; }

    /// <summary>The sink's reader schema; null for records that are not Avro.</summary>
    public AvroSchemaNode? ReaderSchema { get; }

    /// <summary><see cref="SchemaCatalog.Canonical"/> of the layout decoded as is (no resolution); null when every writer is resolved.</summary>
    public string? IdentityLayout { get; }

    /// <summary>The Kafka key is the agent id (docs/kafka-topics.md): dead letters carry it.</summary>
    public bool KeyedByAgent { get; }

    /// <summary>
    /// Appends one record (its Avro body in the reader schema's layout) to <paramref name="rows"/> (one buffer per
    /// <see cref="Tables"/> entry); null on success, else why not. A record that does not decode leaves the buffers as
    /// they were.
    /// </summary>
    public string? Append(ReadOnlySpan<byte> body, ushort partition, ulong offset, RowBinaryBuffer[] rows, long maxClockSkewMs, out bool clockSkewed)
    {
        if (_append is null) throw new InvalidOperationException($"{Name} records are not Avro: they are indexed from their headers.");
        return _append(body, partition, offset, rows, maxClockSkewMs, out clockSkewed);
    }

    /// <summary>Appends the rows of one JSON record (<see cref="IsJson"/>); null on success, else why not (the buffers are left as they were).</summary>
    public string? AppendJson(ReadOnlySpan<byte> value, ushort partition, ulong offset, RowBinaryBuffer[] rows)
    {
        if (_appendJson is null) throw new InvalidOperationException($"{Name} records are not JSON.");
        return _appendJson(value, partition, offset, rows);
    }

    /// <summary>New empty buffers, one per table.</summary>
    public RowBinaryBuffer[] NewRows()
    {
        var rows = new RowBinaryBuffer[Tables.Length];
        for (var i = 0; i < rows.Length; i++) rows[i] = new RowBinaryBuffer();
        return rows;
    }

    public override string ToString() => Name;

    private static string? AppendMetrics(ReadOnlySpan<byte> body, ushort partition, ulong offset, RowBinaryBuffer[] rows, long maxClockSkewMs, out bool clockSkewed) =>
        RecordDecoder.AppendMetrics(body, partition, offset, rows[0], rows[1], rows[2], maxClockSkewMs, out clockSkewed);

    private static string? AppendPresence(ReadOnlySpan<byte> body, ushort partition, ulong offset, RowBinaryBuffer[] rows, long maxClockSkewMs, out bool clockSkewed)
    {
        clockSkewed = false;
        return RecordDecoder.AppendPresence(body, partition, offset, rows[0]);
    }

    private static string? AppendCommandResult(ReadOnlySpan<byte> body, ushort partition, ulong offset, RowBinaryBuffer[] rows, long maxClockSkewMs, out bool clockSkewed)
    {
        clockSkewed = false;
        return RecordDecoder.AppendCommandResult(body, partition, offset, rows[0]);
    }
}
