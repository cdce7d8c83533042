using System.Buffers.Binary;
using System.Net;
using Avro;
using Avro.Generic;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;

namespace StreamPipeline.Embedded.SchemaRegistry.Tests.Serdes;

/// <summary>Confluent's Avro serializer and deserializer, unmodified, against the embedded registry.</summary>
public sealed class AvroSerdesTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>, IDisposable
{
    private readonly CachedSchemaRegistryClient _client = new(new SchemaRegistryConfig { Url = fixture.Registry.Url.ToString() });

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task SerializeAsync_GenericRecordWithAutoRegister_RoundTripsAndRegistersTopicValueSubject()
    {
        string topic = RegistryFixture.NewSubject("orders");
        var context = new SerializationContext(MessageComponentType.Value, topic);
        var serializer = new AvroSerializer<GenericRecord>(_client, new AvroSerializerConfig { AutoRegisterSchemas = true });
        var deserializer = new AvroDeserializer<GenericRecord>(_client);

        byte[] bytes = await serializer.SerializeAsync(User(TestSchemas.UserV2WithDefault, "ada", age: 36), context);
        GenericRecord back = await deserializer.DeserializeAsync(bytes, isNull: false, context);

        RegisteredSchema latest = await _client.GetLatestSchemaAsync($"{topic}-value");
        Assert.Equal(0, bytes[0]);
        Assert.Equal(latest.Id, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1, 4)));
        Assert.Equal("ada", back["name"]);
        Assert.Equal(36, back["age"]);
    }

    [Fact]
    public async Task SerializeAsync_SpecificRecordWithAutoRegister_RoundTrips()
    {
        string topic = RegistryFixture.NewSubject("sensors");
        var context = new SerializationContext(MessageComponentType.Value, topic);
        var serializer = new AvroSerializer<SensorReading>(_client, new AvroSerializerConfig { AutoRegisterSchemas = true });
        var deserializer = new AvroDeserializer<SensorReading>(_client);
        var reading = new SensorReading { SensorId = "s-1", Reading = 21.5, TakenAtMs = 1_700_000_000_000, Unit = "C" };

        byte[] bytes = await serializer.SerializeAsync(reading, context);
        SensorReading back = await deserializer.DeserializeAsync(bytes, isNull: false, context);

        Assert.Equal(reading.SensorId, back.SensorId);
        Assert.Equal(reading.Reading, back.Reading);
        Assert.Equal(reading.TakenAtMs, back.TakenAtMs);
        Assert.Equal(reading.Unit, back.Unit);
        Assert.Equal([1], await _client.GetSubjectVersionsAsync($"{topic}-value"));
    }

    [Fact]
    public async Task SerializeAsync_AutoRegisterOffUseLatestVersion_WritesWithRegisteredId()
    {
        string topic = RegistryFixture.NewSubject("latest");
        int id = await _client.RegisterSchemaAsync($"{topic}-value", new Confluent.SchemaRegistry.Schema(TestSchemas.UserV1, SchemaType.Avro));
        var context = new SerializationContext(MessageComponentType.Value, topic);
        var serializer = new AvroSerializer<GenericRecord>(
            _client, new AvroSerializerConfig { AutoRegisterSchemas = false, UseLatestVersion = true });
        var deserializer = new AvroDeserializer<GenericRecord>(_client);

        byte[] bytes = await serializer.SerializeAsync(User(TestSchemas.UserV1, "grace"), context);
        GenericRecord back = await deserializer.DeserializeAsync(bytes, isNull: false, context);

        Assert.Equal(id, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1, 4)));
        Assert.Equal("grace", back["name"]);
    }

    [Fact]
    public async Task SerializeAsync_AutoRegisterOffSchemaRegistered_LooksUpId()
    {
        string topic = RegistryFixture.NewSubject("lookup");
        int id = await _client.RegisterSchemaAsync($"{topic}-value", new Confluent.SchemaRegistry.Schema(TestSchemas.UserV1, SchemaType.Avro));
        var serializer = new AvroSerializer<GenericRecord>(_client, new AvroSerializerConfig { AutoRegisterSchemas = false });

        byte[] bytes = await serializer.SerializeAsync(User(TestSchemas.UserV1, "linus"), new SerializationContext(MessageComponentType.Value, topic));

        Assert.Equal(id, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1, 4)));
    }

    [Fact]
    public async Task SerializeAsync_AutoRegisterOffSchemaMissing_ThrowsSubjectNotFound()
    {
        var serializer = new AvroSerializer<GenericRecord>(_client, new AvroSerializerConfig { AutoRegisterSchemas = false });
        var context = new SerializationContext(MessageComponentType.Value, RegistryFixture.NewSubject("missing"));

        Exception ex = await Assert.ThrowsAnyAsync<Exception>(() => serializer.SerializeAsync(User(TestSchemas.UserV1, "x"), context));

        SchemaRegistryException registryError = FindInChain<SchemaRegistryException>(ex);
        Assert.Equal(HttpStatusCode.NotFound, registryError.Status);
        Assert.Equal(40401, registryError.ErrorCode);
    }

    [Fact]
    public async Task SerializeAsync_SchemaEvolution_CompatibleAcceptedIncompatibleRefusedWith409()
    {
        string topic = RegistryFixture.NewSubject("evolve");
        var context = new SerializationContext(MessageComponentType.Value, topic);
        var config = new AvroSerializerConfig { AutoRegisterSchemas = true };
        var serializer = new AvroSerializer<GenericRecord>(_client, config);
        var deserializer = new AvroDeserializer<GenericRecord>(_client);

        byte[] v1Bytes = await serializer.SerializeAsync(User(TestSchemas.UserV1, "old"), context);
        byte[] v2Bytes = await serializer.SerializeAsync(User(TestSchemas.UserV2WithDefault, "new", age: 7), context);
        Exception ex = await Assert.ThrowsAnyAsync<Exception>(() =>
            serializer.SerializeAsync(Record(TestSchemas.UserNameAsInt, ("name", 42)), context));

        Assert.Equal("old", (await deserializer.DeserializeAsync(v1Bytes, isNull: false, context))["name"]);
        Assert.Equal(7, (await deserializer.DeserializeAsync(v2Bytes, isNull: false, context))["age"]);
        SchemaRegistryException conflict = FindInChain<SchemaRegistryException>(ex);
        Assert.Equal(HttpStatusCode.Conflict, conflict.Status);
        Assert.Equal(409, conflict.ErrorCode);
        Assert.Equal([1, 2], await _client.GetSubjectVersionsAsync($"{topic}-value"));
    }

    private static GenericRecord User(string schemaJson, string name, int? age = null) =>
        age is null ? Record(schemaJson, ("name", name)) : Record(schemaJson, ("name", name), ("age", age.Value));

    private static GenericRecord Record(string schemaJson, params (string Field, object Value)[] values)
    {
        var record = new GenericRecord((RecordSchema)Avro.Schema.Parse(schemaJson));
        foreach ((string field, object value) in values)
        {
            record.Add(field, value);
        }

        return record;
    }

    private static T FindInChain<T>(Exception exception)
        where T : Exception
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is T match)
            {
                return match;
            }
        }

        throw new Xunit.Sdk.XunitException($"Expected a {typeof(T).Name} in the exception chain, got: {exception}");
    }
}
