using System.Buffers;

namespace StreamPipeline.Protocol;

/// <summary>
/// Encodes an <see cref="AgentPresence"/> as <c>streampipeline.v1.AgentPresence</c> Avro binary with Confluent framing,
/// byte for byte what Confluent's AvroSerializer writes. Stateless apart from the schema id: share one instance.
/// </summary>
public sealed class AgentPresenceAvroWriter
{
    /// <summary>Creates a writer that frames every record with <paramref name="schemaId"/>.</summary>
    public AgentPresenceAvroWriter(int schemaId) => SchemaId = schemaId;

    /// <summary>The schema id written after the magic byte.</summary>
    public int SchemaId { get; }

    /// <summary>Writes the framed record to <paramref name="output"/> and returns how many bytes it took.</summary>
    public int Write(AgentPresence presence, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(presence);
        ArgumentNullException.ThrowIfNull(output);
        var status = presence.Status switch
        {
            PresenceStatus.Connected => 0,
            PresenceStatus.Disconnected => 1,
            _ => throw new ArgumentOutOfRangeException(nameof(presence), presence.Status, "Unknown presence status."),
        };

        var maxSize = ConfluentWireFormat.HeaderSize
            + AvroBinaryWriter.MaxStringSize(presence.AgentId)
            + AvroBinaryWriter.MaxStringSize(presence.ConnectorId)
            + AvroBinaryWriter.MaxStringSize(presence.SessionId)
            + AvroBinaryWriter.MaxStringSize(presence.Reason)
            + AvroBinaryWriter.MaxStringSize(presence.RemoteAddress)
            + (4 * AvroBinaryWriter.MaxLongSize);
        var buffer = output.GetSpan(maxSize);
        ConfluentWireFormat.WriteHeader(buffer, SchemaId);
        var avro = new AvroBinaryWriter(buffer[ConfluentWireFormat.HeaderSize..]);
        avro.WriteString(presence.AgentId);
        avro.WriteString(presence.ConnectorId);
        avro.WriteString(presence.SessionId);
        avro.WriteLong(presence.Epoch);
        avro.WriteLong(status);
        avro.WriteString(presence.Reason);
        avro.WriteString(presence.RemoteAddress);
        avro.WriteLong(presence.EventTimeMs);
        avro.WriteLong(presence.ConnectedTimeMs);
        var written = ConfluentWireFormat.HeaderSize + avro.Position;
        output.Advance(written);
        return written;
    }
}
