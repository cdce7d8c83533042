using StreamPipeline.Protocol;

namespace StreamPipeline.Sink.Decoding;

/// <summary>
/// Decodes Avro record bodies (unframed by <see cref="ConfluentWireFormat"/>) straight into RowBinary rows, with the
/// shared <see cref="AvroSpanReader"/> (errors as values, nothing allocated). Field order follows schemas/avro exactly
/// (the schema id was checked before, see <see cref="SchemaCatalog"/>). A record that does not decode leaves the
/// buffers as they were and returns the reason.
/// </summary>
internal static class RecordDecoder
{
    private static readonly byte[] Connected = "CONNECTED"u8.ToArray();
    private static readonly byte[] Disconnected = "DISCONNECTED"u8.ToArray();

    /// <summary>Appends one metrics sample (samples row + a row per disk + a row per interface); null on success, else why not.</summary>
    public static string? AppendMetrics(ReadOnlySpan<byte> body, ushort partition, ulong offset, RowBinaryBuffer samples, RowBinaryBuffer disks, RowBinaryBuffer interfaces) =>
        AppendMetrics(body, partition, offset, samples, disks, interfaces, long.MaxValue, out _);

    /// <summary>
    /// Appends one metrics sample; <paramref name="clockSkewed"/> tells whether its agent time is more than
    /// <paramref name="maxClockSkewMs"/> away from its receive time (stored as <c>clock_skewed</c>).
    /// </summary>
    public static string? AppendMetrics(
        ReadOnlySpan<byte> body, ushort partition, ulong offset, RowBinaryBuffer samples, RowBinaryBuffer disks, RowBinaryBuffer interfaces, long maxClockSkewMs, out bool clockSkewed)
    {
        clockSkewed = false;
        var samplesMark = samples.Mark();
        var disksMark = disks.Mark();
        var interfacesMark = interfaces.Mark();
        var avro = new AvroSpanReader(body);

        var agentId = avro.ReadString();
        samples.WriteString(agentId);
        samples.WriteString(avro.ReadString()); // connector_id
        samples.WriteString(avro.ReadString()); // session_id
        var agentTime = avro.ReadLong();
        samples.WriteInt64(agentTime);
        var receivedTime = avro.ReadLong();
        samples.WriteInt64(receivedTime);
        samples.WriteFloat64(avro.ReadDouble()); // cpu
        samples.WriteFloat64(avro.ReadDouble()); // ram %
        samples.WriteFloat64(avro.ReadDouble()); // ram GB
        samples.WriteInt64(avro.ReadLong()); // uptime
        for (var i = 0; i < 5; i++)
        {
            // load_1m, load_5m, load_15m, disk_read_speed_mbps, disk_write_speed_mbps
            var hasValue = avro.ReadNullableDouble(out var value);
            samples.WriteNullableFloat64(hasValue, value);
        }

        var diskCount = 0;
        for (var count = avro.ReadArrayBlockCount(); count != 0 && avro.Error is null; count = avro.ReadArrayBlockCount())
        {
            for (var i = 0; i < count && avro.Error is null; i++, diskCount++)
            {
                disks.WriteString(agentId);
                disks.WriteInt64(agentTime);
                disks.WriteInt64(receivedTime);
                disks.WriteUInt16((ushort)diskCount);
                disks.WriteString(avro.ReadString()); // device
                disks.WriteString(avro.ReadString()); // mountpoint
                disks.WriteString(avro.ReadString()); // fstype
                disks.WriteFloat64(avro.ReadDouble()); // total
                disks.WriteFloat64(avro.ReadDouble()); // used
                disks.WriteFloat64(avro.ReadDouble()); // usage %
                disks.WriteUInt16(partition);
                disks.WriteUInt64(offset);
                disks.EndRow();
            }
        }

        var interfaceCount = 0;
        for (var count = avro.ReadArrayBlockCount(); count != 0 && avro.Error is null; count = avro.ReadArrayBlockCount())
        {
            for (var i = 0; i < count && avro.Error is null; i++, interfaceCount++)
            {
                interfaces.WriteString(agentId);
                interfaces.WriteInt64(agentTime);
                interfaces.WriteInt64(receivedTime);
                interfaces.WriteUInt16((ushort)interfaceCount);
                interfaces.WriteString(avro.ReadString()); // name
                interfaces.WriteString(avro.ReadString()); // mac
                interfaces.WriteString(avro.ReadString()); // ipv4
                interfaces.WriteString(avro.ReadString()); // ipv6
                interfaces.WriteFloat64(avro.ReadDouble()); // upload
                interfaces.WriteFloat64(avro.ReadDouble()); // download
                interfaces.WriteUInt16(partition);
                interfaces.WriteUInt64(offset);
                interfaces.EndRow();
            }
        }

        if (diskCount > ushort.MaxValue || interfaceCount > ushort.MaxValue) avro.Fail("More than 65535 disks or interfaces in one sample.");
        if (avro.Error is null && !avro.End) avro.Fail("Bytes left over after the MetricsSample record: wrong schema for this message?");
        if (avro.Error is not null)
        {
            samples.Rewind(samplesMark);
            disks.Rewind(disksMark);
            interfaces.Rewind(interfacesMark);
            return avro.Error;
        }

        samples.WriteUInt16((ushort)diskCount);
        samples.WriteUInt16((ushort)interfaceCount);
        var skew = (Int128)agentTime - receivedTime;
        clockSkewed = skew > maxClockSkewMs || skew < -maxClockSkewMs;
        samples.WriteUInt8(clockSkewed ? (byte)1 : (byte)0);
        samples.WriteUInt16(partition);
        samples.WriteUInt64(offset);
        samples.EndRow();
        return null;
    }

