using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using StreamPipeline.Sink.Replay;
using StreamPipeline.Sink.Schema;
using StreamPipeline.Sink.Tests.DeadLetters;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Replay;

/// <summary>
/// Dead letters can be replayed (issue 10, item 4): nothing re-fed <c>agent-metrics-sink-dlq</c> or
/// <c>agent-metrics-dlq</c> after a fix. <c>replay-dead-letters</c> loads a range with exactly-once effect.
/// </summary>
[Collection(SinkCollection.Name)]
public sealed class DeadLetterReplayTests(SinkFixture fixture)
{
    private const int Refused = 12;
    private const int Good = 20;

    [Fact]
    public async Task ReplayDeadLetters_RefusedRangeAfterTheFix_LoadsOnceTwiceStoresOnceStillBadReported()
    {
        var topics = await fixture.CreateTopicsAsync("replay-dlq", metricsPartitions: 2, presencePartitions: 1);
        var db = fixture.Unique("replay_dlq");
        var settings = InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"));
        // The incident: ClickHouse refuses agent-005's rows (a constraint added by mistake); the sink dead-letters the range.
        await new MigrationRunner(fixture.Client, NullLogger.Instance).ApplyAsync(MigrationSettings.From(new SinkOptions { Database = db }), CancellationToken.None);
        await fixture.Client.ExecuteNonQueryAsync($"ALTER TABLE {db}.metrics_samples ADD CONSTRAINT no_agent_5 CHECK agent_id != 'agent-005'");
        using (var producer = SampleData.Producer(fixture.Kafka.BootstrapServers))
        {
            for (var i = 0; i < Refused; i++)
            {
                await producer.ProduceAsync(new TopicPartition(topics.Metrics, 0), new Message<string, byte[]> { Key = SampleData.AgentId(5), Value = SampleData.Encode(SampleData.Metrics(5, i), topics.MetricsSchemaId) });
            }

            // Never loadable, whatever the fix.
            await producer.ProduceAsync(new TopicPartition(topics.Metrics, 0), new Message<string, byte[]> { Key = SampleData.AgentId(5), Value = "not avro"u8.ToArray() });
            for (var i = 0; i < Good; i++)
            {
                await producer.ProduceAsync(new TopicPartition(topics.Metrics, 1), new Message<string, byte[]> { Key = SampleData.AgentId(1), Value = SampleData.Encode(SampleData.Metrics(1, i), topics.MetricsSchemaId) });
            }
        }

        await using (await InProcessSink.StartAsync(fixture, settings))
        {
            await fixture.WaitForCountAsync($"{db}.metrics_samples", Good, TimeSpan.FromSeconds(60));
            await StreamPipeline.Testing.Eventually.ReturnsAsync(
                () => fixture.CountAsync($"SELECT uniqExact(source_offset) FROM {db}.dead_letters WHERE source_partition = 0"), n => n == Refused + 1, TimeSpan.FromSeconds(60), "the refused range dead-lettered");
        }

        Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples WHERE agent_id = 'agent-005'"));
        await fixture.Client.ExecuteNonQueryAsync($"ALTER TABLE {db}.metrics_samples DROP CONSTRAINT no_agent_5");

        // The fix is in: replay the sink's dead-letter topic.
        var (code, report) = await ReplayAsync(settings, ("Replay:Topic", topics.DeadLetter));
        Assert.Equal(3, code);
        Assert.Equal(Refused, report.Replayed);
        Assert.Equal(0, report.AlreadyReplayed);
        Assert.Equal(1, report.Failing);
        Assert.Equal(1, report.StillFailing["bad_magic_byte"]);
        await AssertLoadedOnceAsync(db);

        // Again: nothing new, nothing twice.
        (code, report) = await ReplayAsync(settings, ("Replay:Topic", topics.DeadLetter));
        Assert.Equal(3, code);
        Assert.Equal(0, report.Replayed);
        Assert.Equal(Refused, report.AlreadyReplayed);
        await AssertLoadedOnceAsync(db);

        // A run that stopped after its insert but before it wrote "done": the next one re-inserts under the recorded token.
        await fixture.Client.ExecuteNonQueryAsync($"""
            INSERT INTO {db}.dead_letter_replays SELECT record_topic, record_partition, record_offset, token, dead_letter_topic, dead_letter_partition, dead_letter_offset, 0, updated_at + toIntervalMillisecond(1)
            FROM {db}.dead_letter_replays FINAL
            """);
        (code, report) = await ReplayAsync(settings, ("Replay:Topic", topics.DeadLetter));
        Assert.Equal(Refused, report.Completed);
        Assert.Equal(0, report.Replayed);
        await AssertLoadedOnceAsync(db);

        // A time range with nothing in it reads nothing.
        (code, report) = await ReplayAsync(settings, ("Replay:Topic", topics.DeadLetter), ("Replay:FromTime", DateTimeOffset.UtcNow.AddHours(1).ToString("O", CultureInfo.InvariantCulture)));
        Assert.Equal(0, code);
        Assert.Equal(0, report.Read);
    }

