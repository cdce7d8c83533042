using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamPipeline.Protocol;
using StreamPipeline.Sink.DeadLetters;
using StreamPipeline.Sink.Decoding;
using StreamPipeline.Sink.Telemetry;

namespace StreamPipeline.Sink.Consuming;

/// <summary>What the consumer does after handing a record to <see cref="PartitionBatcher.Add"/>.</summary>
internal enum BatchStep
{
    /// <summary>The record is in the partition's open batch, as rows or as a dead letter.</summary>
    Added,

    /// <summary>The record closed the batch: insert it.</summary>
    Closed,

    /// <summary>The batch was closed before this record: seek back to it and pause the partition until the batch is inserted.</summary>
    ReadAgain,

    /// <summary>Its writer schema cannot be read (the worker stops): nothing was added.</summary>
    Stopped,
}

/// <summary>How records framed with a schema id of a kind are read; null when the worker must stop. Registry outages are the caller's to wait out.</summary>
internal delegate SchemaResolution? SchemaLookup(int schemaId, RecordKind kind);

/// <summary>
/// Builds a partition's batches from its records, without Kafka: decodes each record into its tables' rows (through
/// schema resolution when the writer schema is not the sink's own), sets aside what does not decode as a dead letter
/// with its reason, and closes a batch at <c>Sink:BatchMaxRows</c>, <c>Sink:BatchMaxBytes</c>, <c>Sink:BatchMaxDelay</c>
/// or, while replaying, exactly at the end of the recorded range (<see cref="ReplayPlan"/>). A range ClickHouse refused
/// is re-read into a batch that dead-letters every record (<see cref="Refused"/>). One instance serves every partition
/// of the worker; the state is the partition's (<see cref="PartitionState"/>). Consumer thread only.
/// </summary>
internal sealed partial class PartitionBatcher(SinkOptions settings, SchemaLookup schemas, SinkMetrics metrics, TimeProvider time, ILogger logger)
{
    private readonly AvroOutput _transcoded = new();
    private readonly long _maxClockSkewMs = (long)settings.MaxClockSkew.TotalMilliseconds;

    /// <summary>Adds the record at <paramref name="offset"/> of the partition to its open batch (starting one if none).</summary>
    public BatchStep Add(PartitionState state, long offset, Message<byte[]?, byte[]?> message)
    {
        var batch = state.Current;
        if (batch is not null && batch.Replay is { } range && offset > range.Last && !batch.Closed)
        {
            // The recorded range ends before this record (its tail was deleted by retention): close it as recorded.
            batch.Closed = true;
            if (batch.Rejection is null) state.Replay.Completed();
        }

        // A record fetched before the partition was paused: read it again after the batch is inserted.
        if (batch is not null && batch.Closed) return BatchStep.ReadAgain;

        if (batch is null && state.Rejected is { } rejected)
        {
            // Re-reading a range ClickHouse refused, to dead-letter its records with the reason.
            state.Rejected = null;
            batch = state.Current = new PartitionBatch(state.TopicPartition, state.Kind, time.GetTimestamp(), (rejected.First, rejected.Last)) { Rejection = rejected.Error };
        }

        if (batch is null)
        {
            while (state.Replay.TryDropPassed(offset, out var gone))
            {
                // Nothing of that recorded range is left in Kafka.
                LogReplayRangeGone(logger, state.TopicPartition.Topic, state.TopicPartition.Partition.Value, gone.First, gone.Last);
            }

            batch = state.Current = new PartitionBatch(state.TopicPartition, state.Kind, time.GetTimestamp(), state.Replay.Next);
        }

        metrics.RecordsConsumed.Add(1);
        var kind = state.Kind;
        var value = message.Value;
        string? reason = null, error = null;
        if (batch.Rejection is { } rejection)
        {
            reason = "batch_rejected";
            error = rejection;
        }
        else if (kind == RecordKind.ConnectorDeadLetter)
        {
            // Indexed from its headers; whatever they hold, the row is written (never dead-lettered again).
            DeadLetterRows.AppendConnectorLetter(message.Headers, message.Key, new TopicPartitionOffset(state.TopicPartition, offset), message.Timestamp, time.GetUtcNow().ToUnixTimeMilliseconds(), batch.Rows[0]);
        }
        else if (kind.IsJson)
        {
            error = value is null ? "Record has no value (null)." : kind.AppendJson(value, (ushort)state.TopicPartition.Partition.Value, (ulong)offset, batch.Rows);
            if (error is not null) reason = "invalid_json";
        }
        else if (value is null || !ConfluentWireFormat.TryReadHeader(value, out var schemaId, out var body))
        {
            reason = "bad_magic_byte";
            error = value is null ? "Record has no value (null)." : ConfluentWireFormat.NotFramedError;
        }
        else if (schemas(schemaId, kind) is not { } schema)
        {
            return BatchStep.Stopped;
        }
        else if (!schema.Decode)
        {
            reason = "unknown_schema_id";
            error = $"Schema id {schemaId} is not known to the Schema Registry (asked for Sink:SchemaNotFoundGrace), so it cannot be decoded as a {kind} record.";
        }
        else
        {
            error = Decode(kind, schema, body, (ushort)state.TopicPartition.Partition.Value, offset, batch.Rows);
            if (error is not null) reason = "invalid_avro";
        }

        if (reason is not null)
        {
            // Metrics, presence and credential audit events are keyed by agent id (docs/kafka-topics.md).
            var agentId = kind.KeyedByAgent && message.Key is { } key ? System.Text.Encoding.UTF8.GetString(key) : null;
            batch.AddDeadLetter(new DeadLetter(new TopicPartitionOffset(state.TopicPartition, offset), message.Key, value, reason, error!, agentId));
            metrics.DeadLetter(reason);
            if (batch.Rejection is null) LogDeadLetter(logger, state.TopicPartition.Topic, state.TopicPartition.Partition.Value, offset, reason, error!);
        }

        batch.Added(offset);
        if (batch.Replay is { } replayRange ? offset >= replayRange.Last : batch.Records >= settings.BatchMaxRows || batch.Bytes >= settings.BatchMaxBytes)
        {
            if (batch.Replay is not null && batch.Rejection is null) state.Replay.Completed();
            batch.Closed = true;
            return BatchStep.Closed;
        }

        return BatchStep.Added;
    }

