using System.Text.Json;
using Avro;

namespace StreamPipeline.Protocol.Tests.Avro;

public sealed class AvroSchemasTests
{
    public static TheoryData<string> SchemaFiles => ["metrics-sample.avsc", "agent-presence.avsc"];

    [Theory]
    [MemberData(nameof(SchemaFiles))]
    public void AvscFile_ParsesWithApacheAvro_InNamespaceV1(string fileName)
    {
        var schema = (RecordSchema)Schema.Parse(ReadFile(fileName));

        Assert.Equal("streampipeline.v1", schema.Namespace);
    }

    [Fact]
    public void All_IsEveryFileOfSchemasAvro()
    {
        var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "schemas", "avro"), "*.avsc").Select(Path.GetFileName).Order(StringComparer.Ordinal);

        Assert.Equal(files, AvroSchemas.All.Select(s => s.FileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void EmbeddedSchemas_EqualTheFilesVerbatim()
    {
        Assert.All(AvroSchemas.All, s => Assert.Equal(ReadFile(s.FileName), s.Json));
    }

    [Fact]
    public void FullNames_MatchTheSchemas()
    {
        Assert.All(AvroSchemas.All, s => Assert.Equal(s.FullName, Schema.Parse(s.Json).Fullname));
    }

    [Fact]
    public void EmbeddedResources_AreOnePerFile()
    {
        Assert.Equal(AvroSchemas.All.Count, typeof(AvroSchemas).Assembly.GetManifestResourceNames().Count(n => n.EndsWith(".avsc", StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(SchemaFiles))]
    public void AvscFile_EveryRecordAndFieldHasDoc(string fileName)
    {
        using var document = JsonDocument.Parse(ReadFile(fileName));
        var undocumented = new List<string>();

        CollectUndocumented(document.RootElement, "", undocumented);

        Assert.Empty(undocumented);
    }

    [Fact]
    public void MetricsSchema_FieldOrderIsWhatTheWriterEncodes()
    {
        var schema = (RecordSchema)Schema.Parse(AvroSchemas.MetricsSample.Json);

        Assert.Equal(
            ["agent_id", "connector_id", "session_id", "agent_time", "received_time", "cpu_usage_percent", "ram_usage_percent", "ram_used_gb",
             "uptime_seconds", "load_1m", "load_5m", "load_15m", "disk_read_speed_mbps", "disk_write_speed_mbps", "disks", "network_interfaces"],
            schema.Fields.Select(f => f.Name));
    }

    private static void CollectUndocumented(JsonElement schema, string path, List<string> undocumented)
    {
        if (schema.ValueKind == JsonValueKind.Array)
        {
            foreach (var branch in schema.EnumerateArray())
            {
                CollectUndocumented(branch, path, undocumented);
            }

            return;
        }

        if (schema.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        var type = schema.GetProperty("type");
        if (type.ValueKind == JsonValueKind.String && type.GetString() == "record")
        {
            RequireDoc(schema, path + schema.GetProperty("name").GetString(), undocumented);
            foreach (var field in schema.GetProperty("fields").EnumerateArray())
            {
                var fieldPath = path + field.GetProperty("name").GetString();
                RequireDoc(field, fieldPath, undocumented);
                CollectUndocumented(field.GetProperty("type"), fieldPath + ".", undocumented);
            }
        }
        else if (type.ValueKind == JsonValueKind.String && type.GetString() == "array")
        {
            CollectUndocumented(schema.GetProperty("items"), path, undocumented);
        }
        else if (type.ValueKind != JsonValueKind.String)
        {
            CollectUndocumented(type, path, undocumented);
        }
    }

    private static void RequireDoc(JsonElement element, string path, List<string> undocumented)
    {
        if (!element.TryGetProperty("doc", out var doc) || string.IsNullOrWhiteSpace(doc.GetString()))
        {
            undocumented.Add(path);
        }
    }

    private static string ReadFile(string fileName) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "schemas", "avro", fileName));
}
