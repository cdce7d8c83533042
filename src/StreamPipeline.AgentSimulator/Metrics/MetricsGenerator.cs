using System.Buffers;
using System.Globalization;
using System.Text.Json;
using StreamPipeline.AgentSimulator.Host;
using StreamPipeline.AgentSimulator.Protocol;

namespace StreamPipeline.AgentSimulator.Metrics;

/// <summary>
/// The <c>metrics</c> event of one agent (agent-protocol.md section 3): a random walk per agent that moves
/// with the time since the previous sample. Used under the agent's send lock, so from one flow at a time.
/// </summary>
internal sealed class MetricsGenerator
{
    private readonly HostProfile _host;
    private readonly SimRandom _random;
    private readonly DateTimeOffset _bootTime;
    private readonly double _cpuMean;
    private readonly double _ramMean;
    private readonly double _diskBaseMBps;
    private readonly double[] _diskUsedGb;
    private readonly double[] _upMbps;
    private readonly double[] _downMbps;
    private DateTimeOffset _previous;
    private double _cpu;
    private double _ram;
    private double _load1;
    private double _load5;
    private double _load15;
    private double _readMBps;
    private double _writeMBps;

    public MetricsGenerator(HostProfile host, SimRandom random, DateTimeOffset now)
    {
        _host = host;
        _random = random;
        _bootTime = now - host.BootAgo;
        _previous = now;
        _cpuMean = random.NextDouble(3, 55);
        _ramMean = random.NextDouble(20, 80);
        _cpu = _cpuMean;
        _ram = _ramMean;
        _load1 = _load5 = _load15 = _cpuMean / 100;
        _diskBaseMBps = random.NextDouble(0.2, 20);
        _readMBps = _diskBaseMBps;
        _writeMBps = _diskBaseMBps / 2;
        _diskUsedGb = new double[host.Disks.Length];
        for (var i = 0; i < _diskUsedGb.Length; i++)
        {
            _diskUsedGb[i] = host.Disks[i].InitialUsedGb;
        }

        _upMbps = new double[host.Interfaces.Length];
        _downMbps = new double[host.Interfaces.Length];
        for (var i = 0; i < _upMbps.Length; i++)
        {
            _upMbps[i] = host.Interfaces[i].BaseMbps * random.NextDouble(0.2, 1);
            _downMbps[i] = host.Interfaces[i].BaseMbps * random.NextDouble(0.5, 2);
        }
    }

    /// <summary>Seconds since boot, as the agent reports it (an integer).</summary>
    public long UptimeSeconds(DateTimeOffset now) => (long)(now - _bootTime).TotalSeconds;

    /// <summary>Advances the walk to <paramref name="now"/> and writes the whole event frame.</summary>
    public void WriteFrame(IBufferWriter<byte> output, DateTimeOffset now, bool wrongTypes, ReadOnlySpan<byte> padding)
    {
        Step(now);
        var writer = Json.WriterFor(output);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "event"u8);
        writer.WriteString("action"u8, "metrics"u8);
        writer.WritePropertyName("payload"u8);
        writer.WriteStartObject();
        if (wrongTypes)
        {
            writer.WriteString("cpuUsagePercent"u8, Math.Round(_cpu, 2).ToString("0.0#", CultureInfo.InvariantCulture));
        }
        else
        {
            Json.WriteFloat(writer, "cpuUsagePercent"u8, _cpu);
        }

