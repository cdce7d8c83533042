using System.Buffers;

namespace StreamPipeline.Protocol;

/// <summary>
/// Encodes a <see cref="MetricsSample"/> as <c>streampipeline.v1.MetricsSample</c> Avro binary with Confluent framing,
/// by hand and in schema field order: byte for byte what Confluent's AvroSerializer (Apache.Avro) writes for the same
/// record. One span is requested from the output, sized by a cheap upper bound, then advanced by what was written.
/// Stateless apart from the schema id: share one instance.
/// </summary>
public sealed class MetricsAvroWriter
{
    /// <summary>Creates a writer that frames every record with <paramref name="schemaId"/> (the id the registry gave <see cref="AvroSchemas.MetricsSample.Json"/>).</summary>
    public MetricsAvroWriter(int schemaId) => SchemaId = schemaId;

    /// <summary>The schema id written after the magic byte.</summary>
    public int SchemaId { get; }

    /// <summary>Writes the framed record to <paramref name="output"/> and returns how many bytes it took.</summary>
    public int Write(MetricsSample sample, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(output);
        var buffer = output.GetSpan(MaxSize(sample));
        ConfluentWireFormat.WriteHeader(buffer, SchemaId);
        var avro = new AvroBinaryWriter(buffer[ConfluentWireFormat.HeaderSize..]);
        WriteBody(ref avro, sample);
        var written = ConfluentWireFormat.HeaderSize + avro.Position;
        output.Advance(written);
        return written;
    }

    private static void WriteBody(ref AvroBinaryWriter avro, MetricsSample sample)
    {
        avro.WriteString(sample.AgentId);
        avro.WriteString(sample.ConnectorId);
        avro.WriteString(sample.SessionId);
        avro.WriteLong(sample.AgentTimeMs);
        avro.WriteLong(sample.ReceivedTimeMs);
        avro.WriteDouble(sample.CpuUsagePercent);
        avro.WriteDouble(sample.RamUsagePercent);
        avro.WriteDouble(sample.RamUsedGb);
        avro.WriteLong(sample.UptimeSeconds);
        avro.WriteNullableDouble(sample.Load1m);
        avro.WriteNullableDouble(sample.Load5m);
        avro.WriteNullableDouble(sample.Load15m);
        avro.WriteNullableDouble(sample.DiskReadSpeedMbps);
        avro.WriteNullableDouble(sample.DiskWriteSpeedMbps);

        var disks = sample.Disks.AsSpan();
        avro.WriteArrayStart(disks.Length);
        foreach (var disk in disks)
        {
            avro.WriteString(disk.Device.Utf8);
            avro.WriteString(disk.Mountpoint.Utf8);
            avro.WriteString(disk.Fstype.Utf8);
            avro.WriteDouble(disk.TotalGb);
            avro.WriteDouble(disk.UsedGb);
            avro.WriteDouble(disk.UsagePercent);
        }

        avro.WriteArrayEnd();

        var interfaces = sample.NetworkInterfaces.AsSpan();
        avro.WriteArrayStart(interfaces.Length);
        foreach (var nic in interfaces)
        {
            avro.WriteString(nic.Name.Utf8);
            avro.WriteString(nic.Mac.Utf8);
            avro.WriteString(nic.Ipv4.Utf8);
            avro.WriteString(nic.Ipv6.Utf8);
            avro.WriteDouble(nic.UploadSpeedMbps);
            avro.WriteDouble(nic.DownloadSpeedMbps);
        }

        avro.WriteArrayEnd();
    }

    private static int MaxSize(MetricsSample sample)
    {
        const int Long = AvroBinaryWriter.MaxLongSize;
        const int NullableDouble = 1 + 8;
        var size = ConfluentWireFormat.HeaderSize
            + AvroBinaryWriter.MaxStringSize(sample.AgentId)
            + AvroBinaryWriter.MaxStringSize(sample.ConnectorId)
            + AvroBinaryWriter.MaxStringSize(sample.SessionId)
            + (3 * Long) + (3 * 8) + (5 * NullableDouble)
            + (2 * (Long + 1)); // two arrays: count + terminator

        foreach (var disk in sample.Disks.AsSpan())
        {
            size += (3 * Long) + disk.Device.ByteCount + disk.Mountpoint.ByteCount + disk.Fstype.ByteCount + (3 * 8);
        }

        foreach (var nic in sample.NetworkInterfaces.AsSpan())
        {
            size += (4 * Long) + nic.Name.ByteCount + nic.Mac.ByteCount + nic.Ipv4.ByteCount + nic.Ipv6.ByteCount + (2 * 8);
        }

        return size;
    }
}
