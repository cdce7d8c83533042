using Avro.Generic;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using StreamPipeline.Dispatcher.Dispatching;
using StreamPipeline.Embedded.SchemaRegistry;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Protocol;

namespace StreamPipeline.Dispatcher.Tests.Dispatching;

public sealed class AvroRecordWriterTests
{
    [Fact]
    public async Task Write_CommandResult_SameBytesAsConfluentAvroSerializer()
    {
        // The dispatcher frames synchronously (ConfluentWireFormat) what Confluent's serializer would write asynchronously.
        await using var registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
        using var client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = registry.Url.ToString() });
        var result = new CommandResult("cmd-1", "agent-1", "restart", 42, CommandStatus.Ok, """{"ok":true}""", null, "edge-1",
            DateTimeOffset.FromUnixTimeMilliseconds(1_733_936_600_000), DateTimeOffset.FromUnixTimeMilliseconds(1_733_936_600_100), DateTimeOffset.FromUnixTimeMilliseconds(1_733_936_600_900));
        var serializer = new AvroSerializer<GenericRecord>(client, new AvroSerializerConfig { AutoRegisterSchemas = true });
        var confluent = await serializer.SerializeAsync(ContractCodec.ToRecord(result), new SerializationContext(MessageComponentType.Value, "command-results"));
        Assert.True(ConfluentWireFormat.TryReadHeader(confluent, out var schemaId, out _));

        var ours = new AvroRecordWriter(ContractCodec.CommandResultSchema, schemaId).Write(ContractCodec.ToRecord(result));

        Assert.Equal(confluent, ours);
    }
}
