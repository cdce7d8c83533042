using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using StreamPipeline.Protocol;
using StreamPipeline.Sink.Consuming;
using StreamPipeline.Sink.Decoding;
using StreamPipeline.Sink.Loading;
using StreamPipeline.Sink.Schema;
using StreamPipeline.Sink.Telemetry;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Consuming;

/// <summary>The state a sink killed between "record the range" and "commit" leaves behind, and what the next sink makes of it.</summary>
[Collection(SinkCollection.Name)]
public sealed class ExactlyOnceReplayTests(SinkFixture fixture)
{
    private const int Records = 300;
    private const int CrashedBatch = 120;

    [Fact]
    public async Task Start_RecordedRangePartlyInsertedNotCommitted_ReinsertsSameTokenNoLossNoDuplicate()
    {
        var topics = await fixture.CreateTopicsAsync("replay", metricsPartitions: 1, presencePartitions: 1);
        var db = fixture.Unique("replay");
        var group = fixture.Unique("group");
        var samples = new List<StreamPipeline.Protocol.MetricsSample>();
        using (var producer = SampleData.Producer(fixture.Kafka.BootstrapServers))
        {
            for (var i = 0; i < Records; i++)
            {
                var sample = SampleData.Metrics(i % 5, i);
                samples.Add(sample);
                await producer.ProduceAsync(topics.Metrics, new Message<string, byte[]> { Key = sample.AgentId, Value = SampleData.Encode(sample, topics.MetricsSchemaId) });
            }
        }

        // The crashed sink: recorded [0, 119], inserted metrics_samples (and so the rollups) but not disks or interfaces, committed nothing.
        await new MigrationRunner(fixture.Client, NullLogger.Instance).ApplyAsync(db, 30, 365, CancellationToken.None);
        using (var meters = new TestMeterFactory())
        using (var loader = new ClickHouseLoader(new ClickHouse.Driver.ClickHouseClient(fixture.ClickHouse.ConnectionString), db, TimeSpan.FromSeconds(30), new SinkMetrics(meters), NullLogger.Instance))
        using (var batch = new PartitionBatch(new TopicPartition(topics.Metrics, 0), RecordKind.Metrics, 0, replay: null))
        {
            for (var offset = 0; offset < CrashedBatch; offset++)
            {
                Assert.Null(RecordDecoder.AppendMetrics(SampleData.Encode(samples[offset], topics.MetricsSchemaId).AsSpan(ConfluentWireFormat.HeaderSize), 0, (ulong)offset, batch.Rows[0], batch.Rows[1], batch.Rows[2]));
                batch.Added(offset);
            }

            await loader.RecordBatchAsync(group, topics.Metrics, 0, 0, CrashedBatch - 1, CancellationToken.None);
            await loader.InsertAsync(SinkTables.MetricsSamples, batch.Rows[0], batch.Token, CancellationToken.None);
        }

        Assert.Equal((ulong)CrashedBatch, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));

        var settings = InProcessSink.Settings(fixture, topics, db, group);
        settings["Sink:BatchMaxRows"] = "50";
        await using (await InProcessSink.StartAsync(fixture, settings))
        {
            await fixture.WaitForCountAsync($"{db}.metrics_samples", Records, TimeSpan.FromSeconds(60));
            await StreamPipeline.Testing.Eventually.ReturnsAsync(
                () => fixture.CountAsync($"SELECT max(last_offset) FROM {db}.sink_batches"), n => n == Records - 1, TimeSpan.FromSeconds(30), "the last batch recorded");
        }

        var expectedDisks = 0;
        var expectedInterfaces = 0;
        foreach (var s in samples)
        {
            expectedDisks += s.Disks.Count;
            expectedInterfaces += s.NetworkInterfaces.Count;
        }

        Assert.Equal((ulong)Records, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));
        Assert.Equal((ulong)expectedDisks, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_disks"));
        Assert.Equal((ulong)expectedInterfaces, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_interfaces"));
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() - uniqExact(kafka_offset) FROM {db}.metrics_samples"));
        Assert.Equal((ulong)Records, await fixture.CountAsync($"SELECT sum(samples) FROM {db}.metrics_1m"));
        Assert.Equal((ulong)Records, await fixture.CountAsync($"SELECT sum(samples) FROM {db}.metrics_1h"));
        Assert.Equal((ulong)Records, await fixture.CountAsync($"SELECT sum(samples) FROM {db}.agent_current"));
        // The replay re-used the crashed batch's exact range before batching the rest by Sink:BatchMaxRows.
        Assert.Equal((ulong)(CrashedBatch - 1), await fixture.CountAsync($"SELECT min(last_offset) FROM {db}.sink_batches"));
    }
}
