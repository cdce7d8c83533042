using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamPipeline.Sink.DeadLetters;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.DeadLetters;

/// <summary>
/// The <c>dead_letters</c> table (issue 13): nothing wrote it, so the dashboards' "Dead letters by reason" was always
/// empty. The sink now indexes the connector's dead-letter topic and its own dead letters, exactly once.
/// </summary>
[Collection(SinkCollection.Name)]
public sealed class DeadLetterIndexTests(SinkFixture fixture)
{
    private const short OffsetCommitApiKey = 8;

    [Fact]
    public async Task Sink_DeadLettersOfBothStagesCommitsFailingThenKilled_IndexedOnceEach()
    {
        var topics = await fixture.CreateTopicsAsync("index", metricsPartitions: 1, presencePartitions: 1);
        var db = fixture.Unique("index");
        var settings = InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"));
        settings["Sink:CreateDeadLetterTopic"] = "false";
        settings["Sink:BatchMaxRows"] = "10";
        settings["Logging:LogLevel:Default"] = "Information";
        var logPath = Path.Combine(Path.GetTempPath(), db + ".log");
        const int connectorLetters = 40;
        const int badRecords = 5;
        const int goodRecords = 20;

        using var producer = SampleData.Producer(fixture.Kafka.BootstrapServers);
        var sink = SinkProcess.Start(settings, logPath);
        try
        {
            await sink.Assigned.WaitAsync(TimeSpan.FromSeconds(60));
            // Nothing is ever committed: the next sink replays every recorded range, dead letters included.
            fixture.Kafka.PushRequestErrors(OffsetCommitApiKey, Enumerable.Repeat(ErrorCode.InvalidCommitOffsetSize, 5_000).ToArray());
            for (var i = 0; i < connectorLetters; i++)
            {
                await producer.ProduceAsync(topics.ConnectorDeadLetter, ConnectorLetter(SampleData.AgentId(i % 4), i % 2 == 0 ? "wrong_type" : "malformed_json", $"payload.cpuUsagePercent must be a number ({i})"));
            }

            // As hostile as headers get: none at all; an error of 100 kB and an agent id that is not UTF-8.
            await producer.ProduceAsync(topics.ConnectorDeadLetter, new Message<string, byte[]> { Key = "agent-raw", Value = "{"u8.ToArray() });
            var hostile = ConnectorLetter("x", "frame_too_large", new string('e', 100_000));
            hostile.Headers.Remove("agent_id");
            hostile.Headers.Add("agent_id", [0xFF, 0xFE, (byte)'a']);
            await producer.ProduceAsync(topics.ConnectorDeadLetter, hostile);

            for (var i = 0; i < goodRecords + badRecords; i++)
            {
                var value = i % 5 == 2 ? "not avro"u8.ToArray() : SampleData.Encode(SampleData.Metrics(1, i), topics.MetricsSchemaId);
                await producer.ProduceAsync(topics.Metrics, new Message<string, byte[]> { Key = SampleData.AgentId(1), Value = value });
            }

            await fixture.WaitForCountAsync($"{db}.dead_letters", connectorLetters + 2 + badRecords, TimeSpan.FromSeconds(60));
            await fixture.WaitForCountAsync($"{db}.metrics_samples", goodRecords, TimeSpan.FromSeconds(60));
            sink.Kill();
        }
        finally
        {
            fixture.Kafka.ClearRequestErrors(OffsetCommitApiKey);
            sink.Dispose();
        }

        using (SinkProcess.Start(settings, logPath))
        {
            // Markers after the replayed ranges of both partitions: once they are in, the replay is done.
            await producer.ProduceAsync(topics.ConnectorDeadLetter, ConnectorLetter("agent-marker", "marker", "the end"));
            await producer.ProduceAsync(topics.Metrics, new Message<string, byte[]> { Key = "agent-m", Value = "marker"u8.ToArray() });
            await StreamPipeline.Testing.Eventually.ReturnsAsync(
                () => fixture.CountAsync($"SELECT countIf(reason = 'marker') + countIf(source_offset = {goodRecords + badRecords}) FROM {db}.dead_letters"),
                n => n == 2, TimeSpan.FromSeconds(90), "both markers in dead_letters");
        }

        var connectorRows = await fixture.CountAsync($"SELECT count() FROM {db}.dead_letters WHERE stage = 'connector'");
        Assert.Equal((ulong)(connectorLetters + 3), connectorRows);
        Assert.Equal(connectorRows, await fixture.CountAsync($"SELECT uniqExact(dead_letter_partition, dead_letter_offset) FROM {db}.dead_letters WHERE stage = 'connector' AND dead_letter_topic = '{topics.ConnectorDeadLetter}'"));
        Assert.Equal((ulong)(badRecords + 1), await fixture.CountAsync($"SELECT count() FROM {db}.dead_letters WHERE stage = 'sink'"));
        Assert.Equal((ulong)(badRecords + 1), await fixture.CountAsync($"SELECT uniqExact(source_offset) FROM {db}.dead_letters WHERE stage = 'sink' AND reason = 'bad_magic_byte' AND source_topic = '{topics.Metrics}'"));
        Assert.Equal((ulong)goodRecords, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));

