using System.Text;

namespace StreamPipeline.Protocol;

/// <summary>
/// Decodes a Confluent-framed <c>streampipeline.v1.MetricsSample</c> (written by <see cref="MetricsAvroWriter"/> or any
/// Avro writer with the same schema) into a reused <see cref="MetricsSample"/>. For consumers and tests; reads with
/// <see cref="AvroSpanReader"/> (errors as values) and turns its error into an exception at the end.
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
            throw new InvalidDataException(ConfluentWireFormat.NotFramedError);
        }

        var avro = new AvroSpanReader(body);
        sample.AgentId = Encoding.UTF8.GetString(avro.ReadString());
        sample.ConnectorId = Encoding.UTF8.GetString(avro.ReadString());
        sample.SessionId = Encoding.UTF8.GetString(avro.ReadString());
        sample.AgentTimeMs = avro.ReadLong();
        sample.ReceivedTimeMs = avro.ReadLong();
        sample.CpuUsagePercent = avro.ReadDouble();
        sample.RamUsagePercent = avro.ReadDouble();
        sample.RamUsedGb = avro.ReadDouble();
        sample.UptimeSeconds = avro.ReadLong();
        sample.Load1m = NullableDouble(ref avro);
        sample.Load5m = NullableDouble(ref avro);
        sample.Load15m = NullableDouble(ref avro);
        sample.DiskReadSpeedMbps = NullableDouble(ref avro);
        sample.DiskWriteSpeedMbps = NullableDouble(ref avro);

        sample.Disks.Clear();
        for (var count = avro.ReadArrayBlockCount(); count != 0; count = avro.ReadArrayBlockCount())
        {
            for (var i = 0; i < count; i++)
            {
                var disk = sample.Disks.Add();
                SetText(disk.Device, avro.ReadString());
                SetText(disk.Mountpoint, avro.ReadString());
                SetText(disk.Fstype, avro.ReadString());
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
                SetText(nic.Name, avro.ReadString());
                SetText(nic.Mac, avro.ReadString());
                SetText(nic.Ipv4, avro.ReadString());
                SetText(nic.Ipv6, avro.ReadString());
                nic.UploadSpeedMbps = avro.ReadDouble();
                nic.DownloadSpeedMbps = avro.ReadDouble();
            }
        }

        if (avro.Error is null && !avro.End) avro.Fail("Bytes left over after the MetricsSample record: wrong schema for this message?");
        avro.ThrowIfError();
        return schemaId;
    }

    private static double? NullableDouble(ref AvroSpanReader avro) => avro.ReadNullableDouble(out var value) ? value : null;

    // AvroSpanReader.ReadString checked the bytes are UTF-8 (or recorded an error and returned none).
    private static void SetText(Utf8Text target, ReadOnlySpan<byte> utf8) => target.TrySet(utf8);
}
