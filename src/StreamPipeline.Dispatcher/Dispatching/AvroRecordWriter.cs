using System.Buffers.Binary;
using Avro;
using Avro.Generic;
using Avro.IO;

namespace StreamPipeline.Dispatcher.Dispatching;

/// <summary>
/// Writes a record as Confluent's AvroSerializer does (magic byte 0, big-endian schema id, Avro binary body) but
/// synchronously, with the schema id registered once at start, so the engine can produce under its lock.
/// </summary>
internal sealed class AvroRecordWriter(RecordSchema schema, int schemaId)
{
    private readonly GenericDatumWriter<GenericRecord> _writer = new(schema);

    public int SchemaId { get; } = schemaId;

    public byte[] Write(GenericRecord record)
    {
        using var stream = new MemoryStream(256);
        Span<byte> header = stackalloc byte[5];
        header[0] = 0;
        BinaryPrimitives.WriteInt32BigEndian(header[1..], SchemaId);
        stream.Write(header);
        _writer.Write(record, new BinaryEncoder(stream));
        return stream.ToArray();
    }
}
