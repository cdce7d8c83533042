using System.Net;
using Confluent.Kafka;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Hosting;

[Collection(SinkCollection.Name)]
public sealed class SinkOperationsTests(SinkFixture fixture)
{
    [Fact]
    public async Task OpsEndpoints_RunningSink_ReadyHealthyAndExportsSinkMetrics()
    {
        var topics = await fixture.CreateTopicsAsync("ops", metricsPartitions: 1, presencePartitions: 1);
        var db = fixture.Unique("ops");
        await using var sink = await InProcessSink.StartAsync(fixture, InProcessSink.Settings(fixture, topics, db, fixture.Unique("group")));
        using (var producer = SampleData.Producer(fixture.Kafka.BootstrapServers))
        {
            await producer.ProduceAsync(topics.Metrics, new Message<string, byte[]> { Key = "a", Value = SampleData.Encode(SampleData.Metrics(1, 1), topics.MetricsSchemaId) });
        }

        await fixture.WaitForCountAsync($"{db}.metrics_samples", 1, TimeSpan.FromSeconds(30));
        using var http = new HttpClient { BaseAddress = sink.OpsUrl };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        var metrics = await StreamPipeline.Testing.Eventually.ReturnsAsync(
            () => http.GetStringAsync(new Uri("/metrics", UriKind.Relative)),
            text => text.Contains("sink_rows_inserted_total", StringComparison.Ordinal) && text.Contains("sink_consumer_lag", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "sink metrics on /metrics");
        Assert.Contains("sink_insert_latency", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MigrateCommand_ChildProcess_AppliesMigrationsAndExitsZero()
    {
        var db = fixture.Unique("cli");
        var settings = new Dictionary<string, string?>
        {
            ["ClickHouse:ConnectionString"] = fixture.ClickHouse.ConnectionString,
            ["Sink:Database"] = db,
        };
        using var process = SinkProcess.Start(settings, Path.Combine(Path.GetTempPath(), db + ".log"), "migrate");

        await StreamPipeline.Testing.Eventually.TrueAsync(() => process.HasExited, TimeSpan.FromSeconds(60), "migrate to finish");

        Assert.Equal(0, process.ExitCode);
        Assert.Equal((ulong)StreamPipeline.Sink.Schema.Migration.LoadEmbedded().Count, await fixture.CountAsync($"SELECT uniqExact(version) FROM {db}.schema_migrations"));
        Assert.Equal(1ul, await fixture.CountAsync($"SELECT count() FROM system.tables WHERE database = '{db}' AND name = 'metrics_samples'"));
    }
}
