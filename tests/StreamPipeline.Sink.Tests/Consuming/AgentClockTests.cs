using System.Text;
using Confluent.Kafka;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Consuming;

/// <summary>
/// Agent clocks cannot decide storage layout (issue 9, item 4): the raw tables were partitioned and expired by the
/// agent's timestamp (002_metrics_raw.sql), and a batch ClickHouse refuses for its data was retried forever.
/// </summary>
[Collection(SinkCollection.Name)]
public sealed class AgentClockTests(SinkFixture fixture)
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    [Fact]
    public async Task Sink_41SamplesStampedOver80Days_RawTablesUseAtMostTwoPartitionsAndSkewIsMarked()
    {
        var topics = await fixture.CreateTopicsAsync("clock", metricsPartitions: 1, presencePartitions: 1);
        var db = fixture.Unique("clock");
        using (var producer = SampleData.Producer(fixture.Kafka.BootstrapServers))
        {
            for (var i = 0; i < 41; i++)
            {
                // Received now, stamped two days apart going back 80 days: the first one's clock is right.
                var sample = SampleData.Metrics(7, i);
                sample.ReceivedTimeMs = Now;
                sample.AgentTimeMs = Now - (i * 2 * 86_400_000L);
                await producer.ProduceAsync(topics.Metrics, new Message<string, byte[]> { Key = sample.AgentId, Value = SampleData.Encode(sample, topics.MetricsSchemaId) });
            }
        }

        await using (var sink = await InProcessSink.StartAsync(fixture, InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"))))
        {
            await fixture.WaitForCountAsync($"{db}.metrics_samples", 41, TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = sink.OpsUrl };
            var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            Assert.Matches(new System.Text.RegularExpressions.Regex(@"^sink_clock_skewed_samples_total(\{[^}]*\})? 40( |$)", System.Text.RegularExpressions.RegexOptions.Multiline), metrics);
        }

        foreach (var table in new[] { "metrics_samples", "metrics_disks", "metrics_interfaces" })
        {
            var partitions = await fixture.CountAsync($"SELECT uniqExact(partition) FROM system.parts WHERE database = '{db}' AND table = '{table}' AND active");
            Assert.InRange(partitions, 1ul, 2ul);
        }

        Assert.Equal(41ul, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));
        Assert.Equal(40ul, await fixture.CountAsync($"SELECT countIf(clock_skewed) FROM {db}.metrics_samples"));
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT countIf(clock_skewed) FROM {db}.metrics_samples WHERE kafka_offset = 0"));
        Assert.Equal(41ul, await fixture.CountAsync($"SELECT uniqExact(agent_time) FROM {db}.metrics_samples"));
    }

    [Fact]
    public async Task Sink_BatchRefusedForTooManyPartitions_DeadLetteredWithReasonAndEveryoneElseLoads()
    {
        var topics = await fixture.CreateTopicsAsync("refused", metricsPartitions: 2, presencePartitions: 1);
        var db = fixture.Unique("refused");
        const int rogue = 250;
        using var producer = SampleData.Producer(fixture.Kafka.BootstrapServers);
        for (var i = 0; i < rogue; i++)
        {
            // A clock running months ahead per sample: the 1-minute rollup (by agent month) gets 250 partitions in one INSERT.
            var sample = SampleData.Metrics(9, i);
            sample.ReceivedTimeMs = Now;
            sample.AgentTimeMs = Now + (i * 31L * 86_400_000L);
            await producer.ProduceAsync(new TopicPartition(topics.Metrics, 0), new Message<string, byte[]> { Key = sample.AgentId, Value = SampleData.Encode(sample, topics.MetricsSchemaId) });
        }

        for (var i = 0; i < 20; i++)
        {
            await producer.ProduceAsync(new TopicPartition(topics.Metrics, 1), new Message<string, byte[]> { Key = "agent-001", Value = SampleData.Encode(SampleData.Metrics(1, i), topics.MetricsSchemaId) });
        }

        await using (await InProcessSink.StartAsync(fixture, InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"))))
        {
            await fixture.WaitForCountAsync($"{db}.metrics_samples", 20, TimeSpan.FromSeconds(60));
            var letters = await ReadDeadLettersAsync(topics.DeadLetter, rogue);
            Assert.Equal(rogue, letters.Count);
            Assert.All(letters, h => Assert.Equal("batch_rejected", Header(h, "reason")));
            Assert.Contains("TOO_MANY_PARTS", Header(letters[0], "error"), StringComparison.Ordinal);

            // The refused range is committed: the same partition keeps loading what comes after it.
            for (var i = 0; i < 5; i++)
            {
                await producer.ProduceAsync(new TopicPartition(topics.Metrics, 0), new Message<string, byte[]> { Key = "agent-002", Value = SampleData.Encode(SampleData.Metrics(2, i), topics.MetricsSchemaId) });
            }

            await StreamPipeline.Testing.Eventually.ReturnsAsync(
                () => fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples WHERE agent_id = 'agent-002'"), n => n == 5, TimeSpan.FromSeconds(60), "partition 0 to load after the refused batch");
        }

        Assert.Equal(20ul, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples WHERE agent_id = 'agent-001'"));
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_1m WHERE agent_id = 'agent-009'"));

        // Issue 13: the refused range is indexed in dead_letters, one row per record, with the agent and ClickHouse's reason.
        Assert.Equal((ulong)rogue, await fixture.CountAsync($"SELECT count() FROM {db}.dead_letters"));
        Assert.Equal((ulong)rogue, await fixture.CountAsync($"SELECT uniqExact(source_offset) FROM {db}.dead_letters WHERE stage = 'sink' AND reason = 'batch_rejected' AND agent_id = 'agent-009' AND source_topic = '{topics.Metrics}' AND source_partition = 0 AND source_offset < {rogue} AND position(error, 'TOO_MANY_PARTS') > 0"));
    }

    private async Task<List<Headers>> ReadDeadLettersAsync(string topic, int expected)
    {
        var letters = new Dictionary<string, Headers>();
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = fixture.Kafka.BootstrapServers,
            GroupId = fixture.Unique("dlq-reader"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(topic);
        await StreamPipeline.Testing.Eventually.TrueAsync(
            () =>
            {
                while (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: { } message })
                {
                    letters[Header(message.Headers, "source_offset")] = message.Headers;
                }

                return letters.Count >= expected;
            },
            TimeSpan.FromSeconds(60), $"{expected} dead letters");
        consumer.Close();
        return [.. letters.OrderBy(l => long.Parse(l.Key, System.Globalization.CultureInfo.InvariantCulture)).Select(l => l.Value)];
    }

    private static string Header(Headers headers, string name) => Encoding.UTF8.GetString(headers.GetLastBytes(name));
}