        Json.WriteFloat(writer, "ramUsagePercent"u8, _ram);
        Json.WriteFloat(writer, "ramUsedGB"u8, _host.RamTotalGb * _ram / 100);
        if (wrongTypes)
        {
            writer.WriteString("uptimeSeconds"u8, UptimeSeconds(now).ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            writer.WriteNumber("uptimeSeconds"u8, UptimeSeconds(now));
        }

        writer.WritePropertyName("normalizedLoad"u8);
        writer.WriteStartObject();
        Json.WriteFloat(writer, "1m"u8, _load1);
        Json.WriteFloat(writer, "5m"u8, _load5);
        Json.WriteFloat(writer, "15m"u8, _load15);
        writer.WriteEndObject();
        Json.WriteFloat(writer, "diskReadSpeedMBps"u8, _readMBps);
        Json.WriteFloat(writer, "diskWriteSpeedMBps"u8, _writeMBps);
        writer.WritePropertyName("diskUsage"u8);
        writer.WriteStartArray();
        for (var i = 0; i < _host.Disks.Length; i++)
        {
            var disk = _host.Disks[i];
            writer.WriteStartObject();
            writer.WriteString("device"u8, disk.Device);
            writer.WriteString("mountpoint"u8, disk.MountPoint);
            writer.WriteString("fstype"u8, disk.FsType);
            Json.WriteFloat(writer, "totalGB"u8, disk.TotalGb);
            Json.WriteFloat(writer, "usedGB"u8, _diskUsedGb[i]);
            Json.WriteFloat(writer, "usagePercent"u8, _diskUsedGb[i] * 100 / disk.TotalGb);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WritePropertyName("networkInterfaces"u8);
        writer.WriteStartArray();
        for (var i = 0; i < _host.Interfaces.Length; i++)
        {
            var nic = _host.Interfaces[i];
            writer.WriteStartObject();
            writer.WriteString("name"u8, nic.Name);
            writer.WriteString("mac"u8, nic.Mac);
            writer.WriteString("ipv4"u8, nic.Ipv4);
            writer.WriteString("ipv6"u8, nic.Ipv6);
            Json.WriteFloat(writer, "uploadSpeedMbps"u8, _upMbps[i]);
            Json.WriteFloat(writer, "downloadSpeedMbps"u8, _downMbps[i]);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (!padding.IsEmpty)
        {
            writer.WriteString("padding"u8, padding);
        }

        writer.WriteEndObject();
        writer.WriteNumber("timestamp"u8, now.ToUnixTimeMilliseconds());
        writer.WriteEndObject();
        writer.Flush();
    }

    private void Step(DateTimeOffset now)
    {
        var dt = Math.Clamp((now - _previous).TotalSeconds, 0.05, 3600);
        _previous = now;
        var pull = 1 - Math.Exp(-dt / 30);

        _cpu += (pull * (_cpuMean - _cpu)) + (_random.NextGaussian() * 3 * Math.Sqrt(Math.Min(dt, 60) / 5));
        if (_random.Next(50) == 0)
        {
            _cpu += _random.NextDouble(10, 40);
        }

        _cpu = Math.Clamp(_cpu, 0.1, 99.9);
        _ram = Math.Clamp(_ram + (pull * 0.3 * (_ramMean - _ram)) + (_random.NextGaussian() * 0.5), 2, 98);

        var runQueue = Math.Max(0, _cpu / 100 * (1 + (0.25 * _random.NextGaussian())));
        _load1 += (1 - Math.Exp(-dt / 60)) * (runQueue - _load1);
        _load5 += (1 - Math.Exp(-dt / 300)) * (runQueue - _load5);
        _load15 += (1 - Math.Exp(-dt / 900)) * (runQueue - _load15);

        _readMBps = Math.Max(0, _readMBps + (pull * (_diskBaseMBps - _readMBps)) + (_random.NextGaussian() * _diskBaseMBps * 0.3));
        _writeMBps = Math.Max(0, _writeMBps + (pull * ((_diskBaseMBps / 2) - _writeMBps)) + (_random.NextGaussian() * _diskBaseMBps * 0.15));
        for (var i = 0; i < _diskUsedGb.Length; i++)
        {
            // Writes fill the disk slowly; now and then a clean-up frees some space.
            var total = _host.Disks[i].TotalGb;
            var used = _diskUsedGb[i] + (_writeMBps * dt / 1024 * 0.05);
            if (_random.Next(500) == 0)
            {
                used *= 0.9;
            }

            _diskUsedGb[i] = Math.Clamp(used, 0.1, total * 0.98);
        }

        for (var i = 0; i < _upMbps.Length; i++)
        {
            var baseline = _host.Interfaces[i].BaseMbps;
            _upMbps[i] = Math.Max(0, _upMbps[i] + (pull * (baseline * 0.6 - _upMbps[i])) + (_random.NextGaussian() * baseline * 0.2));
            _downMbps[i] = Math.Max(0, _downMbps[i] + (pull * (baseline * 1.2 - _downMbps[i])) + (_random.NextGaussian() * baseline * 0.3));
        }
    }
}
