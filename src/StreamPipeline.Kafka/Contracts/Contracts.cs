namespace StreamPipeline.Kafka.Contracts;

/// <summary>A command for one agent (schemas/avro/agent-command.avsc), on <c>agent-commands</c>, keyed by agent id.</summary>
public sealed record AgentCommand(
    string CommandId,
    string AgentId,
    string Action,
    string? PayloadJson,
    DateTimeOffset? Deadline,
    DateTimeOffset CreatedTime,
    string RequestedBy = "");

/// <summary>Terminal status of a command (schemas/avro/command-result.avsc: the same symbols in the same order).</summary>
public enum CommandStatus
{
    Ok,
    Error,
    Timeout,
    Expired,
    Rejected,

    /// <summary>Written to the agent's connection, which closed before the agent answered: it may or may not have run, and was not sent again.</summary>
    OutcomeUnknown,
}

/// <summary>The one terminal result of a command (schemas/avro/command-result.avsc), on <c>command-results</c>, keyed by command id.</summary>
public sealed record CommandResult(
    string CommandId,
    string AgentId,
    string Action,
    long? RequestId,
    CommandStatus Status,
    string? ResponseJson,
    string? Error,
    string? ConnectorId,
    DateTimeOffset CreatedTime,
    DateTimeOffset? DispatchedTime,
    DateTimeOffset CompletedTime);

/// <summary>Internal: a request routed to the connector that owns the agent (schemas/avro/connector-request.avsc).</summary>
public sealed record ConnectorRequest(
    string CommandId,
    string AgentId,
    string ConnectorId,
    string Action,
    long RequestId,
    string? PayloadJson,
    int ReplyPartition,
    long TimeoutMs,
    DateTimeOffset SentTime);

/// <summary>What a connector reports about a routed request.</summary>
public enum ConnectorResponseKind { Response, AgentNotConnected, AgentDisconnected }

/// <summary>Internal: a connector's report to the dispatcher (schemas/avro/connector-response.avsc).</summary>
public sealed record ConnectorResponse(
    string CommandId,
    string AgentId,
    string ConnectorId,
    long RequestId,
    ConnectorResponseKind Kind,
    string? ResponseJson,
    DateTimeOffset ReceivedTime);
