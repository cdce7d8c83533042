using Microsoft.Extensions.Logging;

namespace StreamPipeline.Dispatcher;

/// <summary>Every log event of the dispatcher, in one place (event ids 2xxx).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Dispatcher {DispatcherId} started: commands {CommandsTopic} ({Partitions} partitions), connector requests {RequestsTopic} ({RequestPartitions} partitions), group {GroupId}, request id epoch {Epoch}")]
    public static partial void Started(ILogger logger, string dispatcherId, string commandsTopic, int partitions, string requestsTopic, int requestPartitions, string groupId, int epoch);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Critical, Message = "Dispatcher cannot run: {Reason}. Stopping.")]
    public static partial void Fatal(ILogger logger, string reason, Exception? exception);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Schema Registry at {Url} unavailable ({Reason}); retrying in {Seconds:F1} s. No command is consumed until it answers.")]
    public static partial void RegistryUnavailable(ILogger logger, string url, string reason, double seconds);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Presence caught up: {Agents} agents known from {Topic}")]
    public static partial void PresenceCaughtUp(ILogger logger, int agents, string topic);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Commands partitions assigned: [{Partitions}]; {Seeded} completed command ids read from the tail of {ResultsTopic}")]
    public static partial void Assigned(ILogger logger, IReadOnlyList<int> partitions, int seeded, string resultsTopic);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Commands partitions revoked: [{Partitions}]; {Dropped} commands left to the next owner (same request ids)")]
    public static partial void Revoked(ILogger logger, IReadOnlyList<int> partitions, int dropped);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Debug, Message = "Command {CommandId} for agent {AgentId} ({Action}) decided {Status}: {Error}")]
    public static partial void Decided(ILogger logger, string commandId, string agentId, string action, StreamPipeline.Kafka.Contracts.CommandStatus status, string? error);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Record {Topic}[{Partition}]@{Offset} cannot be decoded and is skipped: {Reason}. Check the producer uses the Avro schema in schemas/avro.")]
    public static partial void Undecodable(ILogger logger, string topic, int partition, long offset, string reason);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Error, Message = "Kafka refused a record for {Topic} (command {CommandId}): {Reason}")]
    public static partial void ProduceFailed(ILogger logger, string topic, string commandId, string reason);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Critical, Message = "The result of command {CommandId} could not be published: {Reason}. Its offset stays uncommitted so it is decided again after a restart; check the broker and the topic {Topic}.")]
    public static partial void ResultFailed(ILogger logger, string commandId, string topic, string reason);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Kafka client error {Code}: {Reason}")]
    public static partial void KafkaError(ILogger logger, string code, string reason);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "Draining: {InFlight} commands in flight, up to {Seconds:F0} s")]
    public static partial void Draining(ILogger logger, int inFlight, double seconds);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Information, Message = "Drained: {InFlight} commands still in flight and {Waiting} waiting are left uncommitted for the next owner")]
    public static partial void Drained(ILogger logger, int inFlight, int waiting);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Information, Message = "Commands partition {Partition} paused: {Pending} commands held (Dispatcher:MaxPendingPerPartition)")]
    public static partial void Paused(ILogger logger, int partition, int pending);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Debug, Message = "Command {CommandId} re-sent to connector {ConnectorId} with request id {RequestId} ({Reason})")]
    public static partial void Resent(ILogger logger, string commandId, string connectorId, long requestId, string reason);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Warning, Message = "Could not commit offsets {Offsets}: {Reason}")]
    public static partial void CommitFailed(ILogger logger, string offsets, string reason);

    [LoggerMessage(EventId = 2018, Level = LogLevel.Warning, Message = "Dispatcher fenced: {Reason}. Nothing is decided or sent until the consume loop has polled steadily for {Seconds:F0} s (its partitions may have moved to another dispatcher meanwhile).")]
    public static partial void Fenced(ILogger logger, string reason, double seconds);

    [LoggerMessage(EventId = 2019, Level = LogLevel.Information, Message = "Dispatcher fence lifted: {Partitions} commands partitions owned")]
    public static partial void Unfenced(ILogger logger, int partitions);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Warning, Message = "Command record {Topic}[{Partition}]@{Offset} is not a usable command ({Reason}); it gets a rejected result as {CommandId}")]
    public static partial void UnreadableCommand(ILogger logger, string topic, int partition, long offset, string reason, string commandId);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Error, Message = "Kafka refused the result of command {CommandId} ({Reason}); publishing an ERROR result that says so instead")]
    public static partial void ResultReplaced(ILogger logger, string commandId, string reason);

    [LoggerMessage(EventId = 2022, Level = LogLevel.Information, Message = "Commands partition {Partition} restored: {Source}; {Undecided} undecided commands, consumption resumes at {Committed}, {DecidedSince} command ids decided after the snapshot")]
    public static partial void Restored(ILogger logger, int partition, string source, int undecided, long committed, int decidedSince);

    [LoggerMessage(EventId = 2023, Level = LogLevel.Warning, Message = "Snapshot of commands partition {Partition} ignored: {Reason}")]
    public static partial void SnapshotIgnored(ILogger logger, int partition, string reason);

    [LoggerMessage(EventId = 2024, Level = LogLevel.Error, Message = "Unexpected error handling record {Position}: {Reason}. The record is skipped; the dispatcher goes on.")]
    public static partial void RecordFailed(ILogger logger, string position, string reason, Exception exception);

    [LoggerMessage(EventId = 2017, Level = LogLevel.Warning, Message = "Reading the tail of {Topic} to seed completed command ids stopped early: {Reason}")]
    public static partial void SeedIncomplete(ILogger logger, string topic, string reason);
}
