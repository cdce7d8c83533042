using System.Buffers.Binary;

namespace StreamPipeline.Protocol;

/// <summary>
/// Confluent's framing of a Schema Registry encoded message: magic byte 0, the schema id as a big-endian int32, then the
/// Avro binary body. What Confluent's AvroSerializer writes and AvroDeserializer expects.
/// </summary>
public static class ConfluentWireFormat
{
    /// <summary>The first byte of every framed message.</summary>
    public const byte MagicByte = 0;

    /// <summary>Bytes before the Avro body.</summary>
    public const int HeaderSize = 5;

    /// <summary>What is wrong with a message <see cref="TryReadHeader"/> refuses (for dead letters and exceptions).</summary>
    public const string NotFramedError = "Not a Confluent-framed message (expected magic byte 0 and a 4-byte schema id).";

    /// <summary>Writes the 5-byte header into <paramref name="destination"/>.</summary>
    public static void WriteHeader(Span<byte> destination, int schemaId)
    {
        destination[0] = MagicByte;
        BinaryPrimitives.WriteInt32BigEndian(destination[1..], schemaId);
    }

    /// <summary>Reads the header; false when the message is too short or does not start with the magic byte.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> message, out int schemaId, out ReadOnlySpan<byte> body)
    {
        if (message.Length < HeaderSize || message[0] != MagicByte)
        {
            schemaId = 0;
            body = default;
            return false;
        }

        schemaId = BinaryPrimitives.ReadInt32BigEndian(message[1..]);
        body = message[HeaderSize..];
        return true;
    }
}
