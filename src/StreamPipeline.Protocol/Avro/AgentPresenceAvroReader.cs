using System.Text;

namespace StreamPipeline.Protocol;

/// <summary>
/// Decodes a Confluent-framed <c>streampipeline.v1.AgentPresence</c>. For consumers (e.g. the dispatcher's ownership table)
/// and tests; reads with <see cref="AvroSpanReader"/> (errors as values) and turns its error into an exception at the end.
/// </summary>
public static class AgentPresenceAvroReader
{
    /// <summary>Reads <paramref name="message"/>; <paramref name="schemaId"/> is the id from the framing.</summary>
    /// <exception cref="InvalidDataException">The message is not framed, is truncated, has an unknown status or bytes left over.</exception>
    public static AgentPresence Read(ReadOnlySpan<byte> message, out int schemaId)
    {
        if (!ConfluentWireFormat.TryReadHeader(message, out schemaId, out var body))
        {
            throw new InvalidDataException(ConfluentWireFormat.NotFramedError);
        }

        var avro = new AvroSpanReader(body);
        var presence = new AgentPresence
        {
            AgentId = Encoding.UTF8.GetString(avro.ReadString()),
            ConnectorId = Encoding.UTF8.GetString(avro.ReadString()),
            SessionId = Encoding.UTF8.GetString(avro.ReadString()),
            Epoch = avro.ReadLong(),
            Status = avro.ReadInt() switch
            {
                0 => PresenceStatus.Connected,
                1 => PresenceStatus.Disconnected,
                var symbol => Fail(ref avro, symbol),
            },
            Reason = Encoding.UTF8.GetString(avro.ReadString()),
            RemoteAddress = Encoding.UTF8.GetString(avro.ReadString()),
            EventTimeMs = avro.ReadLong(),
            ConnectedTimeMs = avro.ReadLong(),
        };

        if (avro.Error is null && !avro.End) avro.Fail("Bytes left over after the AgentPresence record: wrong schema for this message?");
        avro.ThrowIfError();
        return presence;
    }

    private static PresenceStatus Fail(ref AvroSpanReader avro, int symbol)
    {
        avro.Fail($"PresenceStatus symbol {symbol} does not exist.");
        return default;
    }
}
