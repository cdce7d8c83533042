using Avro;
using Avro.Generic;
using Avro.IO;
using StreamPipeline.Protocol;

namespace StreamPipeline.Dispatcher.Dispatching;

/// <summary>
/// Writes a record as Confluent's AvroSerializer does (<see cref="ConfluentWireFormat"/>, then the Avro binary body) but
/// synchronously, with the schema id registered once at start, so the engine can produce under its lock.
/// </summary>
internal sealed class AvroRecordWriter(RecordSchema schema, int schemaId)
{
    private readonly GenericDatumWriter<GenericRecord> _writer = new(schema);

    public int SchemaId { get; } = schemaId;

    public byte[] Write(GenericRecord record)
    {
        using var stream = new MemoryStream(256);
        Span<byte> header = stackalloc byte[ConfluentWireFormat.HeaderSize];
        ConfluentWireFormat.WriteHeader(header, SchemaId);
        stream.Write(header);
        _writer.Write(record, new BinaryEncoder(stream));
        return stream.ToArray();
    }
}
