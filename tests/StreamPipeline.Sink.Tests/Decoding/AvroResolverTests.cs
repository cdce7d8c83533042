using System.Text.Json.Nodes;
using Avro;
using AvroSchema = Avro.Schema;
using Avro.Generic;
using Avro.IO;
using StreamPipeline.Protocol;
using StreamPipeline.Sink.Decoding;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Decoding;

/// <summary>
/// Avro schema resolution against the sink's reader schemas. Writer data is encoded by Apache.Avro (the reference
/// implementation), so these tests do not check the transcoder against itself.
/// </summary>
public sealed class AvroResolverTests
{
    [Fact]
    public void Transcode_WriterAddsFieldsAndDropsAFieldWithDefault_DecodesLikeTheSinksLayout()
    {
        var v2 = JsonNode.Parse(AvroSchemas.MetricsSample.Json)!.AsObject();
        var fields = v2["fields"]!.AsArray();
        // Added in the middle (with a default), added at the end, and load_15m removed (the sink's schema defaults it to null).
        fields.Insert(6, JsonNode.Parse("""{"name":"cpu_steal_percent","type":"double","default":0}"""));
        fields.Add(JsonNode.Parse("""{"name":"kernel","type":["null","string"],"default":null}"""));
        fields.Remove(fields.First(f => (string)f!["name"]! == "load_15m"));
        var disk = fields.First(f => (string)f!["name"]! == "disks")!["type"]!["items"]!;
        disk["fields"]!.AsArray().Insert(0, JsonNode.Parse("""{"name":"inodes_used","type":"long","default":0}"""));

        var sample = SampleData.Metrics(3, 4);
        var writer = AvroSchema.Parse(v2.ToJsonString());
        var record = Rewrite(ReadV1(sample), (RecordSchema)writer, r =>
        {
            r.Add("cpu_steal_percent", 1.5);
            r.Add("kernel", "6.1");
        });

        sample.Load15m = null;
        AssertSameRows(Body(sample), Transcode(writer.ToString(), Encode(writer, record)));
    }

    [Fact]
    public void Transcode_WriterFieldsInAnotherOrder_DecodesLikeTheSinksLayout()
    {
        var v2 = JsonNode.Parse(AvroSchemas.MetricsSample.Json)!.AsObject();
        var reversed = v2["fields"]!.AsArray().Select(f => f!.DeepClone()).Reverse().ToArray();
        v2["fields"] = new JsonArray(reversed);

        var sample = SampleData.Metrics(2, 9);
        var writer = AvroSchema.Parse(v2.ToJsonString());
        var record = Rewrite(ReadV1(sample), (RecordSchema)writer, _ => { });

        AssertSameRows(Body(sample), Transcode(writer.ToString(), Encode(writer, record)));
    }

