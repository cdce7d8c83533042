using System.Text;
using Confluent.Kafka;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Consuming;

[Collection(SinkCollection.Name)]
public sealed class DeadLetterTests(SinkFixture fixture)
{
    [Fact]
    public async Task Sink_PoisonRecords_LandInDeadLetterTopicWithHeadersAndGoodRecordsFlow()
    {
        var topics = await fixture.CreateTopicsAsync("dlq", metricsPartitions: 1, presencePartitions: 1);
        var db = fixture.Unique("dlq");
        var good = SampleData.Encode(SampleData.Metrics(1, 1), topics.MetricsSchemaId);
        var unknownSchema = SampleData.Encode(SampleData.Metrics(1, 2), 987_654);
        var truncated = good.AsSpan(0, good.Length / 2).ToArray();
        using (var producer = SampleData.Producer(fixture.Kafka.BootstrapServers))
        {
            foreach (var value in new[] { good, "not avro at all"u8.ToArray(), unknownSchema, truncated, SampleData.Encode(SampleData.Metrics(2, 3), topics.MetricsSchemaId) })
            {
                await producer.ProduceAsync(topics.Metrics, new Message<string, byte[]> { Key = "agent-x", Value = value });
            }
        }

        var settings = InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"));
        // Id 987654 is never registered: dead-lettered once the 404 grace is over.
        settings["Sink:SchemaNotFoundGrace"] = "00:00:01";
        await using (await InProcessSink.StartAsync(fixture, settings))
        {
            await fixture.WaitForCountAsync($"{db}.metrics_samples", 2, TimeSpan.FromSeconds(60));
            await StreamPipeline.Testing.Eventually.ReturnsAsync(
                () => fixture.CountAsync($"SELECT max(last_offset) FROM {db}.sink_batches"), n => n == 4, TimeSpan.FromSeconds(30), "the batch with the poison records recorded");
        }

        var letters = new Dictionary<string, Headers>();
        var copies = new Dictionary<string, long>();
        using (var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = fixture.Kafka.BootstrapServers,
            GroupId = fixture.Unique("dlq-reader"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build())
        {
            consumer.Subscribe(topics.DeadLetter);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (letters.Count < 3 && DateTime.UtcNow < deadline)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result?.Message is not { } message) continue;
                letters[Header(message.Headers, "source_offset")] = message.Headers;
                copies[Header(message.Headers, "source_offset")] = result.Offset.Value;
            }

            consumer.Close();
        }

        Assert.Equal(["1", "2", "3"], letters.Keys.Order());
        Assert.Equal("bad_magic_byte", Header(letters["1"], "reason"));
        Assert.Equal("unknown_schema_id", Header(letters["2"], "reason"));
        Assert.Equal("invalid_avro", Header(letters["3"], "reason"));
        foreach (var headers in letters.Values)
        {
            Assert.Equal(topics.Metrics, Header(headers, "source_topic"));
            Assert.Equal("0", Header(headers, "source_partition"));
            Assert.False(string.IsNullOrWhiteSpace(Header(headers, "error")));
            Assert.Equal("agent-x", Header(headers, "agent_id"));
        }

        // Issue 13: the same three in dead_letters (what the dashboards read), once each, pointing at their copies.
        using (var r = await fixture.Client.ExecuteReaderAsync($"""
            SELECT toString(source_offset), stage, agent_id, connector_id, source_topic, source_partition, dead_letter_topic, dead_letter_offset, reason, error,
                   abs(dateDiff('second', dead_lettered_time, now64(3))) < 600
            FROM {db}.dead_letters ORDER BY source_offset
            """))
        {
            foreach (var offset in new[] { "1", "2", "3" })
            {
                Assert.True(r.Read(), $"no dead_letters row for offset {offset}");
                Assert.Equal(offset, r.GetString(0));
                Assert.Equal("sink", r.GetString(1));
                Assert.Equal("agent-x", r.GetString(2));
                Assert.Equal("", r.GetString(3));
                Assert.Equal(topics.Metrics, r.GetString(4));
                Assert.Equal(0L, Convert.ToInt64(r.GetValue(5), System.Globalization.CultureInfo.InvariantCulture));
                Assert.Equal(topics.DeadLetter, r.GetString(6));
                Assert.Equal(copies[offset], Convert.ToInt64(r.GetValue(7), System.Globalization.CultureInfo.InvariantCulture));
                Assert.Equal(Header(letters[offset], "reason"), r.GetString(8));
                Assert.Equal(Header(letters[offset], "error"), r.GetString(9));
                Assert.True(Convert.ToBoolean(r.GetValue(10), System.Globalization.CultureInfo.InvariantCulture), "dead_lettered_time is not about now");
            }

            Assert.False(r.Read(), "more dead_letters rows than dead letters");
        }

        Assert.Equal(2ul, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT countIf(kafka_offset NOT IN (0, 4)) FROM {db}.metrics_samples"));
    }

    private static string Header(Headers headers, string name) => Encoding.UTF8.GetString(headers.GetLastBytes(name));
}
