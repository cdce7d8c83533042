using Avro;
using Avro.Generic;

namespace StreamPipeline.Kafka.Contracts;

/// <summary>
/// Maps the command contracts to and from Avro <see cref="GenericRecord"/>s of the schemas in schemas/avro
/// (embedded in this assembly), so they go through Confluent's Avro serdes and the Schema Registry.
/// </summary>
public static class ContractCodec
{
    public static RecordSchema AgentCommandSchema { get; } = Load("agent-command.avsc");
    public static RecordSchema CommandResultSchema { get; } = Load("command-result.avsc");
    public static RecordSchema ConnectorRequestSchema { get; } = Load("connector-request.avsc");
    public static RecordSchema ConnectorResponseSchema { get; } = Load("connector-response.avsc");

    private static readonly string[] StatusSymbols = ["OK", "ERROR", "TIMEOUT", "EXPIRED", "REJECTED", "OUTCOME_UNKNOWN"];
    private static readonly string[] KindSymbols = ["RESPONSE", "AGENT_NOT_CONNECTED", "AGENT_DISCONNECTED"];

    public static GenericRecord ToRecord(AgentCommand c)
    {
        var r = new GenericRecord(AgentCommandSchema);
        r.Add("command_id", c.CommandId);
        r.Add("agent_id", c.AgentId);
        r.Add("action", c.Action);
        r.Add("payload_json", c.PayloadJson);
        r.Add("deadline", c.Deadline?.ToUnixTimeMilliseconds() is { } d ? DateTimeOffset.FromUnixTimeMilliseconds(d).UtcDateTime : null);
        r.Add("created_time", c.CreatedTime.UtcDateTime);
        r.Add("requested_by", c.RequestedBy);
        return r;
    }

    public static AgentCommand ToAgentCommand(GenericRecord r) => new(
        Str(r, "command_id"), Str(r, "agent_id"), Str(r, "action"), OptStr(r, "payload_json"),
        OptTime(r, "deadline"), Time(r, "created_time"), OptStr(r, "requested_by") ?? "");

    public static GenericRecord ToRecord(CommandResult c)
    {
        var r = new GenericRecord(CommandResultSchema);
        r.Add("command_id", c.CommandId);
        r.Add("agent_id", c.AgentId);
        r.Add("action", c.Action);
        r.Add("request_id", c.RequestId);
        r.Add("status", new GenericEnum((EnumSchema)CommandResultSchema["status"].Schema, StatusSymbols[(int)c.Status]));
        r.Add("response_json", c.ResponseJson);
        r.Add("error", c.Error);
        r.Add("connector_id", c.ConnectorId);
        r.Add("created_time", c.CreatedTime.UtcDateTime);
        r.Add("dispatched_time", c.DispatchedTime?.UtcDateTime);
        r.Add("completed_time", c.CompletedTime.UtcDateTime);
        return r;
    }

    public static CommandResult ToCommandResult(GenericRecord r) => new(
        Str(r, "command_id"), Str(r, "agent_id"), Str(r, "action"), r["request_id"] as long?,
        StatusOf(((GenericEnum)r["status"]).Value),
        OptStr(r, "response_json"), OptStr(r, "error"), OptStr(r, "connector_id"),
        Time(r, "created_time"), OptTime(r, "dispatched_time"), Time(r, "completed_time"));

    /// <summary>The status of a symbol; one this code does not know (a newer writer's) is the enum default, OUTCOME_UNKNOWN.</summary>
    public static CommandStatus StatusOf(string symbol) =>
        Array.IndexOf(StatusSymbols, symbol) is var i and >= 0 ? (CommandStatus)i : CommandStatus.OutcomeUnknown;

    /// <summary>The schema symbol of a status (what the sink writes to command_log.status).</summary>
    public static string SymbolOf(CommandStatus status) => StatusSymbols[(int)status];

    public static GenericRecord ToRecord(ConnectorRequest c)
    {
        var r = new GenericRecord(ConnectorRequestSchema);
        r.Add("command_id", c.CommandId);
        r.Add("agent_id", c.AgentId);
        r.Add("connector_id", c.ConnectorId);
        r.Add("action", c.Action);
        r.Add("request_id", c.RequestId);
        r.Add("payload_json", c.PayloadJson);
        r.Add("reply_partition", c.ReplyPartition);
        r.Add("timeout_ms", c.TimeoutMs);
        r.Add("sent_time", c.SentTime.UtcDateTime);
        return r;
    }

    public static ConnectorRequest ToConnectorRequest(GenericRecord r) => new(
        Str(r, "command_id"), Str(r, "agent_id"), Str(r, "connector_id"), Str(r, "action"), (long)r["request_id"],
        OptStr(r, "payload_json"), (int)r["reply_partition"], (long)r["timeout_ms"], Time(r, "sent_time"));

    public static GenericRecord ToRecord(ConnectorResponse c)
    {
        var r = new GenericRecord(ConnectorResponseSchema);
        r.Add("command_id", c.CommandId);
        r.Add("agent_id", c.AgentId);
        r.Add("connector_id", c.ConnectorId);
        r.Add("request_id", c.RequestId);
        r.Add("kind", new GenericEnum((EnumSchema)ConnectorResponseSchema["kind"].Schema, KindSymbols[(int)c.Kind]));
        r.Add("response_json", c.ResponseJson);
        r.Add("received_time", c.ReceivedTime.UtcDateTime);
        return r;
    }

    public static ConnectorResponse ToConnectorResponse(GenericRecord r) => new(
        Str(r, "command_id"), Str(r, "agent_id"), Str(r, "connector_id"), (long)r["request_id"],
        (ConnectorResponseKind)Array.IndexOf(KindSymbols, ((GenericEnum)r["kind"]).Value),
        OptStr(r, "response_json"), Time(r, "received_time"));

    private static string Str(GenericRecord r, string field) => (string)r[field];
    private static string? OptStr(GenericRecord r, string field) => r.TryGetValue(field, out var v) ? v as string : null;

    // Apache.Avro maps timestamp-millis to DateTime (UTC).
    private static DateTimeOffset Time(GenericRecord r, string field) => ToOffset(r[field]);
    private static DateTimeOffset? OptTime(GenericRecord r, string field) => r.TryGetValue(field, out var v) && v is not null ? ToOffset(v) : null;

    private static DateTimeOffset ToOffset(object value) => value switch
    {
        DateTime dt => new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)),
        long ms => DateTimeOffset.FromUnixTimeMilliseconds(ms),
        _ => throw new InvalidCastException($"Expected a timestamp, got {value.GetType().Name}."),
    };

    private static RecordSchema Load(string file)
    {
        using var stream = typeof(ContractCodec).Assembly.GetManifestResourceStream("StreamPipeline.Kafka.Schemas." + file)
            ?? throw new InvalidOperationException($"Schema {file} is not embedded in StreamPipeline.Kafka.");
        using var reader = new StreamReader(stream);
        return (RecordSchema)Schema.Parse(reader.ReadToEnd());
    }
}