    [Fact]
    public async Task ReplayDeadLetters_ConnectorFramesAfterTheFix_LoadedWithTheirSessionsIdentity()
    {
        var topics = await fixture.CreateTopicsAsync("replay-frames", metricsPartitions: 1, presencePartitions: 1);
        var db = fixture.Unique("replay_frames");
        var settings = InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"));
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using (var producer = SampleData.Producer(fixture.Kafka.BootstrapServers))
        {
            // A frame the connector refused then (say a limit since raised), one that is no metrics event, one still broken.
            await producer.ProduceAsync(topics.ConnectorDeadLetter, Frame("agent-007", "too_many_disks", Metrics(now)));
            await producer.ProduceAsync(topics.ConnectorDeadLetter, Frame("agent-007", "unsolicited_response", """{"type": "response", "id": 5, "action": "get-services", "status": "ok", "payload": {}}"""));
            await producer.ProduceAsync(topics.ConnectorDeadLetter, Frame("agent-008", "wrong_type", """{"type": "event", "action": "metrics", "payload": {"cpuUsagePercent": "high"}}"""));
        }

        var (code, report) = await ReplayAsync(settings, ("Replay:Topic", topics.ConnectorDeadLetter));

        Assert.Equal(3, code);
        Assert.Equal(3, report.Read);
        Assert.Equal(1, report.Replayed);
        Assert.Equal(1, report.Skipped);
        Assert.Equal(1, report.StillFailing["invalid_metrics"]);
        using (var r = await fixture.Client.ExecuteReaderAsync($"SELECT agent_id, connector_id, session_id, toUnixTimestamp64Milli(received_time), cpu_usage_percent, disk_count, kafka_offset FROM {db}.metrics_samples"))
        {
            Assert.True(r.Read());
            Assert.Equal("agent-007", r.GetString(0));
            Assert.Equal("edge-7", r.GetString(1));
            Assert.Equal("s-1", r.GetString(2));
            Assert.InRange(Convert.ToInt64(r.GetValue(3), CultureInfo.InvariantCulture), now - 60_000, now + 60_000);
            Assert.Equal(12.73, r.GetDouble(4));
            Assert.Equal(2, Convert.ToInt32(r.GetValue(5), CultureInfo.InvariantCulture));
            // The dead letter's own offset (0), flagged: it never had a metrics offset.
            Assert.Equal(DeadLetterReplayer.ConnectorOffsetFlag, Convert.ToUInt64(r.GetValue(6), CultureInfo.InvariantCulture));
            Assert.False(r.Read());
        }

        Assert.Equal(2ul, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_disks WHERE agent_id = 'agent-007'"));
        (_, report) = await ReplayAsync(settings, ("Replay:Topic", topics.ConnectorDeadLetter), ("Replay:DryRun", "true"));
        Assert.Equal(1, report.AlreadyReplayed);
        Assert.Equal(1ul, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));
    }

    [Fact]
    public void Validate_BadRange_NamesTheSettings()
    {
        var errors = new DeadLetterReplayOptions { FromOffset = 10, ToOffset = 5, Topic = "", ChunkRecords = 0 }.Validate();

        Assert.Contains(errors, e => e.StartsWith("Replay:FromOffset (10) must not be after Replay:ToOffset (5)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Replay:Topic", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Replay:ChunkRecords", StringComparison.Ordinal));
    }

    private async Task AssertLoadedOnceAsync(string db)
    {
        Assert.Equal((ulong)(Good + Refused), await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));
        Assert.Equal((ulong)Refused, await fixture.CountAsync($"SELECT uniqExact(kafka_offset) FROM {db}.metrics_samples WHERE agent_id = 'agent-005' AND kafka_partition = 0 AND kafka_offset < {Refused}"));
        Assert.Equal((ulong)(Good + Refused), await fixture.CountAsync($"SELECT sum(samples) FROM {db}.metrics_1m"));
        var disks = 0;
        for (var i = 0; i < Refused; i++) disks += SampleData.Metrics(5, i).Disks.Count;
        Assert.Equal((ulong)disks, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_disks WHERE agent_id = 'agent-005'"));
    }

    private static async Task<(int Code, ReplayReport Report)> ReplayAsync(Dictionary<string, string?> settings, params (string Key, string Value)[] replay)
    {
        var all = new Dictionary<string, string?>(settings);
        foreach (var (key, value) in replay) all[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(all).Build();
        using var output = new StringWriter();
        var (code, report) = await ReplayCommand.RunAsync(configuration, output, output);
        Assert.True(report is not null, output.ToString());
        return (code, report!);
    }

    private static string Metrics(long now) => TestFramesMetrics.Replace("1733936600000", now.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private static Message<string, byte[]> Frame(string agentId, string reason, string frame)
    {
        var message = DeadLetterIndexTests.ConnectorLetter(agentId, reason, "refused");
        message.Value = Encoding.UTF8.GetBytes(frame);
        return message;
    }

    /// <summary>A realistic metrics event as an agent sends it (2 disks, 2 interfaces).</summary>
    private const string TestFramesMetrics =
        """{"type": "event", "id": 48213, "action": "metrics", "payload": {"cpuUsagePercent": 12.73, "ramUsagePercent": 45.21, "ramUsedGB": 7.234567, "uptimeSeconds": 1843923, "normalizedLoad": {"1m": 0.52, "5m": 0.41, "15m": 0.27}, "diskReadSpeedMBps": 1.234, "diskWriteSpeedMBps": 0.567, "diskUsage": [{"device": "/dev/nvme0n1p2", "mountpoint": "/", "fstype": "ext4", "totalGB": 467.91, "usedGB": 201.33, "usagePercent": 43.0}, {"device": "/dev/sdb1", "mountpoint": "/var/lib/postgresql", "fstype": "xfs", "totalGB": 1863.02, "usedGB": 912.44, "usagePercent": 48.98}], "networkInterfaces": [{"name": "eth0", "mac": "00:16:3e:5a:7b:9c", "ipv4": "10.20.30.41", "ipv6": "fe80::216:3eff:fe5a:7b9c", "uploadSpeedMbps": 5.213, "downloadSpeedMbps": 12.408}]}, "timestamp": 1733936600000}""";
}
