using Confluent.Kafka;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Consuming;

/// <summary>Graceful rebalances under load: a second sink joins, then the first leaves; nothing is lost or duplicated.</summary>
[Collection(SinkCollection.Name)]
public sealed class SinkRebalanceTests(SinkFixture fixture)
{
    [Fact]
    public async Task Sink_MemberJoinsThenFirstLeavesUnderLoad_EveryRecordExactlyOnce()
    {
        var topics = await fixture.CreateTopicsAsync("rebalance", metricsPartitions: 6, presencePartitions: 1);
        var db = fixture.Unique("rebalance");
        var settings = InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"));
        settings["Sink:BatchMaxRows"] = "300";
        using var stop = new CancellationTokenSource();
        var produced = 0;
        var load = Task.Run(async () =>
        {
            using var producer = SampleData.Producer(fixture.Kafka.BootstrapServers);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                for (var agent = 0; agent < 30; agent++)
                {
                    var sample = SampleData.Metrics(agent, i);
                    producer.Produce(topics.Metrics, new Message<string, byte[]> { Key = sample.AgentId, Value = SampleData.Encode(sample, topics.MetricsSchemaId) }, r =>
                    {
                        if (!r.Error.IsError) Interlocked.Increment(ref produced);
                    });
                }

                await Task.Delay(10);
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        });

        var first = await InProcessSink.StartAsync(fixture, settings);
        await StreamPipeline.Testing.Eventually.ReturnsAsync(() => fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"), n => n > 500, TimeSpan.FromSeconds(30), "the first sink loading");
        await using (var second = await InProcessSink.StartAsync(fixture, settings))
        {
            await StreamPipeline.Testing.Eventually.ReturnsAsync(() => fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"), n => n > 3_000, TimeSpan.FromSeconds(30), "both sinks loading");
            await first.DisposeAsync();
            await StreamPipeline.Testing.Eventually.ReturnsAsync(() => fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"), n => n > 6_000, TimeSpan.FromSeconds(30), "the second sink alone");
            await stop.CancelAsync();
            await load;
            await fixture.WaitForCountAsync($"{db}.metrics_samples", (ulong)produced, TimeSpan.FromSeconds(60));
        }

        Assert.Equal((ulong)produced, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() - uniqExact(kafka_partition, kafka_offset) FROM {db}.metrics_samples"));
        Assert.Equal((ulong)produced, await fixture.CountAsync($"SELECT sum(samples) FROM {db}.metrics_1m"));
    }
}
