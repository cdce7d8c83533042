using System.Buffers;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamPipeline.Protocol;
using StreamPipeline.Sink.Consuming;
using StreamPipeline.Sink.Decoding;
using StreamPipeline.Sink.Loading;

namespace StreamPipeline.Sink.Replay;

/// <summary>A dead letter read for replay: what it is a copy of, how to load it, where it is.</summary>
internal sealed record ReplayLetter(RecordId Id, RecordKind Kind, bool FromConnector, TopicPartitionOffset DeadLetter, Message<byte[]?, byte[]?> Message);

/// <summary>
/// Replays a range of a dead-letter topic into the sink's tables after a fix (issue 10 item 4), with exactly-once
/// effect: each record is decoded as the sink decodes it (a connector frame is parsed as the connector parses it),
/// inserted in chunks under a token derived from the chunk's records, and tracked in <c>dead_letter_replays</c>
/// (pending before the insert, done after). A second run skips what is done; a run that stopped between the two
/// re-inserts the pending chunk whole under its recorded token, which ClickHouse drops if the rows are in. Records
/// that still fail stay in the topic and are reported by reason.
/// </summary>
internal sealed partial class DeadLetterReplayer(
    ClickHouseLoader loader, ReplayLedger ledger, SchemaCatalog schemas, SinkOptions sink, DeadLetterReplayOptions options,
    ConsumerConfig consumerConfig, AdminClientConfig adminConfig, TimeProvider time, ILogger logger)
{
    /// <summary>
    /// Rows of a connector frame carry the dead letter's partition and its offset with this bit set in
    /// <c>kafka_offset</c>: the frame never had a metrics topic offset, and real ones never reach 2^63.
    /// </summary>
    public const ulong ConnectorOffsetFlag = 1UL << 63;

    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);
    private readonly MetricsParser _parser = new();
    private readonly AvroOutput _transcoded = new();
    private readonly SinkTopics _topics = SinkTopics.From(sink);

    public async Task<ReplayReport> RunAsync(CancellationToken cancellationToken)
    {
        var report = new ReplayReport();
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(consumerConfig).Build();
        var letters = new List<ReplayLetter>();
        var seen = new HashSet<RecordId>();
        foreach (var message in Read(consumer, cancellationToken))
        {
            report.Read++;
            if (Classify(message, report) is not { } letter) continue;
            if (seen.Add(letter.Id)) letters.Add(letter);
            else report.Duplicates++;
        }

        var states = await ledger.StatesAsync(seen, cancellationToken);
        var fresh = new List<ReplayLetter>();
        var pending = new HashSet<string>(StringComparer.Ordinal);
        foreach (var letter in letters)
        {
            if (!states.TryGetValue(letter.Id, out var state)) fresh.Add(letter);
            else if (state.Done) report.AlreadyReplayed++;
            else pending.Add(state.Token);
        }

        foreach (var token in pending)
        {
            // The whole chunk under its token, its records outside this run's range included.
            var chunk = new List<ReplayLetter>();
            foreach (var (id, at) in await ledger.RecordsOfAsync(token, cancellationToken))
            {
                var letter = letters.Find(l => l.Id == id) ?? (ReadOne(consumer, at, cancellationToken) is { } m ? Classify(m, report) : null);
                if (letter is not null) chunk.Add(letter);
            }

            report.Completed += chunk.Count;
            if (!options.DryRun) await LoadAsync(chunk, token, recorded: true, report, cancellationToken);
        }

        foreach (var kindGroup in fresh.GroupBy(l => l.Kind))
        {
            foreach (var chunk in kindGroup.Chunk(options.ChunkRecords))
            {
                await LoadAsync(chunk, null, recorded: false, report, cancellationToken);
            }
        }

        LogReport(logger, options.Topic, report);
        return report;
    }

    /// <summary>Decodes a chunk, records it pending, inserts every table under its token, records it done.</summary>
    private async Task LoadAsync(IReadOnlyList<ReplayLetter> chunk, string? recordedToken, bool recorded, ReplayReport report, CancellationToken cancellationToken)
    {
        if (chunk.Count == 0) return;
        var kind = chunk[0].Kind;
        var tables = kind.Tables;
        var rows = kind.NewRows();
        try
        {
            var loaded = new List<ReplayLetter>(chunk.Count);
            foreach (var letter in chunk)
            {
                var reason = Decode(letter, rows);
                if (reason is null) loaded.Add(letter);
                else if (reason != "not_metrics") report.Fail(reason);
                else report.Skipped++;
            }

            if (loaded.Count == 0) return;
            var token = recordedToken ?? ReplayLedger.Token(kind.ToString(), loaded.Select(l => l.Id));
            if (options.DryRun)
            {
                report.Replayed += loaded.Count;
                return;
            }

            if (!recorded) await ledger.MarkAsync(loaded, token, done: false, cancellationToken);
            for (var i = 0; i < tables.Length; i++)
            {
                if (rows[i].Rows == 0) continue;
                await loader.InsertAsync(tables[i], rows[i], token, cancellationToken);
                report.Rows[tables[i].Name] = report.Rows.GetValueOrDefault(tables[i].Name) + rows[i].Rows;
            }

            await ledger.MarkAsync(loaded, token, done: true, cancellationToken);
            if (!recorded) report.Replayed += loaded.Count;
        }
        finally
        {
            foreach (var r in rows) r.Dispose();
        }
    }

    /// <summary>Appends the letter's rows; null when it decoded, else why not (<c>not_metrics</c>: nothing to load).</summary>
    private string? Decode(ReplayLetter letter, RowBinaryBuffer[] rows)
    {
        var value = letter.Message.Value;
        if (value is null) return "no_value";
        ReadOnlySpan<byte> body;
        ushort partition;
        ulong offset;
        byte[]? framed = null;
        if (letter.FromConnector)
        {
            var sample = new MetricsSample();
            if (!_parser.TryParseFrame(value, sample, out var envelope, out var isMetrics, out var error))
            {
                return isMetrics ? "invalid_metrics" : "invalid_frame";
            }

            if (!isMetrics) return "not_metrics";
            // What the connector fills from the session when it accepts a frame (AgentConnectionHandler).
            var received = long.TryParse(Header(letter.Message, DeadLetterHeaders.ReceivedTimeMs), NumberStyles.None, CultureInfo.InvariantCulture, out var ms) ? ms : letter.Message.Timestamp.UnixTimestampMs;
            sample.AgentId = Header(letter.Message, DeadLetterHeaders.AgentId) ?? "";
            sample.ConnectorId = Header(letter.Message, DeadLetterHeaders.ConnectorId) ?? "";
            sample.SessionId = Header(letter.Message, DeadLetterHeaders.SessionId) ?? "";
            sample.AgentTimeMs = envelope.Timestamp ?? received;
            sample.ReceivedTimeMs = received;
            var buffer = new ArrayBufferWriter<byte>(1024);
            new MetricsAvroWriter(0).Write(sample, buffer);
            framed = buffer.WrittenSpan.ToArray();
            body = framed.AsSpan(ConfluentWireFormat.HeaderSize);
            partition = (ushort)letter.DeadLetter.Partition.Value;
            offset = (ulong)letter.DeadLetter.Offset.Value | ConnectorOffsetFlag;
        }
        else if (letter.Kind.IsJson)
        {
            return letter.Kind.AppendJson(value, (ushort)letter.Id.Partition, (ulong)letter.Id.Offset, rows) is null ? null : "invalid_json";
        }
        else
        {
            if (!ConfluentWireFormat.TryReadHeader(value, out var schemaId, out body)) return "bad_magic_byte";
            SchemaResolution resolution;
            try
            {
                resolution = schemas.Resolve(schemaId, letter.Kind);
            }
            catch (SchemaIncompatibleException e)
            {
                LogIncompatible(logger, schemaId, e.Message);
                return "incompatible_schema";
            }

            if (!resolution.Decode) return "unknown_schema_id";
            if (resolution.Plan is { } plan)
            {
                _transcoded.Reset();
                var reader = new AvroSpanReader(body);
                plan.Transcode(ref reader, _transcoded);
                if (reader.Error is not null || !reader.End) return "invalid_avro";
                body = _transcoded.Written;
            }

            partition = (ushort)letter.Id.Partition;
            offset = (ulong)letter.Id.Offset;
        }

        return letter.Kind.Append(body, partition, offset, rows, (long)sink.MaxClockSkew.TotalMilliseconds, out _) is null ? null : "invalid_avro";
    }

    /// <summary>What a dead letter is a copy of, from its headers; null (counted) when it cannot be replayed at all.</summary>
    private ReplayLetter? Classify(ConsumeResult<byte[]?, byte[]?> result, ReplayReport report)
    {
        var message = result.Message;
        if (Header(message, DeadLetterHeaders.SourceTopic) is { } source)
        {
            // The connector's dead letters are raw frames, never the sink's own dead letters' source.
            var kind = _topics.Find(source)?.Kind;
            if (kind is null || kind == RecordKind.ConnectorDeadLetter)
            {
                report.Fail("unknown_source_topic");
                return null;
            }

            if (!int.TryParse(Header(message, DeadLetterHeaders.SourcePartition), NumberStyles.None, CultureInfo.InvariantCulture, out var partition) ||
                !long.TryParse(Header(message, DeadLetterHeaders.SourceOffset), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            {
                report.Fail("no_source_offset");
                return null;
            }

            return new ReplayLetter(new RecordId(source, partition, offset), kind, false, result.TopicPartitionOffset, message);
        }

        if (Header(message, DeadLetterHeaders.AgentId) is not null)
        {
            return new ReplayLetter(new RecordId(result.Topic, result.Partition.Value, result.Offset.Value), RecordKind.Metrics, true, result.TopicPartitionOffset, message);
        }

        report.Fail("not_a_dead_letter");
        return null;
    }

    /// <summary>The range's records, partition by partition, in offset order; the time filter by Kafka timestamp.</summary>
    private IEnumerable<ConsumeResult<byte[]?, byte[]?>> Read(IConsumer<byte[]?, byte[]?> consumer, CancellationToken cancellationToken)
    {
        var partitions = new List<int>();
        if (options.Partition is { } only) partitions.Add(only);
        else
        {
            using var admin = new AdminClientBuilder(adminConfig).Build();
            var metadata = admin.GetMetadata(options.Topic, TimeSpan.FromSeconds(30));
            var topic = metadata.Topics.Find(t => t.Topic == options.Topic);
            if (topic is null || topic.Error.IsError) throw new InvalidOperationException($"Dead-letter topic '{options.Topic}' not found ({topic?.Error.Reason}): check Replay:Topic and Kafka:BootstrapServers.");
            partitions.AddRange(topic.Partitions.Select(p => p.PartitionId).Order());
        }

        var count = 0;
        foreach (var p in partitions)
        {
            var tp = new TopicPartition(options.Topic, p);
            var marks = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(30));
            var first = Math.Max(marks.Low.Value, options.FromOffset ?? 0);
            var last = Math.Min(marks.High.Value - 1, options.ToOffset ?? long.MaxValue);
            if (first > last) continue;
            consumer.Assign(new TopicPartitionOffset(tp, first));
            var position = first;
            var idle = time.GetTimestamp();
            while (position <= last)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result?.Message is null)
                {
                    if (time.GetElapsedTime(idle) > ReadTimeout) throw new TimeoutException($"{tp}: no record at offset {position} within {ReadTimeout.TotalSeconds:0} s (up to {last} expected).");
                    continue;
                }

                idle = time.GetTimestamp();
                position = result.Offset.Value + 1;
                if (result.Offset.Value > last) break;
                if (!InTime(result.Message.Timestamp)) continue;
                if (++count > options.MaxRecords) throw new InvalidOperationException($"More than Replay:MaxRecords ({options.MaxRecords}) dead letters in the range: narrow it (Replay:FromOffset/ToOffset/FromTime/ToTime) or raise the setting.");
                yield return result;
            }

            consumer.Unassign();
        }
    }

    private ConsumeResult<byte[]?, byte[]?>? ReadOne(IConsumer<byte[]?, byte[]?> consumer, TopicPartitionOffset at, CancellationToken cancellationToken)
    {
        consumer.Assign(at);
        var started = time.GetTimestamp();
        try
        {
            while (time.GetElapsedTime(started) < ReadTimeout)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } result && result.Offset == at.Offset) return result;
            }

            return null;
        }
        finally
        {
            consumer.Unassign();
        }
    }

    private bool InTime(Timestamp timestamp)
    {
        if (options.FromTime is null && options.ToTime is null) return true;
        var at = timestamp.UnixTimestampMs;
        return (options.FromTime is not { } from || at >= from.ToUnixTimeMilliseconds()) && (options.ToTime is not { } to || at <= to.ToUnixTimeMilliseconds());
    }

    private static string? Header(Message<byte[]?, byte[]?> message, string name) =>
        message.Headers is { } h && h.TryGetLastBytes(name, out var v) && v is not null ? Encoding.UTF8.GetString(v) : null;

    [LoggerMessage(EventId = 4501, Level = LogLevel.Information, Message = "Replay of {Topic}: {Report}")]
    private static partial void LogReport(ILogger logger, string topic, ReplayReport report);

    [LoggerMessage(EventId = 4502, Level = LogLevel.Warning, Message = "Replay: schema id {SchemaId} cannot be read by this sink: {Reason}")]
    private static partial void LogIncompatible(ILogger logger, int schemaId, string reason);
}
