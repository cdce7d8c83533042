using Microsoft.Extensions.Logging;

namespace StreamPipeline.Sink.Consuming;

/// <summary>Log events of the consumer thread (ids 43xx).</summary>
internal sealed partial class SinkWorker
{
    [LoggerMessage(EventId = 4301, Level = LogLevel.Information, Message = "Sink consuming {MetricsTopic}, {PresenceTopic} and '{CommandResultsTopic}' as group {GroupId} into ClickHouse database {Database}")]
    private static partial void LogStarted(ILogger logger, string groupId, string metricsTopic, string presenceTopic, string commandResultsTopic, string database);

    [LoggerMessage(EventId = 4302, Level = LogLevel.Information, Message = "Assigned {Count} partitions: {Partitions}")]
    private static partial void LogAssigned(ILogger logger, int count, string partitions);

    [LoggerMessage(EventId = 4303, Level = LogLevel.Information, Message = "Revoked {Count} partitions: {Partitions}")]
    private static partial void LogRevoked(ILogger logger, int count, string partitions);

    [LoggerMessage(EventId = 4304, Level = LogLevel.Warning, Message = "Lost {Count} partitions (session timed out); their uncommitted batches will be replayed by the new owner")]
    private static partial void LogLost(ILogger logger, int count);

    [LoggerMessage(EventId = 4305, Level = LogLevel.Information, Message = "{Topic}[{Partition}]: replaying {Ranges} recorded but uncommitted batch ranges, offsets {First}..{Last}, with their original deduplication tokens")]
    private static partial void LogReplaying(ILogger logger, string topic, int partition, int ranges, long first, long last);

    [LoggerMessage(EventId = 4308, Level = LogLevel.Warning, Message = "Kafka offset commit failed ({Code}: {Reason}); retrying. The inserted rows are safe: an uncommitted range is replayed with its token")]
    private static partial void LogCommitFailed(ILogger logger, string code, string reason);

    [LoggerMessage(EventId = 4309, Level = LogLevel.Warning, Message = "Kafka consume error {Code}: {Reason}")]
    private static partial void LogConsumeError(ILogger logger, string code, string reason);

    [LoggerMessage(EventId = 4310, Level = LogLevel.Warning, Message = "Kafka client error {Code}: {Reason}")]
    private static partial void LogKafkaError(ILogger logger, string code, string reason);

    [LoggerMessage(EventId = 4311, Level = LogLevel.Warning, Message = "Kafka client {Name}: {Message}")]
    private static partial void LogKafkaClient(ILogger logger, string name, string message);

    [LoggerMessage(EventId = 4312, Level = LogLevel.Warning, Message = "{Message}; retrying in {Seconds:F1} s (the partition waits, nothing is dead-lettered for an unreachable registry)")]
    private static partial void LogRegistryUnavailable(ILogger logger, string message, double seconds);

    [LoggerMessage(EventId = 4313, Level = LogLevel.Warning, Message = "{Topic}[{Partition}]: cannot read recorded batch ranges from ClickHouse ({Reason}); retrying")]
    private static partial void LogRecordedRangesUnavailable(ILogger logger, string topic, int partition, string reason);

    [LoggerMessage(EventId = 4314, Level = LogLevel.Information, Message = "Drained: {Batches} batches inserted and committed in {Milliseconds:F0} ms; consumer closed")]
    private static partial void LogDrained(ILogger logger, int batches, double milliseconds);

    [LoggerMessage(EventId = 4316, Level = LogLevel.Warning, Message = "ClickHouse unavailable: {Count} partitions paused (memory stays bounded); inserts keep retrying")]
    private static partial void LogPausedForOutage(ILogger logger, int count);

    [LoggerMessage(EventId = 4317, Level = LogLevel.Information, Message = "ClickHouse available again: {Count} partitions resumed")]
    private static partial void LogResumedAfterOutage(ILogger logger, int count);

    [LoggerMessage(EventId = 4318, Level = LogLevel.Warning, Message = "{Batches} batches inserted since the oldest one not committed (Sink:MaxUncommittedBatches {Max}, or Sink:MaxUncommittedAge reached): no new batch until an offset commit succeeds, so a replay stays inside the deduplication window")]
    private static partial void LogHoldingForCommit(ILogger logger, long batches, int max);

    [LoggerMessage(EventId = 4315, Level = LogLevel.Critical, Message = "Sink stopped, nothing more is committed: {Explanation}")]
    private static partial void LogFatal(ILogger logger, string explanation, Exception exception);
}