    /// <summary>Appends one presence event; null on success, else why not.</summary>
    public static string? AppendPresence(ReadOnlySpan<byte> body, ushort partition, ulong offset, RowBinaryBuffer presence)
    {
        var mark = presence.Mark();
        var avro = new AvroSpanReader(body);
        presence.WriteString(avro.ReadString()); // agent_id
        presence.WriteString(avro.ReadString()); // connector_id
        presence.WriteString(avro.ReadString()); // session_id
        presence.WriteInt64(avro.ReadLong()); // epoch
        switch (avro.ReadLong())
        {
            case 0:
                presence.WriteString(Connected);
                break;
            case 1:
                presence.WriteString(Disconnected);
                break;
            default:
                avro.Fail("PresenceStatus symbol does not exist.");
                break;
        }

        presence.WriteString(avro.ReadString()); // reason
        presence.WriteString(avro.ReadString()); // remote_address
        presence.WriteInt64(avro.ReadLong()); // event_time
        presence.WriteInt64(avro.ReadLong()); // connected_time
        if (avro.Error is null && !avro.End) avro.Fail("Bytes left over after the AgentPresence record: wrong schema for this message?");
        if (avro.Error is not null)
        {
            presence.Rewind(mark);
            return avro.Error;
        }

        presence.WriteUInt16(partition);
        presence.WriteUInt64(offset);
        presence.EndRow();
        return null;
    }

    /// <summary>
    /// Appends one command result to <c>command_log</c>; null on success, else why not. The layout is the sink's reader
    /// schema for command results (<see cref="SchemaCatalog.ReaderSchema"/>): command-result.avsc with <c>status</c>
    /// as a string (the writer's enum symbol name, so a symbol added later loads without a sink change).
    /// </summary>
    public static string? AppendCommandResult(ReadOnlySpan<byte> body, ushort partition, ulong offset, RowBinaryBuffer log)
    {
        var mark = log.Mark();
        var avro = new AvroSpanReader(body);
        log.WriteString(avro.ReadString()); // command_id
        log.WriteString(avro.ReadString()); // agent_id
        log.WriteString(avro.ReadString()); // action
        var hasRequestId = avro.ReadNullableLong(out var requestId);
        if (requestId < 0) avro.Fail("Negative request_id.");
        log.WriteNullableUInt64(hasRequestId, (ulong)requestId);
        log.WriteString(avro.ReadString()); // status
        log.WriteString(avro.ReadNullableString()); // response_json ('' when null)
        log.WriteString(avro.ReadNullableString()); // error
        log.WriteString(avro.ReadNullableString()); // connector_id
        log.WriteInt64(avro.ReadLong()); // created_time
        var hasDispatched = avro.ReadNullableLong(out var dispatched);
        log.WriteNullableInt64(hasDispatched, dispatched); // dispatched_time
        log.WriteInt64(avro.ReadLong()); // completed_time
        if (avro.Error is null && !avro.End) avro.Fail("Bytes left over after the CommandResult record: wrong schema for this message?");
        if (avro.Error is not null)
        {
            log.Rewind(mark);
            return avro.Error;
        }

        log.WriteUInt16(partition);
        log.WriteUInt64(offset);
        log.EndRow();
        return null;
    }
}
