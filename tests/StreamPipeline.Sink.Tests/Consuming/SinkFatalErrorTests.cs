using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using StreamPipeline.Sink.Schema;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Consuming;

[Collection(SinkCollection.Name)]
public sealed class SinkFatalErrorTests(SinkFixture fixture)
{
    [Fact]
    public async Task Sink_TableMissingAColumn_StopsWithExitCode2AndSaysWhatToFix()
    {
        var topics = await fixture.CreateTopicsAsync("fatal", metricsPartitions: 1, presencePartitions: 1);
        var db = fixture.Unique("fatal");
        await new MigrationRunner(fixture.Client, NullLogger.Instance).ApplyAsync(db, 30, 365, CancellationToken.None);
        await fixture.Client.ExecuteNonQueryAsync($"ALTER TABLE {db}.metrics_samples DROP COLUMN session_id");
        using (var producer = SampleData.Producer(fixture.Kafka.BootstrapServers))
        {
            await producer.ProduceAsync(topics.Metrics, new Message<string, byte[]> { Key = "a", Value = SampleData.Encode(SampleData.Metrics(1, 1), topics.MetricsSchemaId) });
        }

        var logPath = Path.Combine(Path.GetTempPath(), db + ".log");
        var settings = InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"));
        settings["Sink:CreateDeadLetterTopic"] = "false";
        using var sink = SinkProcess.Start(settings, logPath);

        await StreamPipeline.Testing.Eventually.TrueAsync(() => sink.HasExited, TimeSpan.FromSeconds(60), "the sink to stop on a schema mismatch");

        Assert.Equal(2, sink.ExitCode);
        var log = await File.ReadAllTextAsync(logPath);
        Assert.Contains("NO_SUCH_COLUMN_IN_TABLE", log, StringComparison.Ordinal);
        Assert.Contains("To fix: the ClickHouse tables in '" + db + "' do not match", log, StringComparison.Ordinal);
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));
    }
}