    /// <summary>Closes the open batch when its first record is <c>Sink:BatchMaxDelay</c> old (never a replayed range: it closes at its end); true when it did.</summary>
    public bool CloseIfDue(PartitionState state)
    {
        if (state.Current is not { Records: > 0, Closed: false, Replay: null } current || time.GetElapsedTime(current.StartedAt) < settings.BatchMaxDelay) return false;
        current.Closed = true;
        return true;
    }

    /// <summary>Shutdown: closes the open batch so it is inserted, unless it is a replayed range not read to its end; true when it did.</summary>
    public static bool CloseForDrain(PartitionState state)
    {
        if (state.Current is not { Records: > 0 } current || (current.Replay is not null && !current.Closed)) return false;
        current.Closed = true;
        return true;
    }

    /// <summary>
    /// ClickHouse refused <paramref name="batch"/> for its data: everything from its first offset is read again, its
    /// range into a batch that dead-letters every record with <paramref name="rejection"/>, then what followed, along
    /// the recorded ranges still planned. Returns the offset to seek the partition to.
    /// </summary>
    public static long Refused(PartitionState state, PartitionBatch batch, string rejection)
    {
        var (first, last) = batch.Range;
        // A recorded range already taken off the plan: it must still be re-read along its recorded bounds.
        if (state.Current is { Closed: true, Rejection: null, Replay: { } recorded }) state.Replay.PutBack(recorded);
        state.Current?.Dispose();
        state.Current = null;
        state.Rejected = (first, last, rejection);
        return first;
    }

    /// <summary>Appends the rows of one framed body; null on success, else why it is not valid Avro of its schema.</summary>
    private string? Decode(RecordKind kind, SchemaResolution schema, ReadOnlySpan<byte> body, ushort partition, long offset, RowBinaryBuffer[] rows)
    {
        if (schema.Plan is { } plan)
        {
            // A writer schema other than the sink's own: rewrite the record into the sink's layout first (Avro schema resolution).
            _transcoded.Reset();
            var writer = new AvroSpanReader(body);
            plan.Transcode(ref writer, _transcoded);
            if (writer.Error is null && !writer.End) writer.Fail("Bytes left over after the record: the data does not match its writer schema.");
            if (writer.Error is { } invalid) return invalid;
            body = _transcoded.Written;
        }

        var error = kind.Append(body, partition, (ulong)offset, rows, _maxClockSkewMs, out var skewed);
        if (skewed) metrics.ClockSkewedSamples.Add(1);
        return error;
    }

    [LoggerMessage(EventId = 4306, Level = LogLevel.Warning, Message = "{Topic}[{Partition}]: recorded range {First}..{Last} is no longer in Kafka (retention); skipped")]
    private static partial void LogReplayRangeGone(ILogger logger, string topic, int partition, long first, long last);

    [LoggerMessage(EventId = 4307, Level = LogLevel.Warning, Message = "Record {Topic}[{Partition}]@{Offset} dead-lettered ({Reason}): {Error}")]
    private static partial void LogDeadLetter(ILogger logger, string topic, int partition, long offset, string reason, string error);
}
