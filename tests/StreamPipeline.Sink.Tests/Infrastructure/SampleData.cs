using System.Buffers;
using System.Globalization;
using Confluent.Kafka;
using StreamPipeline.Protocol;

namespace StreamPipeline.Sink.Tests.Infrastructure;

/// <summary>Deterministic metrics samples and presence events, and a producer for them.</summary>
public static class SampleData
{
    /// <summary>The top of the previous hour: recent enough for the tables' TTLs (rows past their TTL are dropped on insert).</summary>
    public static readonly DateTime Epoch = new DateTime(DateTime.UtcNow.Ticks - (DateTime.UtcNow.Ticks % TimeSpan.TicksPerHour), DateTimeKind.Utc).AddHours(-1);

    /// <summary>Sample <paramref name="i"/> of agent <paramref name="agent"/>: every field derived from (agent, i), some nulls, 0-3 disks, 1-2 interfaces.</summary>
    public static MetricsSample Metrics(int agent, int i, DateTime? start = null)
    {
        var s = new MetricsSample
        {
            AgentId = AgentId(agent),
            ConnectorId = "connector-" + (agent % 2).ToString(CultureInfo.InvariantCulture),
            SessionId = "session-" + agent.ToString(CultureInfo.InvariantCulture) + "-" + (i / 50).ToString(CultureInfo.InvariantCulture),
            AgentTimeMs = new DateTimeOffset(start ?? Epoch).ToUnixTimeMilliseconds() + (i * 5_000L) + agent,
            CpuUsagePercent = ((agent * 7) + (i * 13)) % 1000 / 10.0,
            RamUsagePercent = ((agent * 3) + (i * 11)) % 1000 / 10.0,
            RamUsedGb = 1.5 + (agent % 5) + (i % 7 / 8.0),
            UptimeSeconds = 1_000_000L + (i * 5L),
            Load1m = i % 5 == 0 ? null : i % 17 / 10.0,
            Load5m = i % 7 == 0 ? null : 0.25 + (agent % 3),
            Load15m = 0.125 * (i % 4),
            DiskReadSpeedMbps = i == 0 ? null : i % 9 * 1.5,
            DiskWriteSpeedMbps = i == 0 ? null : i % 11 * 2.25,
        };
        s.ReceivedTimeMs = s.AgentTimeMs + 7;
        for (var d = 0; d < (agent + i) % 4; d++)
        {
            var disk = s.Disks.Add();
            disk.Device.Set("/dev/sd" + (char)('a' + d));
            disk.Mountpoint.Set(d == 0 ? "/" : "/data" + d.ToString(CultureInfo.InvariantCulture));
            disk.Fstype.Set(d % 2 == 0 ? "ext4" : "xfs");
            disk.TotalGb = 100 * (d + 1);
            disk.UsedGb = (10 * (d + 1)) + (i % 10);
            disk.UsagePercent = disk.UsedGb / disk.TotalGb * 100;
        }

        for (var n = 0; n < 1 + (agent % 2); n++)
        {
            var nic = s.NetworkInterfaces.Add();
            nic.Name.Set("eth" + n.ToString(CultureInfo.InvariantCulture));
            nic.Mac.Set("02:00:00:00:" + agent.ToString("X2", CultureInfo.InvariantCulture) + ":0" + n.ToString(CultureInfo.InvariantCulture));
            nic.Ipv4.Set("10.0." + agent.ToString(CultureInfo.InvariantCulture) + "." + (n + 1).ToString(CultureInfo.InvariantCulture));
            nic.Ipv6.Set(n == 0 ? "" : "fe80::" + agent.ToString(CultureInfo.InvariantCulture));
            nic.UploadSpeedMbps = (i % 13) + (n * 0.5);
            nic.DownloadSpeedMbps = (i % 19) + (n * 0.25);
        }

        return s;
    }

    public static string AgentId(int agent) => "agent-" + agent.ToString("D3", CultureInfo.InvariantCulture);

    public static AgentPresence Presence(int agent, int session, bool connected) => new()
    {
        AgentId = AgentId(agent),
        ConnectorId = "connector-" + ((agent + session) % 2).ToString(CultureInfo.InvariantCulture),
        SessionId = "session-" + agent.ToString(CultureInfo.InvariantCulture) + "-" + session.ToString(CultureInfo.InvariantCulture),
        Epoch = 1_000 + session,
        Status = connected ? PresenceStatus.Connected : PresenceStatus.Disconnected,
        Reason = connected ? "authenticated" : "agent closed",
        RemoteAddress = "203.0.113." + agent.ToString(CultureInfo.InvariantCulture) + ":5123" + session.ToString(CultureInfo.InvariantCulture),
        EventTimeMs = new DateTimeOffset(Epoch).ToUnixTimeMilliseconds() + (session * 60_000L) + (connected ? 0 : 30_000),
        ConnectedTimeMs = new DateTimeOffset(Epoch).ToUnixTimeMilliseconds() + (session * 60_000L),
    };

    public static byte[] Encode(MetricsSample sample, int schemaId)
    {
        var buffer = new ArrayBufferWriter<byte>();
        new MetricsAvroWriter(schemaId).Write(sample, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Encode(AgentPresence presence, int schemaId)
    {
        var buffer = new ArrayBufferWriter<byte>();
        new AgentPresenceAvroWriter(schemaId).Write(presence, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    public static IProducer<string, byte[]> Producer(string bootstrapServers) =>
        new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            CompressionType = CompressionType.Lz4,
        }).Build();
}
