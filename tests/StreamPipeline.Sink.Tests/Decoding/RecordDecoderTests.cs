using StreamPipeline.Protocol;
using StreamPipeline.Sink.Decoding;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Decoding;

public sealed class RecordDecoderTests
{
    [Fact]
    public void AppendMetrics_EveryTruncation_ReturnsErrorAndLeavesBuffersUnchanged()
    {
        var body = SampleData.Encode(SampleData.Metrics(3, 2), 1).AsSpan(ConfluentWireFormat.HeaderSize).ToArray();
        using var samples = new RowBinaryBuffer();
        using var disks = new RowBinaryBuffer();
        using var interfaces = new RowBinaryBuffer();
        Assert.Null(RecordDecoder.AppendMetrics(body, 1, 7, samples, disks, interfaces));
        var before = (samples.Length, disks.Length, interfaces.Length);

        for (var length = 0; length < body.Length; length++)
        {
            Assert.NotNull(RecordDecoder.AppendMetrics(body.AsSpan(0, length), 1, 8, samples, disks, interfaces));
            Assert.Equal(before, (samples.Length, disks.Length, interfaces.Length));
        }

        Assert.Equal(1, samples.Rows);
    }

    [Fact]
    public void AppendMetrics_SteadyState_AllocatesNothing()
    {
        // The hot path: unframe, then decode with the shared AvroSpanReader, good records and poison ones alike.
        var message = SampleData.Encode(SampleData.Metrics(3, 2), 1);
        var truncated = message.AsSpan(0, message.Length - 4).ToArray();
        using var samples = new RowBinaryBuffer();
        using var disks = new RowBinaryBuffer();
        using var interfaces = new RowBinaryBuffer();
        var empty = (samples.Mark(), disks.Mark(), interfaces.Mark());
        Assert.True(Append(message));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            samples.Rewind(empty.Item1);
            disks.Rewind(empty.Item2);
            interfaces.Rewind(empty.Item3);
            Append(message);
            Append(truncated);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1, samples.Rows);

        bool Append(byte[] value) =>
            ConfluentWireFormat.TryReadHeader(value, out _, out var body) && RecordDecoder.AppendMetrics(body, 1, 7, samples, disks, interfaces) is null;
    }

    [Fact]
    public void AppendMetrics_TrailingBytes_ReturnsWrongSchemaError()
    {
        var body = SampleData.Encode(SampleData.Metrics(1, 1), 1).AsSpan(ConfluentWireFormat.HeaderSize).ToArray().Concat(new byte[] { 0 }).ToArray();
        using var a = new RowBinaryBuffer();
        using var b = new RowBinaryBuffer();
        using var c = new RowBinaryBuffer();

        Assert.Contains("left over", RecordDecoder.AppendMetrics(body, 0, 0, a, b, c), StringComparison.Ordinal);
        Assert.Equal(0, a.Length);
    }

    [Fact]
    public void AppendPresence_InvalidUtf8AgentId_ReturnsError()
    {
        var body = SampleData.Encode(SampleData.Presence(1, 0, connected: true), 1).AsSpan(ConfluentWireFormat.HeaderSize).ToArray();
        body[1] = 0xFF; // first byte of agent_id
        using var rows = new RowBinaryBuffer();

        Assert.Contains("UTF-8", RecordDecoder.AppendPresence(body, 0, 0, rows), StringComparison.Ordinal);
        Assert.Equal(0, rows.Rows);
    }

    [Fact]
    public void Canonical_SchemaFileAndApacheAvroRendering_AreTheSameLayout()
    {
        var rendered = Avro.Schema.Parse(AvroSchemas.MetricsSample.Json).ToString();

        Assert.Equal(SchemaCatalog.Canonical(AvroSchemas.MetricsSample.Json), SchemaCatalog.Canonical(rendered));
        Assert.NotEqual(SchemaCatalog.Canonical(AvroSchemas.MetricsSample.Json), SchemaCatalog.Canonical(AvroSchemas.AgentPresence.Json));
        Assert.Equal(SchemaCatalog.Canonical(AvroSchemas.CommandResult.Json), SchemaCatalog.Canonical(StreamPipeline.Kafka.Contracts.ContractCodec.CommandResultSchema.ToString()));
    }

    [Fact]
    public void Validate_BadSettings_NamesEverySetting()
    {
        var errors = new SinkOptions { BatchMaxRows = 0, BatchMaxDelay = TimeSpan.Zero, Database = "bad-name", DeadLetterTopic = "agent-metrics" }.Validate();

        Assert.Contains(errors, e => e.StartsWith("Sink:BatchMaxRows", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Sink:BatchMaxDelay", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Sink:Database", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Sink:DeadLetterTopic", StringComparison.Ordinal));
        Assert.Contains(new ClickHouseOptions().Validate(), e => e.StartsWith("ClickHouse:ConnectionString", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_ConnectorDeadLetterTopicIsTheSinksOwn_NamesTheSetting()
    {
        var errors = new SinkOptions { DeadLetterTopic = "dlq", ConnectorDeadLetterTopic = "dlq" }.Validate();

        Assert.Contains(errors, e => e.StartsWith("Sink:ConnectorDeadLetterTopic 'dlq' must be the connector's dead-letter topic", StringComparison.Ordinal));
        Assert.Empty(new SinkOptions { ConnectorDeadLetterTopic = "" }.Validate());
    }

    [Fact]
    public void Validate_CredentialAuditTopicIsAnotherSinkTopic_NamesTheSetting()
    {
        var errors = new SinkOptions { CredentialAuditTopic = "agent-presence" }.Validate();

        Assert.Contains(errors, e => e.StartsWith("Sink:CredentialAuditTopic 'agent-presence'", StringComparison.Ordinal));
        Assert.Empty(new SinkOptions { CredentialAuditTopic = "" }.Validate());
    }
}
