using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using StreamPipeline.Protocol;
using StreamPipeline.Sink.Consuming;
using StreamPipeline.Sink.Decoding;
using StreamPipeline.Sink.Telemetry;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Consuming;

/// <summary>Decode, dead-letter and close, one record at a time, without a broker, a registry or ClickHouse.</summary>
public sealed class PartitionBatcherTests : IDisposable
{
    private const int SchemaId = 7;
    private readonly FakeTime _time = new();
    private readonly TestMeterFactory _meters = new();
    private SchemaResolution? _resolution = SchemaResolution.Identity;

    public void Dispose() => _meters.Dispose();

    [Fact]
    public void Add_UpToBatchMaxRows_ClosesTheBatchWithItsRangeAndToken()
    {
        var batcher = Batcher(maxRows: 3);
        var state = Partition(RecordKind.Metrics);

        Assert.Equal(BatchStep.Added, batcher.Add(state, 10, Metrics(0)));
        Assert.Equal(BatchStep.Added, batcher.Add(state, 11, Metrics(1)));
        Assert.Equal(BatchStep.Closed, batcher.Add(state, 12, Metrics(2)));

        var batch = state.Current!;
        Assert.True(batch.Closed);
        Assert.Equal((10L, 12L), batch.Range);
        Assert.Equal("metrics:3:10-12", batch.Token);
        Assert.Equal(3, batch.Rows[0].Rows);
        Assert.Null(batch.DeadLetters);
    }

    [Fact]
    public void Add_AfterTheBatchClosed_ReadAgainAndNothingAdded()
    {
        var batcher = Batcher(maxRows: 1);
        var state = Partition(RecordKind.Metrics);
        Assert.Equal(BatchStep.Closed, batcher.Add(state, 0, Metrics(0)));

        Assert.Equal(BatchStep.ReadAgain, batcher.Add(state, 1, Metrics(1)));

        Assert.Equal(1, state.Current!.Records);
    }

    [Fact]
    public void Add_BatchMaxBytesReached_Closes()
    {
        var batcher = new PartitionBatcher(new SinkOptions { BatchMaxBytes = 1 }, (_, _) => _resolution, new SinkMetrics(_meters), _time, NullLogger.Instance);
        var state = Partition(RecordKind.Metrics);

        Assert.Equal(BatchStep.Closed, batcher.Add(state, 0, Metrics(0)));
    }

    [Fact]
    public void Add_NotConfluentFramed_DeadLetteredAsBadMagicByteWithTheAgentId()
    {
        var batcher = Batcher();
        var state = Partition(RecordKind.Metrics);

        Assert.Equal(BatchStep.Added, batcher.Add(state, 5, new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes("agent-001"), Value = [1, 2, 3] }));

