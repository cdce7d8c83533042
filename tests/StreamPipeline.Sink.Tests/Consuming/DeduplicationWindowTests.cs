using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using StreamPipeline.Sink.Schema;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Consuming;

/// <summary>
/// A replay can never outrun the deduplication window (issue 10, item 2): while offset commits failed the sink kept
/// inserting and recording ranges, so a crash after a long commit outage replayed further back than ClickHouse
/// remembers tokens, and rows were stored twice.
/// </summary>
[Collection(SinkCollection.Name)]
public sealed class DeduplicationWindowTests(SinkFixture fixture)
{
    private const short OffsetCommitApiKey = 8;

    [Fact]
    public async Task Sink_OffsetCommitsFailingThenKilled_SmallWindowStillExactlyOnce()
    {
        var topics = await fixture.CreateTopicsAsync("window", metricsPartitions: 2, presencePartitions: 1);
        var db = fixture.Unique("window");
        await SmallWindowAsync(db, 30);
        var settings = InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"));
        settings["Sink:CreateDeadLetterTopic"] = "false";
        settings["Sink:BatchMaxRows"] = "20";
        settings["Sink:MaxUncommittedBatches"] = "10";
        settings["Sink:MaxConcurrentInserts"] = "2";
        settings["Logging:LogLevel:Default"] = "Information";
        var logPath = Path.Combine(Path.GetTempPath(), db + ".log");
        const int records = 1_500;

        using var producer = SampleData.Producer(fixture.Kafka.BootstrapServers);
        var sink = SinkProcess.Start(settings, logPath);
        try
        {
            await sink.Assigned.WaitAsync(TimeSpan.FromSeconds(60));
            fixture.Kafka.PushRequestErrors(OffsetCommitApiKey, Enumerable.Repeat(ErrorCode.InvalidCommitOffsetSize, 5_000).ToArray());
            for (var i = 0; i < records; i++)
            {
                producer.Produce(topics.Metrics, new Message<string, byte[]> { Key = SampleData.AgentId(i % 7), Value = SampleData.Encode(SampleData.Metrics(i % 7, i), topics.MetricsSchemaId) });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
            // 1,500 records make 75+ batches of 20: without the bound they would all be inserted and left uncommitted.
            await StreamPipeline.Testing.Eventually.ReturnsAsync(
                () => File.ReadAllTextAsync(logPath), log => log.Contains("[4318]", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "the sink to stop taking batches at Sink:MaxUncommittedBatches");
            var held = await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples");
            Assert.InRange(held, 1ul, 12ul * 20);
            sink.Kill();
        }
        finally
        {
            fixture.Kafka.ClearRequestErrors(OffsetCommitApiKey);
            sink.Dispose();
        }

        using (SinkProcess.Start(settings, logPath))
        {
            await fixture.WaitForCountAsync($"{db}.metrics_samples", records, TimeSpan.FromSeconds(90));
        }

        Assert.Equal((ulong)records, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));
        Assert.Equal((ulong)records, await fixture.CountAsync($"SELECT uniqExact(kafka_partition, kafka_offset) FROM {db}.metrics_samples"));
        Assert.Equal((ulong)records, await fixture.CountAsync($"SELECT sum(samples) FROM {db}.metrics_1m"));
    }

    [Fact]
    public async Task Sink_TableWindowBelowTheReplayBound_RefusesToStartNamingTableAndSetting()
    {
        var topics = await fixture.CreateTopicsAsync("window-refused", metricsPartitions: 1, presencePartitions: 1);
        var db = fixture.Unique("window_refused");
        await new MigrationRunner(fixture.Client, NullLogger.Instance).ApplyAsync(db, 30, 365, CancellationToken.None);
        await fixture.Client.ExecuteNonQueryAsync($"ALTER TABLE {db}.metrics_1h MODIFY SETTING non_replicated_deduplication_window = 100");
        var settings = InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"));
        settings["Sink:CreateDeadLetterTopic"] = "false";
        var logPath = Path.Combine(Path.GetTempPath(), db + ".log");

        using var sink = SinkProcess.Start(settings, logPath);
        await StreamPipeline.Testing.Eventually.TrueAsync(() => sink.HasExited, TimeSpan.FromSeconds(60), "the sink to refuse to start");

        Assert.Equal(2, sink.ExitCode);
        var log = await File.ReadAllTextAsync(logPath);
        Assert.Contains($"Table {db}.metrics_1h has non_replicated_deduplication_window = 100, below the 1004 batches", log, StringComparison.Ordinal);
        Assert.Contains($"ALTER TABLE {db}.metrics_1h MODIFY SETTING non_replicated_deduplication_window", log, StringComparison.Ordinal);
    }

    /// <summary>Every table of the database with a small deduplication window, so a replay past it would show.</summary>
    private async Task SmallWindowAsync(string db, int window)
    {
        await new MigrationRunner(fixture.Client, NullLogger.Instance).ApplyAsync(db, 30, 365, CancellationToken.None);
        var tables = new List<string>();
        using (var reader = await fixture.Client.ExecuteReaderAsync($"SELECT name FROM system.tables WHERE database = '{db}' AND engine LIKE '%MergeTree' AND name NOT IN ('schema_migrations', 'sink_batches')"))
        {
            while (reader.Read()) tables.Add(reader.GetString(0));
        }

        foreach (var table in tables)
        {
            await fixture.Client.ExecuteNonQueryAsync($"ALTER TABLE {db}.{table} MODIFY SETTING non_replicated_deduplication_window = {window}");
        }
    }
}
