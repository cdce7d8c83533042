using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using StreamPipeline.AgentSimulator;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.Sink.Tests.Infrastructure;
using StreamPipeline.Testing;
using StreamPipeline.Testing.EdgeConnector;
using Xunit.Abstractions;

namespace StreamPipeline.Sink.Tests.EndToEnd;

/// <summary>
/// The whole metrics path, every part real: simulated agents over wss -> edge connector -> Kafka (Avro, Schema
/// Registry) -> sink -> ClickHouse. Every field the agents sent is found in the tables, and the rollups agree with
/// aggregates computed from the raw rows.
/// </summary>
[Collection(SinkCollection.Name)]
public sealed class PipelineEndToEndTests(SinkFixture fixture, ITestOutputHelper output)
{
    private const int Agents = 4;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Pipeline_SimulatedAgentsThroughConnectorAndSink_EveryFieldInClickHouseRollupsAgree()
    {
        var topics = await fixture.CreateTopicsAsync("pipeline");
        fixture.Kafka.CreateTopic(PipelineTopics.ConnectorRequests, 6);
        fixture.Kafka.CreateTopic(PipelineTopics.MetricsDeadLetter, 3);
        var db = fixture.Unique("pipeline");
        var sent = new ConcurrentQueue<(string Agent, byte[] Frame)>();
        await using (var connector = await StartConnectorAsync(topics))
        await using (await InProcessSink.StartAsync(fixture, InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"))))
        {
            await using (var fleet = SimulatedFleet.Start(new SimulatorOptions
            {
                ServerUrl = connector.AgentUrl,
                TrustedCertificatePath = connector.CertificatePath,
                AgentCount = Agents,
                TokenSeed = connector.TokenSeed,
                MetricsInterval = TimeSpan.FromMilliseconds(250),
                OnMetricsSent = (agent, frame) => sent.Enqueue((agent, frame)),
            }))
            {
                await fleet.WaitAllAuthenticatedAsync(Deadline);
                await Eventually.TrueAsync(() => sent.Count >= 60, Deadline, "60 metrics frames sent");
                await fleet.StopAsync();
            }

            await fixture.WaitForCountAsync($"{db}.metrics_samples", (ulong)sent.Count, Deadline);
        }

        var frames = sent.ToArray();
        Assert.Equal((ulong)frames.Length, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() - uniqExact(kafka_partition, kafka_offset) FROM {db}.metrics_samples"));
        var disks = 0;
        var nics = 0;
        foreach (var (agent, frame) in frames)
        {
            using var json = JsonDocument.Parse(frame);
            var time = json.RootElement.GetProperty("timestamp").GetInt64();
            var p = json.RootElement.GetProperty("payload");
            await AssertSampleAsync(db, agent, time, p);
            disks += await AssertDisksAsync(db, agent, time, p.GetProperty("diskUsage"));
            nics += await AssertInterfacesAsync(db, agent, time, p.GetProperty("networkInterfaces"));
        }

        Assert.Equal((ulong)disks, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_disks"));
        Assert.Equal((ulong)nics, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_interfaces"));

        // Rollups: the same numbers as aggregating the raw rows, per agent and minute, and in total.
        Assert.Equal((ulong)frames.Length, await fixture.CountAsync($"SELECT sum(samples) FROM {db}.metrics_1m"));
        Assert.Equal((ulong)frames.Length, await fixture.CountAsync($"SELECT sum(samples) FROM {db}.metrics_1h"));
        Assert.Equal(0ul, await fixture.CountAsync($"""
            SELECT count() FROM
            (SELECT agent_id, minute, sum(samples) AS n, round(avgMerge(cpu_avg), 9) AS cpu, max(cpu_max) AS mx FROM {db}.metrics_1m GROUP BY agent_id, minute) AS r
            FULL OUTER JOIN
            (SELECT agent_id, toStartOfMinute(agent_time) AS minute, count() AS n, round(avg(cpu_usage_percent), 9) AS cpu, max(cpu_usage_percent) AS mx FROM {db}.metrics_samples GROUP BY agent_id, minute) AS s
            USING (agent_id, minute)
            WHERE r.n != s.n OR r.cpu != s.cpu OR r.mx != s.mx
            """));
        output.WriteLine($"{frames.Length} samples, {disks} disks, {nics} interfaces from {Agents} simulated agents found field by field in {db}");
    }

    private async Task AssertSampleAsync(string db, string agent, long time, JsonElement p)
    {
        using var r = await fixture.Client.ExecuteReaderAsync($"""
            SELECT cpu_usage_percent, ram_usage_percent, ram_used_gb, uptime_seconds, load_1m, load_5m, load_15m,
                   disk_read_speed_mbps, disk_write_speed_mbps, connector_id, toUnixTimestamp64Milli(received_time)
            FROM {db}.metrics_samples WHERE agent_id = '{agent}' AND agent_time = fromUnixTimestamp64Milli({time})
            """);
        Assert.True(r.Read(), $"no row for {agent} at {time}");
        Assert.Equal(p.GetProperty("cpuUsagePercent").GetDouble(), r.GetDouble(0));
        Assert.Equal(p.GetProperty("ramUsagePercent").GetDouble(), r.GetDouble(1));
        Assert.Equal(p.GetProperty("ramUsedGB").GetDouble(), r.GetDouble(2));
        Assert.Equal(p.GetProperty("uptimeSeconds").GetInt64(), Convert.ToInt64(r.GetValue(3), CultureInfo.InvariantCulture));
        Assert.Equal(p.GetProperty("normalizedLoad").GetProperty("1m").GetDouble(), r.GetDouble(4));
        Assert.Equal(p.GetProperty("normalizedLoad").GetProperty("5m").GetDouble(), r.GetDouble(5));
        Assert.Equal(p.GetProperty("normalizedLoad").GetProperty("15m").GetDouble(), r.GetDouble(6));
        Assert.Equal(p.GetProperty("diskReadSpeedMBps").GetDouble(), r.GetDouble(7));
        Assert.Equal(p.GetProperty("diskWriteSpeedMBps").GetDouble(), r.GetDouble(8));
        Assert.Equal("pipeline-edge", r.GetString(9));
        Assert.InRange(Convert.ToInt64(r.GetValue(10), CultureInfo.InvariantCulture), time - 60_000, time + 60_000);
        Assert.False(r.Read(), $"two rows for {agent} at {time}");
    }

    private async Task<int> AssertDisksAsync(string db, string agent, long time, JsonElement disks)
    {
        using var r = await fixture.Client.ExecuteReaderAsync($"""
            SELECT device, mountpoint, fstype, total_gb, used_gb, usage_percent FROM {db}.metrics_disks
            WHERE agent_id = '{agent}' AND agent_time = fromUnixTimestamp64Milli({time}) ORDER BY disk_index
            """);
        var n = 0;
        foreach (var d in disks.EnumerateArray())
        {
            Assert.True(r.Read(), $"disk {n} of {agent} at {time} missing");
            Assert.Equal(d.GetProperty("device").GetString(), r.GetString(0));
            Assert.Equal(d.GetProperty("mountpoint").GetString(), r.GetString(1));
            Assert.Equal(d.GetProperty("fstype").GetString(), r.GetString(2));
            Assert.Equal(d.GetProperty("totalGB").GetDouble(), r.GetDouble(3));
            Assert.Equal(d.GetProperty("usedGB").GetDouble(), r.GetDouble(4));
            Assert.Equal(d.GetProperty("usagePercent").GetDouble(), r.GetDouble(5));
            n++;
        }

        Assert.False(r.Read());
        return n;
    }

    private async Task<int> AssertInterfacesAsync(string db, string agent, long time, JsonElement nics)
    {
        using var r = await fixture.Client.ExecuteReaderAsync($"""
            SELECT name, mac, ipv4, ipv6, upload_speed_mbps, download_speed_mbps FROM {db}.metrics_interfaces
            WHERE agent_id = '{agent}' AND agent_time = fromUnixTimestamp64Milli({time}) ORDER BY interface_index
            """);
        var n = 0;
        foreach (var i in nics.EnumerateArray())
        {
            Assert.True(r.Read(), $"interface {n} of {agent} at {time} missing");
            Assert.Equal(i.GetProperty("name").GetString(), r.GetString(0));
            Assert.Equal(i.GetProperty("mac").GetString(), r.GetString(1));
            Assert.Equal(i.GetProperty("ipv4").GetString(), r.GetString(2));
            Assert.Equal(i.TryGetProperty("ipv6", out var v6) && v6.ValueKind == JsonValueKind.String ? v6.GetString() : "", r.GetString(3));
            Assert.Equal(i.GetProperty("uploadSpeedMbps").GetDouble(), r.GetDouble(4));
            Assert.Equal(i.GetProperty("downloadSpeedMbps").GetDouble(), r.GetDouble(5));
            n++;
        }

        Assert.False(r.Read());
        return n;
    }

    private async Task<ConnectorHost> StartConnectorAsync(TestTopics topics)
    {
        // The connector is ready only once its command relay listens on its requests partition (issue 9 item 8).
        var requests = topics.Metrics + "-connector-requests";
        fixture.Kafka.CreateTopic(requests, 1);
        return await ConnectorHost.StartAsync(fixture.Kafka.BootstrapServers, fixture.Registry.Url, agents: Agents, connectorId: "pipeline-edge", settings: new Dictionary<string, string?>
        {
            ["EdgeConnector:MetricsTopic"] = topics.Metrics,
            ["EdgeConnector:PresenceTopic"] = topics.Presence,
            ["EdgeConnector:ConnectorRequestsTopic"] = requests,
        });
    }
}
