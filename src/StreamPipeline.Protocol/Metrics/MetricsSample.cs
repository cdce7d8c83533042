namespace StreamPipeline.Protocol;

/// <summary>
/// One metrics sample (record <c>streampipeline.v1.MetricsSample</c>), mutable and meant to be reused per connection:
/// <see cref="MetricsParser"/> fills the measurements, the connector sets identity and times, the Avro writer reads it.
/// </summary>
public sealed class MetricsSample
{
    /// <summary>Agent id from the authenticated session (never from the payload).</summary>
    public string AgentId { get; set; } = string.Empty;

    /// <summary>The edge connector instance that received the sample.</summary>
    public string ConnectorId { get; set; } = string.Empty;

    /// <summary>The agent's WebSocket session on that connector.</summary>
    public string SessionId { get; set; } = string.Empty;

    /// <summary>The envelope timestamp (agent clock), Unix milliseconds.</summary>
    public long AgentTimeMs { get; set; }

    /// <summary>The backend receive time, Unix milliseconds.</summary>
    public long ReceivedTimeMs { get; set; }

    /// <summary><c>cpuUsagePercent</c>.</summary>
    public double CpuUsagePercent { get; set; }

    /// <summary><c>ramUsagePercent</c>.</summary>
    public double RamUsagePercent { get; set; }

    /// <summary><c>ramUsedGB</c>.</summary>
    public double RamUsedGb { get; set; }

    /// <summary><c>uptimeSeconds</c>.</summary>
    public long UptimeSeconds { get; set; }

    /// <summary><c>normalizedLoad.1m</c>; null when not reported.</summary>
    public double? Load1m { get; set; }

    /// <summary><c>normalizedLoad.5m</c>; null when not reported.</summary>
    public double? Load5m { get; set; }

    /// <summary><c>normalizedLoad.15m</c>; null when not reported.</summary>
    public double? Load15m { get; set; }

    /// <summary><c>diskReadSpeedMBps</c>; null when not reported.</summary>
    public double? DiskReadSpeedMbps { get; set; }

    /// <summary><c>diskWriteSpeedMBps</c>; null when not reported.</summary>
    public double? DiskWriteSpeedMbps { get; set; }

    /// <summary><c>diskUsage</c>, in the agent's order.</summary>
    public ReusableList<DiskSample> Disks { get; } = new();

    /// <summary><c>networkInterfaces</c>, in the agent's order.</summary>
    public ReusableList<NetworkInterfaceSample> NetworkInterfaces { get; } = new();

    /// <summary>Resets every measurement (not identity or times), keeping list items for reuse.</summary>
    public void ClearMeasurements()
    {
        CpuUsagePercent = 0;
        RamUsagePercent = 0;
        RamUsedGb = 0;
        UptimeSeconds = 0;
        Load1m = null;
        Load5m = null;
        Load15m = null;
        DiskReadSpeedMbps = null;
        DiskWriteSpeedMbps = null;
        Disks.Clear();
        NetworkInterfaces.Clear();
    }
}

/// <summary>One <c>diskUsage</c> item (record <c>streampipeline.v1.Disk</c>).</summary>
public sealed class DiskSample
{
    /// <summary><c>device</c>; empty when not reported.</summary>
    public Utf8Text Device { get; } = new();

    /// <summary><c>mountpoint</c> (required).</summary>
    public Utf8Text Mountpoint { get; } = new();

    /// <summary><c>fstype</c>; empty when not reported.</summary>
    public Utf8Text Fstype { get; } = new();

    /// <summary><c>totalGB</c>.</summary>
    public double TotalGb { get; set; }

    /// <summary><c>usedGB</c>.</summary>
    public double UsedGb { get; set; }

    /// <summary><c>usagePercent</c>.</summary>
    public double UsagePercent { get; set; }
}

/// <summary>One <c>networkInterfaces</c> item (record <c>streampipeline.v1.NetworkInterface</c>).</summary>
public sealed class NetworkInterfaceSample
{
    /// <summary><c>name</c> (required).</summary>
    public Utf8Text Name { get; } = new();

    /// <summary><c>mac</c>; empty when absent or null.</summary>
    public Utf8Text Mac { get; } = new();

    /// <summary><c>ipv4</c>; empty when absent or null.</summary>
    public Utf8Text Ipv4 { get; } = new();

    /// <summary><c>ipv6</c>; empty when absent or null.</summary>
    public Utf8Text Ipv6 { get; } = new();

    /// <summary><c>uploadSpeedMbps</c>.</summary>
    public double UploadSpeedMbps { get; set; }

    /// <summary><c>downloadSpeedMbps</c>.</summary>
    public double DownloadSpeedMbps { get; set; }
}
