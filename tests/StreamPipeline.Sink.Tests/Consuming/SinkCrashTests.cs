using System.Diagnostics;
using System.Net;
using Confluent.Kafka;
using StreamPipeline.Sink.Tests.Infrastructure;
using Xunit.Abstractions;

namespace StreamPipeline.Sink.Tests.Consuming;

/// <summary>
/// The sink in its own process under a steady load, killed with SIGKILL at random moments, ClickHouse cut for 30 s and a
/// Kafka broker taken down: afterwards every table holds each record exactly once.
/// </summary>
[Collection(SinkCollection.Name)]
public sealed class SinkCrashTests(SinkFixture fixture, ITestOutputHelper output)
{
    private const int Kills = 10;
    private const int MetricsPerSecond = 150;
    private const int Partitions = 6;

    [Fact]
    public async Task Sink_KilledTenTimesClickHouseCutBrokerDown_EveryTableExactlyOnce()
    {
        var topics = await fixture.CreateTopicsAsync("crash", metricsPartitions: Partitions, presencePartitions: 2);
        var db = fixture.Unique("crash");
        var logPath = Path.Combine(Path.GetTempPath(), db + ".log");
        output.WriteLine("sink logs: " + logPath);
        await using var proxy = new TcpProxy(new IPEndPoint(IPAddress.Loopback, fixture.ClickHouse.Url.Port));
        var settings = InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"));
        settings["ClickHouse:ConnectionString"] = fixture.ClickHouse.ConnectionString.Replace($"Port={fixture.ClickHouse.Url.Port}", $"Port={proxy.Port}", StringComparison.Ordinal);
        settings["ClickHouse:InsertTimeout"] = "00:00:05";
        settings["Sink:CreateDeadLetterTopic"] = "false";
        settings["Sink:BatchMaxRows"] = "2000";
        settings["Sink:BatchMaxDelay"] = "00:00:00.500";
        settings["Logging:LogLevel:Default"] = "Information";
        settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning";
        settings["Kafka:Client:session.timeout.ms"] = "3000";
        settings["Kafka:Client:heartbeat.interval.ms"] = "500";

        var load = new Load(fixture, topics);
        var producing = Task.Run(load.RunAsync);
        var random = new Random(4);
        var clock = Stopwatch.StartNew();
        Task? outage = null;
        var sink = SinkProcess.Start(settings, logPath);
        try
        {
            for (var kill = 1; kill <= Kills; kill++)
            {
                // A random moment once the sink works (owns partitions, maybe replaying), or while it cannot start (ClickHouse cut).
                await Task.WhenAny(sink.Assigned, Task.Delay(TimeSpan.FromSeconds(15)));
                if (kill == 4)
                {
                    // The running sink lives through the first part of the outage (retries, circuit breaker, paused partitions).
                    outage = CutClickHouseAsync(proxy, TimeSpan.FromSeconds(30), clock);
                    await Task.Delay(TimeSpan.FromSeconds(12));
                }

                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(200, 4_000)));
                Assert.False(sink.HasExited, $"the sink exited by itself (code {(sink.HasExited ? sink.ExitCode : 0)}); see {logPath}");
                sink.Kill();
                output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1}s kill #{kill} (produced {load.Metrics} metrics so far)");
                sink.Dispose();
                if (kill == 7)
                {
                    fixture.Kafka.SetBrokerDown(2);
                    output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1}s Kafka broker 2 down");
                    await Task.Delay(TimeSpan.FromSeconds(5));
                    fixture.Kafka.SetBrokerUp(2);
                    output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1}s Kafka broker 2 up");
                }

                sink = SinkProcess.Start(settings, logPath);
            }

            await outage!;
            await Task.Delay(TimeSpan.FromSeconds(5));
            load.Stop();
            await producing;
            output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1}s load stopped: {load.Metrics} metrics, {load.Presence} presence events acknowledged");

            await fixture.WaitForCountAsync($"{db}.metrics_samples", (ulong)load.Metrics, TimeSpan.FromSeconds(90));
            await fixture.WaitForCountAsync($"{db}.agent_presence", (ulong)load.Presence, TimeSpan.FromSeconds(30));
            await fixture.WaitForCountAsync($"{db}.metrics_interfaces", (ulong)load.Interfaces, TimeSpan.FromSeconds(30));
            await fixture.WaitForCountAsync($"{db}.metrics_disks", (ulong)load.Disks, TimeSpan.FromSeconds(30));
            Assert.Equal(0, await sink.TerminateAsync(TimeSpan.FromSeconds(40)));
            output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1}s all rows in, last sink drained with exit code 0");
        }
        finally
        {
            load.Stop();
            sink.Dispose();
        }

        Assert.Equal((ulong)load.Metrics, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));
        Assert.Equal((ulong)load.Disks, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_disks"));
        Assert.Equal((ulong)load.Interfaces, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_interfaces"));
        Assert.Equal((ulong)load.Presence, await fixture.CountAsync($"SELECT count() FROM {db}.agent_presence"));
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() - uniqExact(kafka_partition, kafka_offset) FROM {db}.metrics_samples"));
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() - uniqExact(kafka_partition, kafka_offset, disk_index) FROM {db}.metrics_disks"));
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() - uniqExact(kafka_partition, kafka_offset, interface_index) FROM {db}.metrics_interfaces"));
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() - uniqExact(kafka_partition, kafka_offset) FROM {db}.agent_presence"));
        Assert.Equal((ulong)load.Metrics, await fixture.CountAsync($"SELECT sum(samples) FROM {db}.metrics_1m"));
        Assert.Equal((ulong)load.Metrics, await fixture.CountAsync($"SELECT sum(samples) FROM {db}.metrics_1h"));
        Assert.Equal((ulong)load.Metrics, await fixture.CountAsync($"SELECT sum(samples) FROM {db}.agent_current"));
        Assert.Equal(0ul, await fixture.CountAsync($"""
            SELECT count() FROM
                (SELECT agent_id, minute, sum(samples) AS n, max(cpu_max) AS mx, min(cpu_min) AS mn FROM {db}.metrics_1m GROUP BY agent_id, minute) AS r
            FULL OUTER JOIN
                (SELECT agent_id, toStartOfMinute(agent_time) AS minute, count() AS n, max(cpu_usage_percent) AS mx, min(cpu_usage_percent) AS mn FROM {db}.metrics_samples GROUP BY agent_id, minute) AS x
            USING (agent_id, minute)
            WHERE r.n != x.n OR r.mx != x.mx OR r.mn != x.mn
            """));
        var log = await File.ReadAllTextAsync(logPath);
        output.WriteLine($"replays logged: {log.Split("replaying").Length - 1}, circuits opened: {log.Split("circuit open").Length - 1}, batch retries logged: {log.Split("not inserted yet").Length - 1}");
        output.WriteLine($"exactly once: {load.Metrics} samples, {load.Disks} disks, {load.Interfaces} interfaces, {load.Presence} presence; sink_batches rows {await fixture.CountAsync($"SELECT count() FROM {db}.sink_batches")}");
    }

    private async Task CutClickHouseAsync(TcpProxy proxy, TimeSpan duration, Stopwatch clock)
    {
        proxy.Cut();
        output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1}s ClickHouse cut for {duration.TotalSeconds:F0} s");
        await Task.Delay(duration);
        proxy.Restore();
        output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1}s ClickHouse back");
    }

    /// <summary>A steady produce load of metrics (and some presence), counting what Kafka acknowledged.</summary>
    private sealed class Load(SinkFixture fixture, TestTopics topics)
    {
        private readonly CancellationTokenSource _stop = new();
        private long _metrics;
        private long _presence;
        private long _disks;
        private long _interfaces;
        private long _failed;

        public long Metrics => Interlocked.Read(ref _metrics);

        public long Presence => Interlocked.Read(ref _presence);

        public long Disks => Interlocked.Read(ref _disks);

        public long Interfaces => Interlocked.Read(ref _interfaces);

        public void Stop() => _stop.Cancel();

        public async Task RunAsync()
        {
            using var producer = SampleData.Producer(fixture.Kafka.BootstrapServers);
            var tick = Stopwatch.StartNew();
            var sent = 0L;
            var start = DateTime.UtcNow.AddMinutes(-30);
            while (!_stop.IsCancellationRequested)
            {
                var due = (long)(tick.Elapsed.TotalSeconds * MetricsPerSecond);
                for (; sent < due; sent++)
                {
                    var agent = (int)(sent % 40);
                    var sample = SampleData.Metrics(agent, (int)(sent / 40), start);
                    var disks = sample.Disks.Count;
                    var interfaces = sample.NetworkInterfaces.Count;
                    producer.Produce(topics.Metrics, new Message<string, byte[]> { Key = sample.AgentId, Value = SampleData.Encode(sample, topics.MetricsSchemaId) }, r =>
                    {
                        if (r.Error.IsError)
                        {
                            Interlocked.Increment(ref _failed);
                            return;
                        }

                        Interlocked.Increment(ref _metrics);
                        Interlocked.Add(ref _disks, disks);
                        Interlocked.Add(ref _interfaces, interfaces);
                    });
                    if (sent % 15 == 0)
                    {
                        var presence = SampleData.Presence(agent, (int)(sent / 40), connected: sent % 30 == 0);
                        producer.Produce(topics.Presence, new Message<string, byte[]> { Key = presence.AgentId, Value = SampleData.Encode(presence, topics.PresenceSchemaId) }, r =>
                        {
                            if (!r.Error.IsError) Interlocked.Increment(ref _presence);
                            else Interlocked.Increment(ref _failed);
                        });
                    }
                }

                try
                {
                    await Task.Delay(20, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
            Assert.Equal(0, Interlocked.Read(ref _failed));
        }
    }
}
