using Avro.Generic;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;

namespace StreamPipeline.Kafka.Contracts;

/// <summary>Confluent Avro serdes (Schema Registry, Confluent framing) for the command contracts.</summary>
public static class ContractSerdes
{
    public static IAsyncSerializer<T> Serializer<T>(ISchemaRegistryClient registry, Func<T, GenericRecord> toRecord) =>
        new Mapped<T>(new AvroSerializer<GenericRecord>(registry, new AvroSerializerConfig { AutoRegisterSchemas = true }), toRecord);

    public static IAsyncDeserializer<T> Deserializer<T>(ISchemaRegistryClient registry, Func<GenericRecord, T> fromRecord) =>
        new MappedBack<T>(new AvroDeserializer<GenericRecord>(registry), fromRecord);

    private sealed class Mapped<T>(AvroSerializer<GenericRecord> inner, Func<T, GenericRecord> map) : IAsyncSerializer<T>
    {
        public Task<byte[]> SerializeAsync(T data, SerializationContext context) => inner.SerializeAsync(map(data), context);
    }

    private sealed class MappedBack<T>(AvroDeserializer<GenericRecord> inner, Func<GenericRecord, T> map) : IAsyncDeserializer<T>
    {
        public async Task<T> DeserializeAsync(ReadOnlyMemory<byte> data, bool isNull, SerializationContext context) =>
            map(await inner.DeserializeAsync(data, isNull, context));
    }
}