        // What each connector letter said, from its headers.
        Assert.Equal((ulong)(connectorLetters / 2), await fixture.CountAsync($"SELECT count() FROM {db}.dead_letters WHERE reason = 'wrong_type' AND connector_id = 'edge-7' AND agent_id LIKE 'agent-00_' AND error LIKE 'payload.cpuUsagePercent must be a number (%)'"));
        Assert.Equal(10ul, await fixture.CountAsync($"SELECT count() FROM {db}.dead_letters WHERE reason = 'malformed_json' AND agent_id = 'agent-001'"));
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() FROM {db}.dead_letters WHERE abs(dateDiff('second', dead_lettered_time, now64(3))) > 600"));
        Assert.Equal(1ul, await fixture.CountAsync($"SELECT count() FROM {db}.dead_letters WHERE stage = 'connector' AND reason = 'unknown' AND agent_id = 'agent-raw' AND connector_id = '' AND source_topic = ''"));
        Assert.Equal((ulong)DeadLetterRows.MaxErrorBytes, await fixture.CountAsync($"SELECT length(error) FROM {db}.dead_letters WHERE reason = 'frame_too_large'"));
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() FROM {db}.dead_letters WHERE NOT isValidUTF8(agent_id) OR NOT isValidUTF8(error) OR length(error) > {DeadLetterRows.MaxErrorBytes}"));
    }

    [Theory]
    [InlineData("abc", 10, "abc")]
    [InlineData("ééé", 5, "éé")]
    [InlineData("aé", 2, "a")]
    [InlineData("", 5, "")]
    public void Bounded_TextOverTheLimit_CutAtACharacterBoundary(string text, int maxBytes, string expected)
    {
        Assert.Equal(expected, Encoding.UTF8.GetString(DeadLetterRows.Bounded(text, maxBytes)));
    }

    /// <summary>A dead letter as the edge connector writes it (KafkaPublisher.PublishDeadLetter).</summary>
    internal static Message<string, byte[]> ConnectorLetter(string agentId, string reason, string error) => new()
    {
        Key = agentId,
        Value = """{"type":"metrics","payload":{"cpuUsagePercent":"high"}}"""u8.ToArray(),
        Headers = new Headers
        {
            { "reason", Encoding.UTF8.GetBytes(reason) },
            { "error", Encoding.UTF8.GetBytes(error) },
            { "agent_id", Encoding.UTF8.GetBytes(agentId) },
            { "connector_id", "edge-7"u8.ToArray() },
            { "session_id", "s-1"u8.ToArray() },
            { "received_time_ms", Encoding.UTF8.GetBytes(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)) },
        },
    };
}
