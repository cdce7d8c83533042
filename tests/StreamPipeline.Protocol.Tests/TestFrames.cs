using System.Text;

namespace StreamPipeline.Protocol.Tests;

/// <summary>Frames and payloads as agents send them (Python json.dumps style: ", " and ": " separators).</summary>
internal static class TestFrames
{
    /// <summary>The example payload of agent-protocol.md section 3.</summary>
    public const string ProtocolExamplePayload = """
        {
          "cpuUsagePercent": 12.5, "ramUsagePercent": 45.2, "ramUsedGB": 4.1,
          "uptimeSeconds": 3600,
          "normalizedLoad": { "1m": 0.5, "5m": 0.4, "15m": 0.2 },
          "diskReadSpeedMBps": 1.2, "diskWriteSpeedMBps": 0.5,
          "diskUsage": [ { "device": "/dev/sda1", "mountpoint": "/", "fstype": "ext4",
                           "totalGB": 450.5, "usedGB": 20.1, "usagePercent": 4.5 } ],
          "networkInterfaces": [ { "name": "eth0", "mac": "00:11:22:33:44:55",
                                   "ipv4": "192.168.1.10", "ipv6": "fe80::1",
                                   "uploadSpeedMbps": 5.2, "downloadSpeedMbps": 12.4 } ]
        }
        """;

    /// <summary>A realistic ~900-byte metrics event: 2 disks, 2 interfaces.</summary>
    public const string RealisticMetricsFrame =
        """{"type": "event", "id": 48213, "action": "metrics", "payload": {"cpuUsagePercent": 12.73, "ramUsagePercent": 45.21, "ramUsedGB": 7.234567, "uptimeSeconds": 1843923, "normalizedLoad": {"1m": 0.52, "5m": 0.41, "15m": 0.27}, "diskReadSpeedMBps": 1.234, "diskWriteSpeedMBps": 0.567, "diskUsage": [{"device": "/dev/nvme0n1p2", "mountpoint": "/", "fstype": "ext4", "totalGB": 467.91, "usedGB": 201.33, "usagePercent": 43.0}, {"device": "/dev/sdb1", "mountpoint": "/var/lib/postgresql", "fstype": "xfs", "totalGB": 1863.02, "usedGB": 912.44, "usagePercent": 48.98}], "networkInterfaces": [{"name": "eth0", "mac": "00:16:3e:5a:7b:9c", "ipv4": "10.20.30.41", "ipv6": "fe80::216:3eff:fe5a:7b9c", "uploadSpeedMbps": 5.213, "downloadSpeedMbps": 12.408}, {"name": "docker0", "mac": "02:42:ac:11:00:01", "ipv4": "172.17.0.1", "ipv6": "fe80::42:acff:fe11:1", "uploadSpeedMbps": 0.012, "downloadSpeedMbps": 0.0}]}, "timestamp": 1733936600000}""";

    public static byte[] Utf8(string json) => Encoding.UTF8.GetBytes(json);
}
