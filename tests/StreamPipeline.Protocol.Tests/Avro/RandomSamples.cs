namespace StreamPipeline.Protocol.Tests.Avro;

/// <summary>Deterministic random samples covering what the writer must encode: unicode, empty and long lists, extremes.</summary>
internal static class RandomSamples
{
    private static readonly string[] Words = ["", "a", "/dev/sda1", "/", "ext4", "eth0", "fe80::1%eth0", "é", "漢字", "😀 emoji", "tab\tnew\nline", "quote\"back\\slash", new string('x', 200)];

    private static readonly double[] SpecialDoubles =
        [0, -0.0, 1, 100, 0.1, 1e-300, double.Epsilon, double.MaxValue, double.MinValue, double.NaN, double.PositiveInfinity, double.NegativeInfinity];

    // Apache.Avro maps timestamp-millis to DateTime and back through TimeSpan.TotalMilliseconds (a double of ticks), which
    // is exact only while the ticks since 1970 stay below 2^57: years ~1514 to ~2426. Our writer writes the long as is,
    // so the byte comparison uses times inside that range (1653 to 2286 here).
    private const long MinTime = -10_000_000_000_000;
    private const long MaxTime = 10_000_000_000_000;

    public static MetricsSample Metrics(Random random)
    {
        var sample = new MetricsSample
        {
            AgentId = Text(random),
            ConnectorId = Text(random),
            SessionId = Guid.NewGuid().ToString(),
            AgentTimeMs = Time(random),
            ReceivedTimeMs = Time(random),
            CpuUsagePercent = Double(random),
            RamUsagePercent = Double(random),
            RamUsedGb = Double(random),
            UptimeSeconds = Long(random),
            Load1m = NullableDouble(random),
            Load5m = NullableDouble(random),
            Load15m = NullableDouble(random),
            DiskReadSpeedMbps = NullableDouble(random),
            DiskWriteSpeedMbps = NullableDouble(random),
        };

        // Mostly a few items, sometimes more than 63 so the block count takes two varint bytes.
        var disks = random.Next(10) == 0 ? random.Next(60, 80) : random.Next(4);
        for (var i = 0; i < disks; i++)
        {
            var disk = sample.Disks.Add();
            disk.Device.Set(Text(random));
            disk.Mountpoint.Set(Text(random));
            disk.Fstype.Set(Text(random));
            disk.TotalGb = Double(random);
            disk.UsedGb = Double(random);
            disk.UsagePercent = Double(random);
        }

        var nics = random.Next(10) == 0 ? random.Next(60, 80) : random.Next(4);
        for (var i = 0; i < nics; i++)
        {
            var nic = sample.NetworkInterfaces.Add();
            nic.Name.Set(Text(random));
            nic.Mac.Set(Text(random));
            nic.Ipv4.Set(Text(random));
            nic.Ipv6.Set(Text(random));
            nic.UploadSpeedMbps = Double(random);
            nic.DownloadSpeedMbps = Double(random);
        }

        return sample;
    }

    public static AgentPresence Presence(Random random) => new()
    {
        AgentId = Text(random),
        ConnectorId = Text(random),
        SessionId = Text(random),
        Epoch = Long(random),
        Status = random.Next(2) == 0 ? PresenceStatus.Connected : PresenceStatus.Disconnected,
        Reason = Text(random),
        RemoteAddress = Text(random),
        EventTimeMs = Time(random),
        ConnectedTimeMs = Time(random),
    };

    private static string Text(Random random) => random.Next(3) == 0
        ? Words[random.Next(Words.Length)] + random.Next()
        : Words[random.Next(Words.Length)];

    private static double Double(Random random) => random.Next(4) == 0
        ? SpecialDoubles[random.Next(SpecialDoubles.Length)]
        : (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-5, 15));

    private static double? NullableDouble(Random random) => random.Next(3) == 0 ? null : Double(random);

    private static long Long(Random random) => random.Next(5) switch
    {
        0 => long.MinValue,
        1 => long.MaxValue,
        2 => random.Next(-200, 200),
        _ => random.NextInt64(long.MinValue, long.MaxValue),
    };

    private static long Time(Random random) => random.Next(5) == 0 ? 0 : random.NextInt64(MinTime, MaxTime);
}
