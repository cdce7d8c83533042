namespace StreamPipeline.Protocol;

/// <summary>Decodes a Confluent-framed <c>streampipeline.v1.AgentPresence</c>. For consumers (e.g. the dispatcher's ownership table) and tests.</summary>
public static class AgentPresenceAvroReader
{
    /// <summary>Reads <paramref name="message"/>; <paramref name="schemaId"/> is the id from the framing.</summary>
    /// <exception cref="InvalidDataException">The message is not framed, is truncated, has an unknown status or bytes left over.</exception>
    public static AgentPresence Read(ReadOnlySpan<byte> message, out int schemaId)
    {
        if (!ConfluentWireFormat.TryReadHeader(message, out schemaId, out var body))
        {
            throw new InvalidDataException("Not a Confluent-framed message (expected magic byte 0 and a 4-byte schema id).");
        }

        var avro = new AvroBinaryReader(body);
        var presence = new AgentPresence
        {
            AgentId = avro.ReadString(),
            ConnectorId = avro.ReadString(),
            SessionId = avro.ReadString(),
            Epoch = avro.ReadLong(),
            Status = avro.ReadInt() switch
            {
                0 => PresenceStatus.Connected,
                1 => PresenceStatus.Disconnected,
                var symbol => throw new InvalidDataException($"PresenceStatus symbol {symbol} does not exist."),
            },
            Reason = avro.ReadString(),
            RemoteAddress = avro.ReadString(),
            EventTimeMs = avro.ReadLong(),
            ConnectedTimeMs = avro.ReadLong(),
        };

        if (!avro.End)
        {
            throw new InvalidDataException("Bytes left over after the AgentPresence record: wrong schema for this message?");
        }

        return presence;
    }
}