        var letter = Assert.Single(state.Current!.DeadLetters!);
        Assert.Equal("bad_magic_byte", letter.Reason);
        Assert.Equal("Not a Confluent-framed message (expected magic byte 0 and a 4-byte schema id).", letter.Error);
        Assert.Equal("agent-001", letter.AgentId);
        Assert.Equal(new TopicPartitionOffset("metrics", 3, 5), letter.Source);
        Assert.Equal(0, state.Current.Rows[0].Rows);
        Assert.Equal((5L, 5L), state.Current.Range);
    }

    [Fact]
    public void Add_NullValue_DeadLetteredAsBadMagicByte()
    {
        var batcher = Batcher();
        var state = Partition(RecordKind.CommandResult);

        batcher.Add(state, 0, new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes("cmd-1"), Value = null });

        var letter = Assert.Single(state.Current!.DeadLetters!);
        Assert.Equal("bad_magic_byte", letter.Reason);
        Assert.Equal("Record has no value (null).", letter.Error);
        Assert.Null(letter.AgentId); // command results are keyed by command id
    }

    [Fact]
    public void Add_SchemaIdUnknownToTheRegistry_DeadLetteredAsUnknownSchemaId()
    {
        _resolution = SchemaResolution.Unknown;
        var batcher = Batcher();
        var state = Partition(RecordKind.Metrics);

        batcher.Add(state, 0, Metrics(0));

        var letter = Assert.Single(state.Current!.DeadLetters!);
        Assert.Equal("unknown_schema_id", letter.Reason);
        Assert.Equal("Schema id 7 is not known to the Schema Registry (asked for Sink:SchemaNotFoundGrace), so it cannot be decoded as a Metrics record.", letter.Error);
    }

    [Fact]
    public void Add_TruncatedAvro_DeadLetteredAsInvalidAvroAndNoRow()
    {
        var batcher = Batcher();
        var state = Partition(RecordKind.Metrics);
        var value = SampleData.Encode(SampleData.Metrics(1, 1), SchemaId);

        batcher.Add(state, 0, new Message<byte[]?, byte[]?> { Value = value[..^3] });

        Assert.Equal("invalid_avro", Assert.Single(state.Current!.DeadLetters!).Reason);
        Assert.Equal(0, state.Current.Rows[0].Rows);
        Assert.Equal(0, state.Current.Rows[1].Rows);
    }

    [Fact]
    public void Add_WriterSchemaTheSinkCannotRead_StoppedAndNothingAdded()
    {
        _resolution = null;
        var batcher = Batcher();
        var state = Partition(RecordKind.Metrics);

        Assert.Equal(BatchStep.Stopped, batcher.Add(state, 0, Metrics(0)));

        Assert.Equal(0, state.Current!.Records);
    }

    [Fact]
    public void Add_ConnectorDeadLetter_IndexedFromHeadersNeverDeadLetteredAgain()
    {
        var batcher = Batcher();
        var state = Partition(RecordKind.ConnectorDeadLetter);
        var headers = new Headers { { DeadLetterHeaders.Reason, "invalid_json"u8.ToArray() }, { DeadLetterHeaders.AgentId, "agent-9"u8.ToArray() } };

        batcher.Add(state, 0, new Message<byte[]?, byte[]?> { Value = "not json"u8.ToArray(), Headers = headers, Timestamp = new Timestamp(1_000, TimestampType.CreateTime) });

        Assert.Equal(1, state.Current!.Rows[0].Rows);
        Assert.Null(state.Current.DeadLetters);
    }

    [Fact]
    public void CloseIfDue_FirstRecordBatchMaxDelayOld_Closes()
    {
        var batcher = Batcher();
        var state = Partition(RecordKind.Metrics);
        batcher.Add(state, 0, Metrics(0));

        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(batcher.CloseIfDue(state));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(batcher.CloseIfDue(state));

        Assert.True(state.Current!.Closed);
    }

    [Fact]
    public void Add_RecordedRange_ClosesExactlyAtItsEndWhateverTheLimits()
    {
        var batcher = Batcher(maxRows: 2);
        var state = Partition(RecordKind.Metrics, ReplayPlan.Build(committed: 10, recorded: [(10, 12)]));

        Assert.Equal(BatchStep.Added, batcher.Add(state, 10, Metrics(0)));
        Assert.Equal(BatchStep.Added, batcher.Add(state, 11, Metrics(1)));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(batcher.CloseIfDue(state));
        Assert.Equal(BatchStep.Closed, batcher.Add(state, 12, Metrics(2)));

        Assert.Equal((10L, 12L), state.Current!.Range);
        Assert.Equal(0, state.Replay.Count);

        // Inserted: what follows is batched by size again.
        state.Current = null;
        batcher.Add(state, 13, Metrics(3));
        Assert.Null(state.Current!.Replay);
    }

    [Fact]
    public void Add_RecordPastARecordedRangeWhoseTailIsGone_ClosesItAsRecordedAndReadsTheRecordAgain()
    {
        var batcher = Batcher();
        var state = Partition(RecordKind.Metrics, ReplayPlan.Build(committed: 10, recorded: [(10, 14)]));
        batcher.Add(state, 10, Metrics(0));
        batcher.Add(state, 11, Metrics(1));

        Assert.Equal(BatchStep.ReadAgain, batcher.Add(state, 20, Metrics(2)));

        Assert.True(state.Current!.Closed);
        Assert.Equal((10L, 14L), state.Current.Range);
        Assert.Equal(2, state.Current.Records);
        Assert.Equal(0, state.Replay.Count);
    }

    [Fact]
    public void Add_FirstRecordAfterARecordedRangeRetentionDeleted_SkipsThatRange()
    {
        var batcher = Batcher();
        var state = Partition(RecordKind.Metrics, ReplayPlan.Build(committed: 0, recorded: [(0, 4), (5, 9)]));

        batcher.Add(state, 7, Metrics(0));

        Assert.Equal((5L, 9L), state.Current!.Replay);
    }

    [Fact]
    public void Refused_ThenReadAgain_EveryRecordOfTheRangeDeadLetteredWithTheReason()
    {
        var batcher = Batcher(maxRows: 2);
        var state = Partition(RecordKind.Metrics);
        batcher.Add(state, 0, Metrics(0));
        batcher.Add(state, 1, Metrics(1));
        var refused = state.Current!;
        state.Current = null;

        Assert.Equal(0, PartitionBatcher.Refused(state, refused, "Code: 117. INCORRECT_DATA"));
        Assert.Equal(BatchStep.Added, batcher.Add(state, 0, Metrics(0)));
        Assert.Equal(BatchStep.Closed, batcher.Add(state, 1, Metrics(1)));

        var batch = state.Current!;
        Assert.Equal("Code: 117. INCORRECT_DATA", batch.Rejection);
        Assert.Equal((0L, 1L), batch.Range);
        Assert.All(batch.DeadLetters!, l => Assert.Equal(("batch_rejected", "Code: 117. INCORRECT_DATA"), (l.Reason, l.Error)));
        Assert.Equal(2, batch.DeadLetters!.Count);
        Assert.Equal(0, batch.Rows[0].Rows);
    }

    [Fact]
    public void Refused_WhileTheNextRecordedRangeWaitsClosed_ThatRangeIsReadAgainAlongItsBounds()
    {
        var batcher = Batcher();
        var state = Partition(RecordKind.Metrics, ReplayPlan.Build(committed: 0, recorded: [(0, 1), (2, 3)]));
        batcher.Add(state, 0, Metrics(0));
        batcher.Add(state, 1, Metrics(1));
        var refused = state.Current!;
        state.Current = null;
        batcher.Add(state, 2, Metrics(2));
        batcher.Add(state, 3, Metrics(3));
        Assert.Equal(0, state.Replay.Count);

        PartitionBatcher.Refused(state, refused, "refused");

        Assert.Null(state.Current);
        Assert.Equal(new[] { (2L, 3L) }, state.Replay.Ranges);
    }

    private PartitionBatcher Batcher(int maxRows = 100) =>
        new(new SinkOptions { BatchMaxRows = maxRows, BatchMaxDelay = TimeSpan.FromSeconds(1) }, (_, _) => _resolution, new SinkMetrics(_meters), _time, NullLogger.Instance);

    private static PartitionState Partition(RecordKind kind, ReplayPlan? plan = null) => new(new TopicPartition("metrics", 3), kind, plan ?? ReplayPlan.None);

    private static Message<byte[]?, byte[]?> Metrics(int i)
    {
        var sample = SampleData.Metrics(1, i);
        return new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes(sample.AgentId), Value = SampleData.Encode(sample, SchemaId) };
    }
}
