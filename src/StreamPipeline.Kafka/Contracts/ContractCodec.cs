using Avro;
using Avro.Generic;
using StreamPipeline.Protocol;

namespace StreamPipeline.Kafka.Contracts;

/// <summary>
/// Maps the command contracts to and from Avro <see cref="GenericRecord"/>s of the schemas in schemas/avro
/// (<see cref="AvroSchemas"/>, embedded in StreamPipeline.Protocol), so they go through Confluent's Avro serdes and the
/// Schema Registry.
/// </summary>
public static class ContractCodec
{
    public static RecordSchema AgentCommandSchema { get; } = Parse(AvroSchemas.AgentCommand);
    public static RecordSchema CommandResultSchema { get; } = Parse(AvroSchemas.CommandResult);
    public static RecordSchema ConnectorRequestSchema { get; } = Parse(AvroSchemas.ConnectorRequest);
    public static RecordSchema ConnectorResponseSchema { get; } = Parse(AvroSchemas.ConnectorResponse);

    /// <summary>The dispatchers' internal per-partition state (schemas/avro/dispatcher-state.avsc).</summary>
    public static RecordSchema DispatcherStateSchema { get; } = Parse(AvroSchemas.DispatcherState);

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

    /// <summary>
    /// Maps a decoded commands-topic record that may come from another team's schema (a field missing, another type, a
    /// time out of range): never throws. On failure <paramref name="error"/> says what is wrong and the ids that could be
    /// read are returned for the rejected result.
    /// </summary>
    public static bool TryToAgentCommand(GenericRecord r, out AgentCommand? command, out string error, out string? commandId, out string? agentId, out string? action)
    {
        command = null;
        commandId = Field(r, "command_id") as string;
        agentId = Field(r, "agent_id") as string;
        action = Field(r, "action") as string;
        error = "";
        try
        {
            var missing = new List<string>();
            if (commandId is null) missing.Add("command_id");
            if (agentId is null) missing.Add("agent_id");
            if (action is null) missing.Add("action");
            if (Field(r, "created_time") is null) missing.Add("created_time");
            if (missing.Count > 0)
            {
                error = $"the record (schema {r.Schema.Fullname}) has no string {string.Join(", ", missing)}; write it with schemas/avro/agent-command.avsc";
                return false;
            }

            var payload = Field(r, "payload_json");
            if (payload is not (null or string))
            {
                error = $"payload_json must be a string or null, got {payload.GetType().Name}";
                return false;
            }

            command = new AgentCommand(commandId!, agentId!, action!, (string?)payload, OptTime(r, "deadline"), Time(r, "created_time"), Field(r, "requested_by") as string ?? "");
            return true;
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or OverflowException or AvroException or KeyNotFoundException)
        {
            error = $"the record does not map to a command: {e.Message}";
            return false;
        }
    }

    private static object? Field(GenericRecord r, string field) => r.TryGetValue(field, out var v) ? v : null;

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

    private static RecordSchema Parse(AvroSchemaFile file) => (RecordSchema)Schema.Parse(file.Json);
}
