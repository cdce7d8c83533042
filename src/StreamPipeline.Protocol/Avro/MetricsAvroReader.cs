namespace StreamPipeline.Protocol;

/// <summary>
/// Decodes a Confluent-framed <c>streampipeline.v1.MetricsSample</c> (written by <see cref="MetricsAvroWriter"/> or any
/// Avro writer with the same schema) into a reused <see cref="MetricsSample"/>. For consumers and tests.
/// </summary>
public static class MetricsAvroReader
{
    /// <summary>Reads <paramref name="message"/> into <paramref name="sample"/> and returns the schema id from the framing.</summary>
    /// <exception cref="InvalidDataException">The message is not framed, is truncated or has bytes left over.</exception>
    public static int Read(ReadOnlySpan<byte> message, MetricsSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (!ConfluentWireFormat.TryReadHeader(message, out var schemaId, out var body))
        {
            throw new InvalidDataException("Not a Confluent-framed message (expected magic byte 0 and a 4-byte schema id).");
        }

        var avro = new AvroBinaryReader(body);
        sample.AgentId = avro.ReadString();
        sample.ConnectorId = avro.ReadString();
        sample.SessionId = avro.ReadString();
        sample.AgentTimeMs = avro.ReadLong();
        sample.ReceivedTimeMs = avro.ReadLong();
        sample.CpuUsagePercent = avro.ReadDouble();
        sample.RamUsagePercent = avro.ReadDouble();
        sample.RamUsedGb = avro.ReadDouble();
        sample.UptimeSeconds = avro.ReadLong();
        sample.Load1m = avro.ReadNullableDouble();
        sample.Load5m = avro.ReadNullableDouble();
        sample.Load15m = avro.ReadNullableDouble();
        sample.DiskReadSpeedMbps = avro.ReadNullableDouble();
        sample.DiskWriteSpeedMbps = avro.ReadNullableDouble();

        sample.Disks.Clear();
        for (var count = avro.ReadArrayBlockCount(); count != 0; count = avro.ReadArrayBlockCount())
        {
            for (var i = 0; i < count; i++)
            {
                var disk = sample.Disks.Add();
                SetText(disk.Device, avro.ReadStringBytes());
                SetText(disk.Mountpoint, avro.ReadStringBytes());
                SetText(disk.Fstype, avro.ReadStringBytes());
                disk.TotalGb = avro.ReadDouble();
                disk.UsedGb = avro.ReadDouble();
                disk.UsagePercent = avro.ReadDouble();
            }
        }

        sample.NetworkInterfaces.Clear();
        for (var count = avro.ReadArrayBlockCount(); count != 0; count = avro.ReadArrayBlockCount())
        {
            for (var i = 0; i < count; i++)
            {
                var nic = sample.NetworkInterfaces.Add();
                SetText(nic.Name, avro.ReadStringBytes());
                SetText(nic.Mac, avro.ReadStringBytes());
                SetText(nic.Ipv4, avro.ReadStringBytes());
                SetText(nic.Ipv6, avro.ReadStringBytes());
                nic.UploadSpeedMbps = avro.ReadDouble();
                nic.DownloadSpeedMbps = avro.ReadDouble();
            }
        }

        if (!avro.End)
        {
            throw new InvalidDataException("Bytes left over after the MetricsSample record: wrong schema for this message?");
        }

        return schemaId;
    }

    private static void SetText(Utf8Text target, ReadOnlySpan<byte> utf8)
    {
        if (!target.TrySet(utf8))
        {
            throw new InvalidDataException("An Avro string is not valid UTF-8.");
        }
    }
}