    [Fact]
    public void Compile_WriterChangesANestedFieldsType_NamesTheField()
    {
        var v2 = AvroSchemas.MetricsSample.Json.Replace("{\"name\": \"total_gb\", \"type\": \"double\"", "{\"name\": \"total_gb\", \"type\": \"string\"", StringComparison.Ordinal);
        Assert.NotEqual(AvroSchemas.MetricsSample.Json, v2);

        var e = Assert.Throws<AvroIncompatibleException>(() => AvroResolver.Compile(AvroSchemaNode.Parse(v2), SchemaCatalog.ReaderSchema(RecordKind.Metrics)));

        Assert.Equal("MetricsSample.disks[].total_gb", e.Field);
        Assert.Contains("string", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_WriterDropsAFieldWithoutDefault_NamesTheField()
    {
        var v2 = JsonNode.Parse(AvroSchemas.MetricsSample.Json)!.AsObject();
        var fields = v2["fields"]!.AsArray();
        fields.Remove(fields.First(f => (string)f!["name"]! == "cpu_usage_percent"));

        var e = Assert.Throws<AvroIncompatibleException>(() => AvroResolver.Compile(AvroSchemaNode.Parse(v2.ToJsonString()), SchemaCatalog.ReaderSchema(RecordKind.Metrics)));

        Assert.Equal("MetricsSample.cpu_usage_percent", e.Field);
        Assert.Contains("no default", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Transcode_CommandResultWithAStatusSymbolAddedLater_LoadsTheSymbolName()
    {
        var v2 = JsonNode.Parse(AvroSchemas.CommandResult.Json)!.AsObject();
        var status = v2["fields"]!.AsArray().First(f => (string)f!["name"]! == "status")!["type"]!["symbols"]!.AsArray();
        status.Add("SUPERSEDED"); // a symbol a later schema version might add
        var writer = (RecordSchema)AvroSchema.Parse(v2.ToJsonString());
        var record = new GenericRecord(writer);
        record.Add("command_id", "cmd-9");
        record.Add("agent_id", "agent-001");
        record.Add("action", "restart-service");
        record.Add("request_id", 77L);
        record.Add("status", new GenericEnum((EnumSchema)writer["status"].Schema, "SUPERSEDED"));
        record.Add("response_json", null);
        record.Add("error", "connector lost before the agent answered");
        record.Add("connector_id", "edge-1");
        record.Add("created_time", DateTime.UnixEpoch.AddSeconds(1));
        record.Add("dispatched_time", DateTime.UnixEpoch.AddSeconds(2));
        record.Add("completed_time", DateTime.UnixEpoch.AddSeconds(3));

        var plan = AvroResolver.Compile(AvroSchemaNode.Parse(writer.ToString()), SchemaCatalog.ReaderSchema(RecordKind.CommandResult));
        var output = new AvroOutput();
        var input = new AvroSpanReader(Encode(writer, record));
        plan.Transcode(ref input, output);
        Assert.Null(input.Error);
        using var rows = new RowBinaryBuffer();

        Assert.Null(RecordDecoder.AppendCommandResult(output.Written, 0, 5, rows));
        Assert.Equal(1, rows.Rows);
        Assert.True(rows.Written.Span.IndexOf("SUPERSEDED"u8) > 0);
    }

    [Fact]
    public void Transcode_TruncatedWriterData_ReportsAnErrorInsteadOfThrowing()
    {
        var v2 = AvroSchemas.MetricsSample.Json.Replace("\"name\": \"cpu_usage_percent\", \"type\": \"double\"", "\"name\": \"cpu_usage_percent\", \"type\": \"float\"", StringComparison.Ordinal);
        Assert.NotEqual(AvroSchemas.MetricsSample.Json, v2);
        var plan = AvroResolver.Compile(AvroSchemaNode.Parse(v2), SchemaCatalog.ReaderSchema(RecordKind.Metrics));
        var body = Body(SampleData.Metrics(1, 1));

        for (var length = 0; length < 40; length++)
        {
            var input = new AvroSpanReader(body.AsSpan(0, length));
            plan.Transcode(ref input, new AvroOutput());
            Assert.NotNull(input.Error);
        }
    }

    private static byte[] Body(MetricsSample sample) => SampleData.Encode(sample, 1).AsSpan(ConfluentWireFormat.HeaderSize).ToArray();

    private static GenericRecord ReadV1(MetricsSample sample)
    {
        var schema = AvroSchema.Parse(AvroSchemas.MetricsSample.Json);
        var reader = new GenericDatumReader<GenericRecord>(schema, schema);
        return reader.Read(null!, new BinaryDecoder(new MemoryStream(Body(sample))));
    }

    /// <summary>The same values under the writer schema (fields it lacks dropped, nested records rebuilt).</summary>
    private static GenericRecord Rewrite(GenericRecord v1, RecordSchema writer, Action<GenericRecord> extra)
    {
        var record = new GenericRecord(writer);
        foreach (var field in writer.Fields)
        {
            if (!v1.TryGetValue(field.Name, out var value))
            {
                continue;
            }

            if (value is object[] items && field.Schema is ArraySchema { ItemSchema: RecordSchema itemSchema })
            {
                value = items.Select(i => (object)Rewrite((GenericRecord)i, itemSchema, r =>
                {
                    if (itemSchema.Contains("inodes_used")) r.Add("inodes_used", 123L);
                })).ToArray();
            }

            record.Add(field.Name, value);
        }

        extra(record);
        return record;
    }

    private static byte[] Encode(AvroSchema schema, GenericRecord record)
    {
        var stream = new MemoryStream();
        new GenericDatumWriter<GenericRecord>(schema).Write(record, new BinaryEncoder(stream));
        return stream.ToArray();
    }

    private static byte[] Transcode(string writerSchema, byte[] body)
    {
        var plan = AvroResolver.Compile(AvroSchemaNode.Parse(writerSchema), SchemaCatalog.ReaderSchema(RecordKind.Metrics));
        var output = new AvroOutput();
        var input = new AvroSpanReader(body);
        plan.Transcode(ref input, output);
        Assert.Null(input.Error);
        Assert.True(input.End);
        return output.Written.ToArray();
    }

    private static void AssertSameRows(byte[] expectedBody, byte[] actualBody)
    {
        using RowBinaryBuffer s1 = new(), d1 = new(), i1 = new(), s2 = new(), d2 = new(), i2 = new();
        Assert.Null(RecordDecoder.AppendMetrics(expectedBody, 1, 2, s1, d1, i1));
        Assert.Null(RecordDecoder.AppendMetrics(actualBody, 1, 2, s2, d2, i2));
        Assert.Equal(1, s2.Rows);
        Assert.True(d1.Rows > 0, "the sample should have disks, so the nested record is exercised");
        Assert.Equal(s1.Written.ToArray(), s2.Written.ToArray());
        Assert.Equal(d1.Written.ToArray(), d2.Written.ToArray());
        Assert.Equal(i1.Written.ToArray(), i2.Written.ToArray());
    }
}
