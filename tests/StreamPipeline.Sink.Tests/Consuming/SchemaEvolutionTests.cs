using System.Globalization;
using System.Text.Json.Nodes;
using Avro.Generic;
using Avro.IO;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using StreamPipeline.Protocol;
using StreamPipeline.Sink.Tests.Infrastructure;
using AvroSchema = Avro.Schema;

namespace StreamPipeline.Sink.Tests.Consuming;

/// <summary>
/// A rolling upgrade that updates connectors first: records framed with a newer writer schema load through Avro schema
/// resolution instead of being dead-lettered (issue 10, item 1; SchemaCatalog compared layouts and refused the rest).
/// </summary>
[Collection(SinkCollection.Name)]
public sealed class SchemaEvolutionTests(SinkFixture fixture)
{
    /// <summary>metrics-sample.avsc plus a field with a default (what a newer connector would register).</summary>
    private static readonly string MetricsV2 = AddField(AvroSchemas.MetricsSample.Json, """{"name":"cpu_steal_percent","type":"double","default":0}""");

    [Fact]
    public async Task Sink_WriterSchemaV2WithAddedField_RowsLoadNothingDeadLettered()
    {
        var topics = await fixture.CreateTopicsAsync("evolve", metricsPartitions: 1, presencePartitions: 1);
        var db = fixture.Unique("evolve");
        int v2Id;
        using (var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = fixture.Registry.Url.ToString() }))
        {
            v2Id = await registry.RegisterSchemaAsync(topics.Metrics + "-value", new Confluent.SchemaRegistry.Schema(MetricsV2, SchemaType.Avro));
        }

        Assert.NotEqual(topics.MetricsSchemaId, v2Id);
        using (var producer = SampleData.Producer(fixture.Kafka.BootstrapServers))
        {
            for (var i = 0; i < 10; i++)
            {
                // Old and new connectors side by side, as during the upgrade.
                var value = i % 2 == 0 ? SampleData.Encode(SampleData.Metrics(1, i), topics.MetricsSchemaId) : EncodeV2(SampleData.Metrics(1, i), v2Id);
                await producer.ProduceAsync(topics.Metrics, new Message<string, byte[]> { Key = "agent-001", Value = value });
            }
        }

        await using (await InProcessSink.StartAsync(fixture, InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"))))
        {
            await fixture.WaitForCountAsync($"{db}.metrics_samples", 10, TimeSpan.FromSeconds(60));
        }

        Assert.Equal(10ul, await fixture.CountAsync($"SELECT uniqExact(kafka_offset) FROM {db}.metrics_samples"));
        var expected = SampleData.Metrics(1, 3);
        Assert.Equal(
            expected.CpuUsagePercent.ToString(CultureInfo.InvariantCulture),
            Convert.ToString(await fixture.Client.ExecuteScalarAsync($"SELECT cpu_usage_percent FROM {db}.metrics_samples WHERE kafka_offset = 3"), CultureInfo.InvariantCulture));
        Assert.Equal((ulong)expected.Disks.Count, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_disks WHERE kafka_offset = 3"));
        Assert.Equal(0, DeadLetterCount(topics.DeadLetter));
    }

    [Fact]
    public async Task Sink_SchemaIdNotFoundThenRegistered_RecordsLoadAfterTheRetry()
    {
        var topics = await fixture.CreateTopicsAsync("notfound", metricsPartitions: 1, presencePartitions: 1);
        var db = fixture.Unique("notfound");
        using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = fixture.Registry.Url.ToString() });
        // Ids are allocated in sequence: the next registration gets probe + 1 (this collection's tests run one at a time).
        var probe = await registry.RegisterSchemaAsync(fixture.Unique("probe") + "-value", new Confluent.SchemaRegistry.Schema(AddField(MetricsV2, """{"name":"probe","type":"int","default":0}"""), SchemaType.Avro));
        var futureId = probe + 1;
        using (var producer = SampleData.Producer(fixture.Kafka.BootstrapServers))
        {
            for (var i = 0; i < 5; i++)
            {
                await producer.ProduceAsync(topics.Metrics, new Message<string, byte[]> { Key = "agent-002", Value = EncodeV2(SampleData.Metrics(2, i), futureId) });
            }
        }

        var settings = InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"));
        settings["Sink:SchemaNotFoundGrace"] = "00:02:00";
        await using (var sink = await InProcessSink.StartAsync(fixture, settings))
        {
            using var http = new HttpClient { BaseAddress = sink.OpsUrl };
            await StreamPipeline.Testing.Eventually.ReturnsAsync(
                () => http.GetStringAsync(new Uri("/metrics", UriKind.Relative)),
                text => text.Contains("sink_schema_lookup_failures", StringComparison.Ordinal) && text.Contains("reason=\"not_found\"", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), "the sink to get a 404 for the schema id and retry");
            Assert.Equal(0ul, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));

            var registered = await registry.RegisterSchemaAsync(topics.Metrics + "-value", new Confluent.SchemaRegistry.Schema(MetricsV2, SchemaType.Avro));
            Assert.Equal(futureId, registered);
            await fixture.WaitForCountAsync($"{db}.metrics_samples", 5, TimeSpan.FromSeconds(60));
        }

        Assert.Equal(5ul, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));
        Assert.Equal(0, DeadLetterCount(topics.DeadLetter));
    }

    [Fact]
    public async Task Sink_IncompatibleWriterSchema_StopsWithExitCode2NamingTheField()
    {
        var topics = await fixture.CreateTopicsAsync("incompatible", metricsPartitions: 1, presencePartitions: 1);
        var db = fixture.Unique("incompatible");
        var broken = JsonNode.Parse(AvroSchemas.MetricsSample.Json)!.AsObject();
        var fields = broken["fields"]!.AsArray();
        fields.Remove(fields.First(f => (string)f!["name"]! == "ram_used_gb"));
        int brokenId;
        using (var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = fixture.Registry.Url.ToString() }))
        {
            // Another subject: the registry would refuse it under the metrics subject (BACKWARD), a misconfigured producer need not ask.
            brokenId = await registry.RegisterSchemaAsync(fixture.Unique("rogue") + "-value", new Confluent.SchemaRegistry.Schema(broken.ToJsonString(), SchemaType.Avro));
        }

        using (var producer = SampleData.Producer(fixture.Kafka.BootstrapServers))
        {
            await producer.ProduceAsync(topics.Metrics, new Message<string, byte[]> { Key = "a", Value = SampleData.Encode(SampleData.Metrics(1, 0), topics.MetricsSchemaId) });
            await producer.ProduceAsync(topics.Metrics, new Message<string, byte[]> { Key = "a", Value = Encode(broken.ToJsonString(), SampleData.Metrics(1, 1), brokenId) });
        }

        var logPath = Path.Combine(Path.GetTempPath(), db + ".log");
        var settings = InProcessSink.Settings(fixture, topics, db, fixture.Unique("group"));
        using var sink = SinkProcess.Start(settings, logPath);

        await StreamPipeline.Testing.Eventually.TrueAsync(() => sink.HasExited, TimeSpan.FromSeconds(60), "the sink to stop on an incompatible writer schema");

        Assert.Equal(2, sink.ExitCode);
        var log = await File.ReadAllTextAsync(logPath);
        Assert.Contains($"Schema id {brokenId} on the Metrics topic cannot be read by this sink: field 'MetricsSample.ram_used_gb'", log, StringComparison.Ordinal);
        Assert.Contains("To fix:", log, StringComparison.Ordinal);
        Assert.Equal(0, DeadLetterCount(topics.DeadLetter));
    }

    private static string AddField(string schemaJson, string field)
    {
        var schema = JsonNode.Parse(schemaJson)!.AsObject();
        schema["fields"]!.AsArray().Add(JsonNode.Parse(field));
        return schema.ToJsonString();
    }

    private static byte[] EncodeV2(MetricsSample sample, int schemaId) => Encode(MetricsV2, sample, schemaId, r => r.Add("cpu_steal_percent", 2.5));

    /// <summary>The sample under another writer schema, encoded by Apache.Avro with Confluent framing.</summary>
    private static byte[] Encode(string writerJson, MetricsSample sample, int schemaId, Action<GenericRecord>? extra = null)
    {
        var v1 = AvroSchema.Parse(AvroSchemas.MetricsSample.Json);
        var old = new GenericDatumReader<GenericRecord>(v1, v1).Read(null!, new BinaryDecoder(new MemoryStream(SampleData.Encode(sample, 1).AsSpan(ConfluentWireFormat.HeaderSize).ToArray())));
        var writer = (Avro.RecordSchema)AvroSchema.Parse(writerJson);
        var record = new GenericRecord(writer);
        foreach (var field in writer.Fields)
        {
            if (old.TryGetValue(field.Name, out var value)) record.Add(field.Name, value);
        }

        extra?.Invoke(record);
        var stream = new MemoryStream();
        var header = new byte[ConfluentWireFormat.HeaderSize];
        ConfluentWireFormat.WriteHeader(header, schemaId);
        stream.Write(header);
        new GenericDatumWriter<GenericRecord>(writer).Write(record, new BinaryEncoder(stream));
        return stream.ToArray();
    }

    private int DeadLetterCount(string topic)
    {
        using var admin = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = fixture.Kafka.BootstrapServers, GroupId = fixture.Unique("dlq-count") }).Build();
        var watermarks = admin.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10));
        return (int)(watermarks.High.Value - watermarks.Low.Value);
    }
}
