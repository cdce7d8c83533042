using Avro;
using Avro.Generic;
using Avro.IO;

namespace StreamPipeline.Protocol.Tests.Avro;

/// <summary>Encodes records with Apache.Avro's GenericDatumWriter (what Confluent's AvroSerializer uses), as the reference.</summary>
internal static class ApacheAvroReference
{
    public static readonly RecordSchema MetricsSchema = (RecordSchema)Schema.Parse(AvroSchemas.MetricsSample.Json);
    public static readonly RecordSchema PresenceSchema = (RecordSchema)Schema.Parse(AvroSchemas.AgentPresence.Json);

    public static byte[] Encode(GenericRecord record)
    {
        using var stream = new MemoryStream();
        new GenericDatumWriter<GenericRecord>(record.Schema).Write(record, new BinaryEncoder(stream));
        return stream.ToArray();
    }

    public static GenericRecord Decode(RecordSchema schema, byte[] body)
    {
        using var stream = new MemoryStream(body);
        return new GenericDatumReader<GenericRecord>(schema, schema).Read(null!, new BinaryDecoder(stream));
    }

    public static GenericRecord ToRecord(MetricsSample sample)
    {
        var diskSchema = (RecordSchema)((ArraySchema)MetricsSchema["disks"].Schema).ItemSchema;
        var nicSchema = (RecordSchema)((ArraySchema)MetricsSchema["network_interfaces"].Schema).ItemSchema;
        var record = new GenericRecord(MetricsSchema);
        record.Add("agent_id", sample.AgentId);
        record.Add("connector_id", sample.ConnectorId);
        record.Add("session_id", sample.SessionId);
        record.Add("agent_time", ToDateTime(sample.AgentTimeMs));
        record.Add("received_time", ToDateTime(sample.ReceivedTimeMs));
        record.Add("cpu_usage_percent", sample.CpuUsagePercent);
        record.Add("ram_usage_percent", sample.RamUsagePercent);
        record.Add("ram_used_gb", sample.RamUsedGb);
        record.Add("uptime_seconds", sample.UptimeSeconds);
        record.Add("load_1m", sample.Load1m);
        record.Add("load_5m", sample.Load5m);
        record.Add("load_15m", sample.Load15m);
        record.Add("disk_read_speed_mbps", sample.DiskReadSpeedMbps);
        record.Add("disk_write_speed_mbps", sample.DiskWriteSpeedMbps);
        var disks = new object[sample.Disks.Count];
        for (var i = 0; i < disks.Length; i++)
        {
            var disk = sample.Disks[i];
            var item = new GenericRecord(diskSchema);
            item.Add("device", disk.Device.Value);
            item.Add("mountpoint", disk.Mountpoint.Value);
            item.Add("fstype", disk.Fstype.Value);
            item.Add("total_gb", disk.TotalGb);
            item.Add("used_gb", disk.UsedGb);
            item.Add("usage_percent", disk.UsagePercent);
            disks[i] = item;
        }

        record.Add("disks", disks);
        var nics = new object[sample.NetworkInterfaces.Count];
        for (var i = 0; i < nics.Length; i++)
        {
            var nic = sample.NetworkInterfaces[i];
            var item = new GenericRecord(nicSchema);
            item.Add("name", nic.Name.Value);
            item.Add("mac", nic.Mac.Value);
            item.Add("ipv4", nic.Ipv4.Value);
            item.Add("ipv6", nic.Ipv6.Value);
            item.Add("upload_speed_mbps", nic.UploadSpeedMbps);
            item.Add("download_speed_mbps", nic.DownloadSpeedMbps);
            nics[i] = item;
        }

        record.Add("network_interfaces", nics);
        return record;
    }

    public static GenericRecord ToRecord(AgentPresence presence)
    {
        var record = new GenericRecord(PresenceSchema);
        record.Add("agent_id", presence.AgentId);
        record.Add("connector_id", presence.ConnectorId);
        record.Add("session_id", presence.SessionId);
        record.Add("epoch", presence.Epoch);
        record.Add("status", new GenericEnum((EnumSchema)PresenceSchema["status"].Schema, presence.Status == PresenceStatus.Connected ? "CONNECTED" : "DISCONNECTED"));
        record.Add("reason", presence.Reason);
        record.Add("remote_address", presence.RemoteAddress);
        record.Add("event_time", ToDateTime(presence.EventTimeMs));
        record.Add("connected_time", ToDateTime(presence.ConnectedTimeMs));
        return record;
    }

    /// <summary>Apache.Avro maps timestamp-millis to DateTime (UTC).</summary>
    public static DateTime ToDateTime(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime;
}
