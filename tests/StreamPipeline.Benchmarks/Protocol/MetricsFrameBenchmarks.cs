using System.Buffers;
using System.Text;
using System.Text.Json;
using Avro;
using Avro.Generic;
using BenchmarkDotNet.Attributes;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using StreamPipeline.Embedded.SchemaRegistry;
using StreamPipeline.Protocol;

namespace StreamPipeline.Benchmarks.Protocol;

/// <summary>
/// One realistic metrics frame (~900 bytes, 2 disks, 2 interfaces) from WebSocket bytes to a Confluent-framed Avro record:
/// our hand-written path against System.Text.Json + GenericRecord + Confluent's AvroSerializer.
/// Run: <c>dotnet run -c Release --project tests/StreamPipeline.Benchmarks -- --filter '*MetricsFrame*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class MetricsFrameBenchmarks
{
    /// <summary>What a Python agent sends (json.dumps separators), as in the protocol tests.</summary>
    private const string Frame =
        """{"type": "event", "id": 48213, "action": "metrics", "payload": {"cpuUsagePercent": 12.73, "ramUsagePercent": 45.21, "ramUsedGB": 7.234567, "uptimeSeconds": 1843923, "normalizedLoad": {"1m": 0.52, "5m": 0.41, "15m": 0.27}, "diskReadSpeedMBps": 1.234, "diskWriteSpeedMBps": 0.567, "diskUsage": [{"device": "/dev/nvme0n1p2", "mountpoint": "/", "fstype": "ext4", "totalGB": 467.91, "usedGB": 201.33, "usagePercent": 43.0}, {"device": "/dev/sdb1", "mountpoint": "/var/lib/postgresql", "fstype": "xfs", "totalGB": 1863.02, "usedGB": 912.44, "usagePercent": 48.98}], "networkInterfaces": [{"name": "eth0", "mac": "00:16:3e:5a:7b:9c", "ipv4": "10.20.30.41", "ipv6": "fe80::216:3eff:fe5a:7b9c", "uploadSpeedMbps": 5.213, "downloadSpeedMbps": 12.408}, {"name": "docker0", "mac": "02:42:ac:11:00:01", "ipv4": "172.17.0.1", "ipv6": "fe80::42:acff:fe11:1", "uploadSpeedMbps": 0.012, "downloadSpeedMbps": 0.0}]}, "timestamp": 1733936600000}""";

    private const string AgentId = "agent-7";
    private const string ConnectorId = "edge-1";
    private const string SessionId = "5f0c9a4e-3f7b-4d8e-9a51-0c2f1e6b7d93";
    private const long ReceivedTimeMs = 1733936600123;

    private readonly byte[] _frame = Encoding.UTF8.GetBytes(Frame);

    // Ours: one parser, sample and output buffer per connection.
    private readonly MetricsParser _parser = new();
    private readonly MetricsSample _sample = new() { AgentId = AgentId, ConnectorId = ConnectorId, SessionId = SessionId };
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private MetricsAvroWriter _writer = null!;

    // Confluent: the serializer a producer would use, schema registered once in setup.
    private EmbeddedSchemaRegistry _registry = null!;
    private CachedSchemaRegistryClient _registryClient = null!;
    private AvroSerializer<GenericRecord> _serializer = null!;
    private RecordSchema _schema = null!;
    private RecordSchema _diskSchema = null!;
    private RecordSchema _nicSchema = null!;
    private readonly SerializationContext _context = new(MessageComponentType.Value, "streampipeline.v1.metrics");

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions(), CancellationToken.None);
        _registryClient = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = _registry.Url.ToString() });
        _serializer = new AvroSerializer<GenericRecord>(_registryClient, new AvroSerializerConfig { AutoRegisterSchemas = true });
        _schema = (RecordSchema)Avro.Schema.Parse(AvroSchemas.MetricsSample.Json);
        _diskSchema = (RecordSchema)((ArraySchema)_schema["disks"].Schema).ItemSchema;
        _nicSchema = (RecordSchema)((ArraySchema)_schema["network_interfaces"].Schema).ItemSchema;

        // Registers the schema and caches its id: the measured calls never reach the registry.
        var confluentBytes = await _serializer.SerializeAsync(ToGenericRecord(_frame), _context);
        if (!ConfluentWireFormat.TryReadHeader(confluentBytes, out var schemaId, out _))
        {
            throw new InvalidOperationException(ConfluentWireFormat.NotFramedError);
        }

        _writer = new MetricsAvroWriter(schemaId);

        // Both paths must produce the same bytes, or the comparison means nothing.
        Ours();
        if (!_output.WrittenSpan.SequenceEqual(confluentBytes))
        {
            throw new InvalidOperationException("Our bytes differ from Confluent's AvroSerializer for the benchmark frame.");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _registryClient.Dispose();
        await _registry.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "Ours: one-pass frame parse+validate, hand-written Avro")]
    public int Ours()
    {
        if (!_parser.TryParseFrame(_frame, _sample, out var envelope, out _, out var error))
        {
            throw new InvalidOperationException(error.ToString());
        }

        _sample.AgentTimeMs = envelope.Timestamp ?? ReceivedTimeMs;
        _sample.ReceivedTimeMs = ReceivedTimeMs;
        _output.ResetWrittenCount();
        return _writer.Write(_sample, _output);
    }

    [Benchmark(Description = "Ours, two passes: envelope, then payload")]
    public int OursTwoPasses()
    {
        if (!EnvelopeParser.TryParse(_frame, out var envelope, out var error)
            || !_parser.TryParse(envelope.Payload, _sample, out error))
        {
            throw new InvalidOperationException(error.ToString());
        }

        _sample.AgentTimeMs = envelope.Timestamp ?? ReceivedTimeMs;
        _sample.ReceivedTimeMs = ReceivedTimeMs;
        _output.ResetWrittenCount();
        return _writer.Write(_sample, _output);
    }

    [Benchmark(Description = "Confluent: JsonDocument -> GenericRecord -> AvroSerializer")]
    public async Task<int> Confluent()
    {
        var bytes = await _serializer.SerializeAsync(ToGenericRecord(_frame), _context);
        return bytes.Length;
    }

    private GenericRecord ToGenericRecord(byte[] frame)
    {
        using var document = JsonDocument.Parse(frame);
        var root = document.RootElement;
        var payload = root.GetProperty("payload");
        var load = payload.GetProperty("normalizedLoad");
        var record = new GenericRecord(_schema);
        record.Add("agent_id", AgentId);
        record.Add("connector_id", ConnectorId);
        record.Add("session_id", SessionId);
        record.Add("agent_time", DateTimeOffset.FromUnixTimeMilliseconds(root.GetProperty("timestamp").GetInt64()).UtcDateTime);
        record.Add("received_time", DateTimeOffset.FromUnixTimeMilliseconds(ReceivedTimeMs).UtcDateTime);
        record.Add("cpu_usage_percent", payload.GetProperty("cpuUsagePercent").GetDouble());
        record.Add("ram_usage_percent", payload.GetProperty("ramUsagePercent").GetDouble());
        record.Add("ram_used_gb", payload.GetProperty("ramUsedGB").GetDouble());
        record.Add("uptime_seconds", payload.GetProperty("uptimeSeconds").GetInt64());
        record.Add("load_1m", load.GetProperty("1m").GetDouble());
        record.Add("load_5m", load.GetProperty("5m").GetDouble());
        record.Add("load_15m", load.GetProperty("15m").GetDouble());
        record.Add("disk_read_speed_mbps", payload.GetProperty("diskReadSpeedMBps").GetDouble());
        record.Add("disk_write_speed_mbps", payload.GetProperty("diskWriteSpeedMBps").GetDouble());

        var disks = payload.GetProperty("diskUsage");
        var diskRecords = new object[disks.GetArrayLength()];
        var i = 0;
        foreach (var disk in disks.EnumerateArray())
        {
            var item = new GenericRecord(_diskSchema);
            item.Add("device", disk.GetProperty("device").GetString());
            item.Add("mountpoint", disk.GetProperty("mountpoint").GetString());
            item.Add("fstype", disk.GetProperty("fstype").GetString());
            item.Add("total_gb", disk.GetProperty("totalGB").GetDouble());
            item.Add("used_gb", disk.GetProperty("usedGB").GetDouble());
            item.Add("usage_percent", disk.GetProperty("usagePercent").GetDouble());
            diskRecords[i++] = item;
        }

        record.Add("disks", diskRecords);

        var nics = payload.GetProperty("networkInterfaces");
        var nicRecords = new object[nics.GetArrayLength()];
        i = 0;
        foreach (var nic in nics.EnumerateArray())
        {
            var item = new GenericRecord(_nicSchema);
            item.Add("name", nic.GetProperty("name").GetString());
            item.Add("mac", nic.GetProperty("mac").GetString());
            item.Add("ipv4", nic.GetProperty("ipv4").GetString());
            item.Add("ipv6", nic.GetProperty("ipv6").GetString());
            item.Add("upload_speed_mbps", nic.GetProperty("uploadSpeedMbps").GetDouble());
            item.Add("download_speed_mbps", nic.GetProperty("downloadSpeedMbps").GetDouble());
            nicRecords[i++] = item;
        }

        record.Add("network_interfaces", nicRecords);
        return record;
    }
}
