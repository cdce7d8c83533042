using System.Globalization;
using Confluent.Kafka;
using StreamPipeline.Protocol;
using StreamPipeline.Sink.Tests.Infrastructure;
using Xunit.Abstractions;

namespace StreamPipeline.Sink.Tests.Consuming;

/// <summary>Avro records produced to the embedded Kafka, the sink running in-process, every field checked in ClickHouse.</summary>
[Collection(SinkCollection.Name)]
public sealed class SinkEndToEndTests(SinkFixture fixture, ITestOutputHelper output)
{
    private const int Agents = 6;
    private const int SamplesPerAgent = 60;

    [Fact]
    public async Task Sink_KnownSamplesAndPresence_EveryFieldExactRollupsAgreeStateIsLatest()
    {
        var topics = await fixture.CreateTopicsAsync("e2e");
        var db = fixture.Unique("e2e");
        var expected = new Dictionary<(string Agent, long Time), MetricsSample>();
        using (var producer = SampleData.Producer(fixture.Kafka.BootstrapServers))
        {
            for (var i = 0; i < SamplesPerAgent; i++)
            {
                for (var agent = 0; agent < Agents; agent++)
                {
                    var sample = SampleData.Metrics(agent, i);
                    expected[(sample.AgentId, sample.AgentTimeMs)] = sample;
                    producer.Produce(topics.Metrics, new Message<string, byte[]> { Key = sample.AgentId, Value = SampleData.Encode(sample, topics.MetricsSchemaId) });
                }
            }

            for (var agent = 0; agent < Agents; agent++)
            {
                // Even agents reconnect (online at the end), odd agents leave (offline).
                Produce(producer, topics, SampleData.Presence(agent, 0, connected: true));
                Produce(producer, topics, SampleData.Presence(agent, 0, connected: false));
                if (agent % 2 == 0) Produce(producer, topics, SampleData.Presence(agent, 1, connected: true));
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        await using (await InProcessSink.StartAsync(fixture, InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"))))
        {
            await fixture.WaitForCountAsync($"{db}.metrics_samples", (ulong)expected.Count, TimeSpan.FromSeconds(60));
            await fixture.WaitForCountAsync($"{db}.agent_presence", Agents * 2 + (Agents / 2), TimeSpan.FromSeconds(30));
        }

        await AssertSamplesAsync(db, expected);
        await AssertDisksAndInterfacesAsync(db, expected);
        await AssertRollupsMatchRawAsync(db, (ulong)expected.Count);
        await AssertAgentStateAsync(db, expected);
        Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() - uniqExact(kafka_partition, kafka_offset) FROM {db}.metrics_samples"));
        output.WriteLine($"{expected.Count} samples checked field by field in {db}");
    }

    private static void Produce(IProducer<string, byte[]> producer, TestTopics topics, AgentPresence presence) =>
        producer.Produce(topics.Presence, new Message<string, byte[]> { Key = presence.AgentId, Value = SampleData.Encode(presence, topics.PresenceSchemaId) });

    private async Task AssertSamplesAsync(string db, Dictionary<(string, long), MetricsSample> expected)
    {
        using var reader = await fixture.Client.ExecuteReaderAsync($"""
            SELECT agent_id, connector_id, session_id, toUnixTimestamp64Milli(agent_time), toUnixTimestamp64Milli(received_time),
                   cpu_usage_percent, ram_usage_percent, ram_used_gb, uptime_seconds, load_1m, load_5m, load_15m,
                   disk_read_speed_mbps, disk_write_speed_mbps, disk_count, interface_count
            FROM {db}.metrics_samples
            """);
        var seen = 0;
        while (reader.Read())
        {
            seen++;
            var agent = reader.GetString(0);
            var time = Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture);
            Assert.True(expected.TryGetValue((agent, time), out var s), $"unexpected row {agent} {time}");
            Assert.Equal(s.ConnectorId, reader.GetString(1));
            Assert.Equal(s.SessionId, reader.GetString(2));
            Assert.Equal(s.ReceivedTimeMs, Convert.ToInt64(reader.GetValue(4), CultureInfo.InvariantCulture));
            Assert.Equal(s.CpuUsagePercent, reader.GetDouble(5));
            Assert.Equal(s.RamUsagePercent, reader.GetDouble(6));
            Assert.Equal(s.RamUsedGb, reader.GetDouble(7));
            Assert.Equal(s.UptimeSeconds, Convert.ToInt64(reader.GetValue(8), CultureInfo.InvariantCulture));
            Assert.Equal(s.Load1m, NullableDouble(reader, 9));
            Assert.Equal(s.Load5m, NullableDouble(reader, 10));
            Assert.Equal(s.Load15m, NullableDouble(reader, 11));
            Assert.Equal(s.DiskReadSpeedMbps, NullableDouble(reader, 12));
            Assert.Equal(s.DiskWriteSpeedMbps, NullableDouble(reader, 13));
            Assert.Equal(s.Disks.Count, Convert.ToInt32(reader.GetValue(14), CultureInfo.InvariantCulture));
            Assert.Equal(s.NetworkInterfaces.Count, Convert.ToInt32(reader.GetValue(15), CultureInfo.InvariantCulture));
        }

        Assert.Equal(expected.Count, seen);
    }

    private async Task AssertDisksAndInterfacesAsync(string db, Dictionary<(string, long), MetricsSample> expected)
    {
        var disks = 0;
        using (var reader = await fixture.Client.ExecuteReaderAsync($"SELECT agent_id, toUnixTimestamp64Milli(agent_time), disk_index, device, mountpoint, fstype, total_gb, used_gb, usage_percent FROM {db}.metrics_disks"))
        {
            while (reader.Read())
            {
                disks++;
                var s = expected[(reader.GetString(0), Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture))];
                var d = s.Disks[Convert.ToInt32(reader.GetValue(2), CultureInfo.InvariantCulture)];
                Assert.Equal(d.Device.Value, reader.GetString(3));
                Assert.Equal(d.Mountpoint.Value, reader.GetString(4));
                Assert.Equal(d.Fstype.Value, reader.GetString(5));
                Assert.Equal(d.TotalGb, reader.GetDouble(6));
                Assert.Equal(d.UsedGb, reader.GetDouble(7));
                Assert.Equal(d.UsagePercent, reader.GetDouble(8));
            }
        }

        var interfaces = 0;
        using (var reader = await fixture.Client.ExecuteReaderAsync($"SELECT agent_id, toUnixTimestamp64Milli(agent_time), interface_index, name, mac, ipv4, ipv6, upload_speed_mbps, download_speed_mbps FROM {db}.metrics_interfaces"))
        {
            while (reader.Read())
            {
                interfaces++;
                var s = expected[(reader.GetString(0), Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture))];
                var n = s.NetworkInterfaces[Convert.ToInt32(reader.GetValue(2), CultureInfo.InvariantCulture)];
                Assert.Equal(n.Name.Value, reader.GetString(3));
                Assert.Equal(n.Mac.Value, reader.GetString(4));
                Assert.Equal(n.Ipv4.Value, reader.GetString(5));
                Assert.Equal(n.Ipv6.Value, reader.GetString(6));
                Assert.Equal(n.UploadSpeedMbps, reader.GetDouble(7));
                Assert.Equal(n.DownloadSpeedMbps, reader.GetDouble(8));
            }
        }

        var expectedDisks = 0;
        var expectedInterfaces = 0;
        foreach (var s in expected.Values)
        {
            expectedDisks += s.Disks.Count;
            expectedInterfaces += s.NetworkInterfaces.Count;
        }

        Assert.Equal(expectedDisks, disks);
        Assert.Equal(expectedInterfaces, interfaces);
    }

    private async Task AssertRollupsMatchRawAsync(string db, ulong samples)
    {
        foreach (var (table, bucket, function) in new[] { ("metrics_1m", "minute", "toStartOfMinute"), ("metrics_1h", "hour", "toStartOfHour") })
        {
            var mismatches = await fixture.CountAsync($"""
                SELECT count() FROM
                (
                    SELECT agent_id, {bucket} AS b, sum(samples) AS n, avgMerge(cpu_avg) AS cpu_avg, max(cpu_max) AS cpu_max, min(cpu_min) AS cpu_min,
                           avgMerge(ram_avg) AS ram_avg, max(ram_max) AS ram_max, avgMerge(load_1m_avg) AS load_avg
                    FROM {db}.{table} GROUP BY agent_id, b
                ) AS r
                FULL OUTER JOIN
                (
                    SELECT agent_id, {function}(agent_time) AS b, count() AS n, avg(cpu_usage_percent) AS cpu_avg, max(cpu_usage_percent) AS cpu_max,
                           min(cpu_usage_percent) AS cpu_min, avg(ram_usage_percent) AS ram_avg, max(ram_usage_percent) AS ram_max, avg(load_1m) AS load_avg
                    FROM {db}.metrics_samples GROUP BY agent_id, b
                ) AS x USING (agent_id, b)
                WHERE r.n != x.n OR abs(r.cpu_avg - x.cpu_avg) > 1e-9 OR r.cpu_max != x.cpu_max OR r.cpu_min != x.cpu_min
                   OR abs(r.ram_avg - x.ram_avg) > 1e-9 OR r.ram_max != x.ram_max OR abs(ifNull(r.load_avg, -1) - ifNull(x.load_avg, -1)) > 1e-9
                """);
            Assert.Equal(0ul, mismatches);
            Assert.Equal(samples, await fixture.CountAsync($"SELECT sum(samples) FROM {db}.{table}"));
        }
    }

    private async Task AssertAgentStateAsync(string db, Dictionary<(string, long), MetricsSample> expected)
    {
        using var reader = await fixture.Client.ExecuteReaderAsync($"SELECT agent_id, samples, online, cpu_usage_percent, ram_used_gb, uptime_seconds, toUnixTimestamp64Milli(last_sample_time) FROM {db}.agent_current ORDER BY agent_id");
        var agents = 0;
        while (reader.Read())
        {
            var agent = agents++;
            var last = SampleData.Metrics(agent, SamplesPerAgent - 1);
            Assert.Equal(last.AgentId, reader.GetString(0));
            Assert.Equal((ulong)SamplesPerAgent, Convert.ToUInt64(reader.GetValue(1), CultureInfo.InvariantCulture));
            Assert.Equal(agent % 2 == 0, Convert.ToBoolean(reader.GetValue(2), CultureInfo.InvariantCulture));
            Assert.Equal(last.CpuUsagePercent, reader.GetDouble(3));
            Assert.Equal(last.RamUsedGb, reader.GetDouble(4));
            Assert.Equal(last.UptimeSeconds, Convert.ToInt64(reader.GetValue(5), CultureInfo.InvariantCulture));
            Assert.Equal(last.AgentTimeMs, Convert.ToInt64(reader.GetValue(6), CultureInfo.InvariantCulture));
        }

        Assert.Equal(Agents, agents);
        Assert.True(expected.Count > 0);
    }

    private static double? NullableDouble(ClickHouse.Driver.ADO.Readers.ClickHouseDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetDouble(i);
}
