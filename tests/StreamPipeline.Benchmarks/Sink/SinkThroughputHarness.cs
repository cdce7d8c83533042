using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using ClickHouse.Driver;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using StreamPipeline.Embedded.ClickHouse;
using StreamPipeline.Embedded.Kafka;
using StreamPipeline.Embedded.SchemaRegistry;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.Protocol;
using StreamPipeline.Sink.Consuming;
using StreamPipeline.Sink.Decoding;
using StreamPipeline.Sink.Hosting;
using StreamPipeline.Sink.Loading;
using StreamPipeline.Sink.Schema;
using StreamPipeline.Sink.Telemetry;

namespace StreamPipeline.Benchmarks.Sink;

/// <summary>
/// <c>sink-throughput [--samples N] [--partitions P] [--rate R --seconds S]</c>: in one run on one engine, samples/s of
/// (1) the sink from Kafka into ClickHouse, (2) the raw ClickHouse.Driver binary insert of the same rows (the ceiling),
/// (3) ClickHouse's own Kafka table engine + materialized views reading the same topic; then freshness (p50/p99 of
/// inserted_at - received_time) of the sink at a steady produce rate.
/// </summary>
internal sealed class SinkThroughputHarness : IHarness
{
    public string Name => "sink-throughput";

    public string Description => "Sink rows/s Kafka->ClickHouse vs raw ClickHouse.Driver insert vs ClickHouse Kafka engine, and freshness p99 at a steady rate";

    public IReadOnlyList<HarnessOption> Options { get; } =
    [
        HarnessOption.Number("--samples", 120_000, "samples produced for the throughput runs"),
        HarnessOption.Number("--partitions", 12, "partitions of the metrics topic"),
        HarnessOption.Number("--rate", 20_000, "samples/s of the freshness run"),
        HarnessOption.Number("--seconds", 6, "seconds of the freshness run"),
        HarnessOption.Number("--batch-rows", 50_000, "Sink:BatchMaxRows"),
        HarnessOption.Number("--batch-delay-ms", 1_000, "Sink:BatchMaxDelay in ms"),
        HarnessOption.Number("--inserts", 4, "Sink:MaxConcurrentInserts"),
    ];

    public async Task<int> RunAsync(HarnessArguments args)
    {
        var samples = args.Number("--samples");
        var partitions = args.Number("--partitions");
        var rate = args.Number("--rate");
        var seconds = args.Number("--seconds");
        var batchRows = args.Number("--batch-rows");
        var batchDelayMs = args.Number("--batch-delay-ms");
        var inserts = args.Number("--inserts");
        var dataPath = Path.Combine(Path.GetTempPath(), "sp-sink-bench-" + Guid.NewGuid().ToString("N")[..8]);
        await using var clickHouse = await EmbeddedClickHouse.StartAsync(new EmbeddedClickHouseOptions { DataPath = dataPath, MaxServerMemoryBytes = 4L << 30 });
        using var kafka = EmbeddedKafkaCluster.Start(new EmbeddedKafkaOptions { BrokerCount = 1 });
        await using var registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
        using var client = new ClickHouseClient(clickHouse.ConnectionString);
        var stack = new Stack(clickHouse, kafka, registry, client);
        Console.WriteLine($"sink-throughput: {samples:N0} samples over {partitions} partitions; sink BatchMaxRows {batchRows}, BatchMaxDelay {batchDelayMs} ms, MaxConcurrentInserts {inserts}; engine {await client.ExecuteScalarAsync("SELECT version()")}, {Environment.ProcessorCount} cores");

        var topic = "bench-metrics";
        kafka.CreateTopic(topic, partitions);
        var schemaId = await RegisterAsync(registry, topic, AvroSchemas.MetricsSample.Json);
        var (records, disks, interfaces, bytes) = await ProduceAsync(kafka, topic, schemaId, samples, 0, DateTime.UtcNow.AddMinutes(-30));
        Console.WriteLine($"produced {samples:N0} records ({bytes / 1024.0 / 1024.0:F1} MiB Avro), {disks:N0} disk rows, {interfaces:N0} interface rows");

        var readRate = MeasureKafkaRead(stack, topic, samples);
        var sinkRate = await MeasureSinkAsync(stack, topic, samples, disks, interfaces, Settings(batchRows, batchDelayMs, inserts));
        var (binaryRate, rowBinaryRate) = await MeasureDriverAsync(stack, records);
        var (engineRate, engineNote) = await MeasureKafkaEngineAsync(stack, topic, samples);
        var (p50, p99, freshCount) = await MeasureFreshnessAsync(stack, partitions, rate, seconds, Settings(batchRows, 250, inserts));

        Console.WriteLine();
        Console.WriteLine("| path (same rows: samples + disks + interfaces, MVs on) | samples/s | vs driver ceiling |");
        Console.WriteLine("|---|---:|---:|");
        Console.WriteLine(Invariant($"| sink: Kafka -> ClickHouse (consume, decode, record range, 3 inserts with token, commit) | {sinkRate:N0} | {sinkRate / binaryRate:P0} |"));
        Console.WriteLine(Invariant($"| (context) Kafka read alone: plain consumer, same topic, no processing | {readRate:N0} | {readRate / binaryRate:P0} |"));
        Console.WriteLine(Invariant($"| ClickHouse.Driver InsertBinaryAsync (object[] rows prebuilt, no Kafka) = ceiling | {binaryRate:N0} | 100% |"));
        Console.WriteLine(Invariant($"| ClickHouse.Driver InsertRawStreamAsync RowBinary (bytes prebuilt, no Kafka) | {rowBinaryRate:N0} | {rowBinaryRate / binaryRate:P0} |"));
        Console.WriteLine(engineRate > 0
            ? Invariant($"| ClickHouse Kafka table engine (AvroConfluent) + MVs | {engineRate:N0} | {engineRate / binaryRate:P0} (sink is {sinkRate / engineRate:F1}x) |")
            : $"| ClickHouse Kafka table engine + MVs | n/a | {engineNote} |");
        Console.WriteLine();
        Console.WriteLine(Invariant($"| freshness at {rate:N0} samples/s for {seconds} s ({freshCount:N0} samples) | p50 {p50:N0} ms | p99 {p99:N0} ms |"));
        return 0;
    }

    private sealed record Stack(EmbeddedClickHouse ClickHouse, EmbeddedKafkaCluster Kafka, EmbeddedSchemaRegistry Registry, ClickHouseClient Client);

    private static Dictionary<string, string?> Settings(int batchRows, int batchDelayMs, int inserts) => new()
    {
        ["Sink:BatchMaxRows"] = batchRows.ToString(CultureInfo.InvariantCulture),
        ["Sink:BatchMaxDelay"] = TimeSpan.FromMilliseconds(batchDelayMs).ToString("c", CultureInfo.InvariantCulture),
        ["Sink:MaxConcurrentInserts"] = inserts.ToString(CultureInfo.InvariantCulture),
    };

    private static async Task<double> MeasureSinkAsync(Stack stack, string topic, int samples, long disks, long interfaces, Dictionary<string, string?> settings)
    {
        const string db = "bench_sink";
        await using var app = await StartSinkAsync(stack, topic, db, "bench-sink", settings);
        var worker = app.Services.GetRequiredService<SinkWorker>();
        await WaitAsync(() => Task.FromResult(worker.Prepared && worker.AssignedPartitions > 0), TimeSpan.FromSeconds(60));
        var clock = Stopwatch.StartNew();
        await WaitAsync(async () => await CountAsync(stack.Client, $"SELECT count() FROM {db}.metrics_interfaces") >= (ulong)interfaces
            && await CountAsync(stack.Client, $"SELECT count() FROM {db}.metrics_disks") >= (ulong)disks
            && await CountAsync(stack.Client, $"SELECT count() FROM {db}.metrics_samples") >= (ulong)samples, TimeSpan.FromMinutes(5));
        var elapsed = clock.Elapsed.TotalSeconds;
        Console.WriteLine(Invariant($"sink: {samples:N0} samples in {elapsed:F2} s (from assignment to the last row queryable)"));
        await app.StopAsync();
        await PrintStorageAsync(stack, db, samples);
        return samples / elapsed;
    }

    /// <summary>
    /// Bytes on disk per table after the load (parts merged first), and what that means per agent per day at one sample
    /// every 5 s (17,280 samples): the estimate behind the retention defaults in docs/clickhouse.md.
    /// </summary>
    private static async Task PrintStorageAsync(Stack stack, string db, int samples)
    {
        foreach (var table in new[] { "metrics_samples", "metrics_disks", "metrics_interfaces", "metrics_1m", "metrics_1h", "agent_state", "sink_batches" })
        {
            await stack.Client.ExecuteNonQueryAsync($"OPTIMIZE TABLE {db}.{table} FINAL");
        }

        // Per agent per day: raw tables scale with samples (17,280 a day at 5 s), rollups with their rows (1,440 minutes, 24 hours).
        Console.WriteLine("| table | rows | bytes on disk | bytes per row | per agent per day |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        using var reader = await stack.Client.ExecuteReaderAsync($"SELECT table, sum(rows), sum(bytes_on_disk) FROM system.parts WHERE database = '{db}' AND active GROUP BY table ORDER BY table");
        while (reader.Read())
        {
            var rows = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
            var bytes = Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture);
            var table = reader.GetString(0);
            var perDay = table switch
            {
                "metrics_1m" => (double)bytes / Math.Max(1, rows) * 1_440,
                "metrics_1h" => (double)bytes / Math.Max(1, rows) * 24,
                "agent_state" or "sink_batches" => double.NaN,
                _ => (double)bytes / samples * 17_280,
            };
            Console.WriteLine(Invariant($"| {table} | {rows:N0} | {bytes:N0} | {(double)bytes / Math.Max(1, rows):F1} | {(double.IsNaN(perDay) ? "-" : (perDay / 1024).ToString("N0", CultureInfo.InvariantCulture) + " KiB")} |"));
        }
    }

    /// <summary>How fast the embedded Kafka alone hands the topic to a consumer on this machine (the floor under the sink).</summary>
    private static double MeasureKafkaRead(Stack stack, string topic, int samples)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = stack.Kafka.BootstrapServers, GroupId = "bench-read", AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(topic);
        var first = consumer.Consume(TimeSpan.FromSeconds(30)) ?? throw new TimeoutException("No record read from " + topic);
        var clock = Stopwatch.StartNew();
        var read = 1;
        while (read < samples && consumer.Consume(TimeSpan.FromSeconds(10)) is not null) read++;
        var elapsed = clock.Elapsed.TotalSeconds;
        consumer.Close();
        _ = first;
        return read / elapsed;
    }

    private static async Task<WebApplication> StartSinkAsync(Stack stack, string topic, string db, string group, Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Benchmark" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = stack.Kafka.BootstrapServers,
            ["Kafka:SchemaRegistryUrl"] = stack.Registry.Url.ToString(),
            ["ClickHouse:ConnectionString"] = stack.ClickHouse.ConnectionString,
            ["Sink:GroupId"] = group,
            ["Sink:MetricsTopic"] = topic,
            ["Sink:PresenceTopic"] = topic + "-presence",
            ["Sink:DeadLetterTopic"] = topic + "-dlq",
            ["Sink:CommandResultsTopic"] = "",
            ["Sink:Database"] = db,
            ["Sink:OpsAddress"] = "127.0.0.1",
            ["Sink:OpsPort"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
        });
        builder.Configuration.AddInMemoryCollection(settings);
        stack.Kafka.CreateTopic(topic + "-presence", 1);
        builder.Services.AddSingleton<ITopicProvisioner>(new MockClusterTopicProvisioner(stack.Kafka));
        builder.AddSink();
        var app = builder.Build();
        app.MapSink();
        await app.StartAsync();
        return app;
    }

    /// <summary>The same rows inserted straight from memory: object[] rows through InsertBinaryAsync, and RowBinary bytes through InsertRawStreamAsync.</summary>
    private static async Task<(double Binary, double RowBinary)> MeasureDriverAsync(Stack stack, List<byte[]> records)
    {
        const string binaryDb = "bench_driver_binary";
        const string rawDb = "bench_driver_rowbinary";
        await new MigrationRunner(stack.Client, NullLogger.Instance).ApplyAsync(binaryDb, 30, 365, CancellationToken.None);
        await new MigrationRunner(stack.Client, NullLogger.Instance).ApplyAsync(rawDb, 30, 365, CancellationToken.None);
        const int batch = 50_000;

        // Rows decoded up front (not timed), in the sink's batch size.
        var sample = new MetricsSample();
        var batches = new List<(List<object[]> Samples, List<object[]> Disks, List<object[]> Interfaces)>();
        for (var start = 0; start < records.Count; start += batch)
        {
            var s = new List<object[]>();
            var d = new List<object[]>();
            var n = new List<object[]>();
            for (var i = start; i < Math.Min(records.Count, start + batch); i++)
            {
                MetricsAvroReader.Read(records[i], sample);
                var agentTime = DateTimeOffset.FromUnixTimeMilliseconds(sample.AgentTimeMs).UtcDateTime;
                var receivedTime = DateTimeOffset.FromUnixTimeMilliseconds(sample.ReceivedTimeMs).UtcDateTime;
                s.Add([sample.AgentId, sample.ConnectorId, sample.SessionId, agentTime, receivedTime,
                    sample.CpuUsagePercent, sample.RamUsagePercent, sample.RamUsedGb, sample.UptimeSeconds, sample.Load1m!, sample.Load5m!, sample.Load15m!,
                    sample.DiskReadSpeedMbps!, sample.DiskWriteSpeedMbps!, (ushort)sample.Disks.Count, (ushort)sample.NetworkInterfaces.Count, false, (ushort)0, (ulong)i]);
                var k = 0;
                foreach (var disk in sample.Disks.AsSpan())
                {
                    d.Add([sample.AgentId, agentTime, receivedTime, (ushort)k++, disk.Device.Value, disk.Mountpoint.Value, disk.Fstype.Value, disk.TotalGb, disk.UsedGb, disk.UsagePercent, (ushort)0, (ulong)i]);
                }

                k = 0;
                foreach (var nic in sample.NetworkInterfaces.AsSpan())
                {
                    n.Add([sample.AgentId, agentTime, receivedTime, (ushort)k++, nic.Name.Value, nic.Mac.Value, nic.Ipv4.Value, nic.Ipv6.Value, nic.UploadSpeedMbps, nic.DownloadSpeedMbps, (ushort)0, (ulong)i]);
                }
            }

            batches.Add((s, d, n));
        }

        var options = new InsertOptions { BatchSize = 1_000_000, MaxDegreeOfParallelism = 1 };
        var clock = Stopwatch.StartNew();
        foreach (var (s, d, n) in batches)
        {
            await stack.Client.InsertBinaryAsync($"{binaryDb}.metrics_samples", SinkTables.MetricsSamples.Columns, s, options);
            await stack.Client.InsertBinaryAsync($"{binaryDb}.metrics_disks", SinkTables.MetricsDisks.Columns, d, options);
            await stack.Client.InsertBinaryAsync($"{binaryDb}.metrics_interfaces", SinkTables.MetricsInterfaces.Columns, n, options);
        }

        var binary = records.Count / clock.Elapsed.TotalSeconds;
        Console.WriteLine(Invariant($"driver InsertBinaryAsync: {records.Count:N0} samples in {clock.Elapsed.TotalSeconds:F2} s"));

        var encoded = new List<RowBinaryBuffer[]>();
        for (var start = 0; start < records.Count; start += batch)
        {
            var buffers = new[] { new RowBinaryBuffer(), new RowBinaryBuffer(), new RowBinaryBuffer() };
            for (var i = start; i < Math.Min(records.Count, start + batch); i++)
            {
                RecordDecoder.AppendMetrics(records[i].AsSpan(ConfluentWireFormat.HeaderSize), 0, (ulong)i, buffers[0], buffers[1], buffers[2]);
            }

            encoded.Add(buffers);
        }

        using var meters = new MeterFactory();
        using var loader = new ClickHouseLoader(new ClickHouseClient(stack.ClickHouse.ConnectionString), rawDb, TimeSpan.FromSeconds(60), new SinkMetrics(meters), NullLogger.Instance);
        clock.Restart();
        var token = 0;
        foreach (var buffers in encoded)
        {
            token++;
            for (var t = 0; t < 3; t++) await loader.InsertAsync(SinkTables.Metrics[t], buffers[t], "bench:" + token.ToString(CultureInfo.InvariantCulture), CancellationToken.None);
        }

        var rowBinary = records.Count / clock.Elapsed.TotalSeconds;
        Console.WriteLine(Invariant($"driver InsertRawStreamAsync RowBinary: {records.Count:N0} samples in {clock.Elapsed.TotalSeconds:F2} s"));
        foreach (var buffers in encoded)
        {
            foreach (var b in buffers) b.Dispose();
        }

        return (binary, rowBinary);
    }

    /// <summary>ClickHouse's Kafka table engine reading the same topic (AvroConfluent through the registry) into the same tables through MVs.</summary>
    private static async Task<(double Rate, string Note)> MeasureKafkaEngineAsync(Stack stack, string topic, int samples)
    {
        const string db = "bench_kafka_engine";
        try
        {
            await new MigrationRunner(stack.Client, NullLogger.Instance).ApplyAsync(db, 30, 365, CancellationToken.None);
            await stack.Client.ExecuteNonQueryAsync($"""
                CREATE TABLE {db}.kafka_metrics
                (
                    agent_id String, connector_id String, session_id String,
                    agent_time DateTime64(3, 'UTC'), received_time DateTime64(3, 'UTC'),
                    cpu_usage_percent Float64, ram_usage_percent Float64, ram_used_gb Float64, uptime_seconds Int64,
                    load_1m Nullable(Float64), load_5m Nullable(Float64), load_15m Nullable(Float64),
                    disk_read_speed_mbps Nullable(Float64), disk_write_speed_mbps Nullable(Float64),
                    disks Array(Tuple(device String, mountpoint String, fstype String, total_gb Float64, used_gb Float64, usage_percent Float64)),
                    network_interfaces Array(Tuple(name String, mac String, ipv4 String, ipv6 String, upload_speed_mbps Float64, download_speed_mbps Float64))
                )
                ENGINE = Kafka
                SETTINGS kafka_broker_list = '{stack.Kafka.BootstrapServers}', kafka_topic_list = '{topic}', kafka_group_name = 'bench-ch-engine',
                         kafka_format = 'AvroConfluent', format_avro_schema_registry_url = '{stack.Registry.Url.ToString().TrimEnd('/')}',
                         kafka_num_consumers = 1, kafka_max_block_size = 65536, kafka_flush_interval_ms = 1000
                """);
            await stack.Client.ExecuteNonQueryAsync($"""
                CREATE MATERIALIZED VIEW {db}.kafka_to_samples TO {db}.metrics_samples AS
                SELECT agent_id, connector_id, session_id, agent_time, received_time, cpu_usage_percent, ram_usage_percent, ram_used_gb, uptime_seconds,
                       load_1m, load_5m, load_15m, disk_read_speed_mbps, disk_write_speed_mbps,
                       toUInt16(length(disks)) AS disk_count, toUInt16(length(network_interfaces)) AS interface_count,
                       toUInt16(_partition) AS kafka_partition, _offset AS kafka_offset
                FROM {db}.kafka_metrics
                """);
            await stack.Client.ExecuteNonQueryAsync($"""
                CREATE MATERIALIZED VIEW {db}.kafka_to_disks TO {db}.metrics_disks AS
                SELECT agent_id, agent_time, toUInt16(i - 1) AS disk_index, d.1 AS device, d.2 AS mountpoint, d.3 AS fstype, d.4 AS total_gb, d.5 AS used_gb, d.6 AS usage_percent,
                       toUInt16(_partition) AS kafka_partition, _offset AS kafka_offset
                FROM {db}.kafka_metrics ARRAY JOIN disks AS d, arrayEnumerate(disks) AS i
                """);
            await stack.Client.ExecuteNonQueryAsync($"""
                CREATE MATERIALIZED VIEW {db}.kafka_to_interfaces TO {db}.metrics_interfaces AS
                SELECT agent_id, agent_time, toUInt16(i - 1) AS interface_index, n.1 AS name, n.2 AS mac, n.3 AS ipv4, n.4 AS ipv6, n.5 AS upload_speed_mbps, n.6 AS download_speed_mbps,
                       toUInt16(_partition) AS kafka_partition, _offset AS kafka_offset
                FROM {db}.kafka_metrics ARRAY JOIN network_interfaces AS n, arrayEnumerate(network_interfaces) AS i
                """);
            var clock = Stopwatch.StartNew();
            var last = 0ul;
            var lastChange = Stopwatch.StartNew();
            while (true)
            {
                var count = await CountAsync(stack.Client, $"SELECT count() FROM {db}.metrics_samples");
                if (count >= (ulong)samples) break;
                if (count != last)
                {
                    last = count;
                    lastChange.Restart();
                }

                if (lastChange.Elapsed > TimeSpan.FromSeconds(45))
                {
                    var errors = await stack.Client.ExecuteScalarAsync($"SELECT concat(toString(num_messages_read), ' messages read; last exception: ', arrayStringConcat(arraySlice(exceptions.text, -1), '')) FROM system.kafka_consumers WHERE database = '{db}' LIMIT 1");
                    return (0, $"stalled at {last:N0}/{samples:N0} rows after {clock.Elapsed.TotalSeconds:F0} s ({errors})");
                }

                await Task.Delay(100);
            }

            var elapsed = clock.Elapsed.TotalSeconds;
            Console.WriteLine(Invariant($"Kafka engine: {samples:N0} samples in {elapsed:F2} s (from CREATE to the last row queryable)"));
            await stack.Client.ExecuteNonQueryAsync($"DROP TABLE {db}.kafka_metrics");
            return (samples / elapsed, "");
        }
        catch (Exception e) when (e is ClickHouseServerException or HttpRequestException)
        {
            return (0, "failed: " + e.Message.Split('\n')[0]);
        }
    }

    /// <summary>Samples produced at a steady rate with received_time = send time; freshness = inserted_at - received_time.</summary>
    private static async Task<(double P50, double P99, ulong Count)> MeasureFreshnessAsync(Stack stack, int partitions, int rate, int seconds, Dictionary<string, string?> settings)
    {
        const string db = "bench_fresh";
        var topic = "bench-fresh";
        stack.Kafka.CreateTopic(topic, partitions);
        var schemaId = await RegisterAsync(stack.Registry, topic, AvroSchemas.MetricsSample.Json);
        await using (var app = await StartSinkAsync(stack, topic, db, "bench-fresh", settings))
        {
            var worker = app.Services.GetRequiredService<SinkWorker>();
            await WaitAsync(() => Task.FromResult(worker.Prepared && worker.AssignedPartitions > 0), TimeSpan.FromSeconds(60));
            var (records, _, _, _) = await ProduceAsync(stack.Kafka, topic, schemaId, rate * seconds, rate, null);
            await WaitAsync(async () => await CountAsync(stack.Client, $"SELECT count() FROM {db}.metrics_samples") >= (ulong)records.Count, TimeSpan.FromMinutes(2));
            await app.StopAsync();
        }

        using var reader = await stack.Client.ExecuteReaderAsync($"SELECT quantileExact(0.5)(d), quantileExact(0.99)(d), count() FROM (SELECT toUnixTimestamp64Milli(inserted_at) - toUnixTimestamp64Milli(received_time) AS d FROM {db}.metrics_samples)");
        reader.Read();
        return (Convert.ToDouble(reader.GetValue(0), CultureInfo.InvariantCulture), Convert.ToDouble(reader.GetValue(1), CultureInfo.InvariantCulture), Convert.ToUInt64(reader.GetValue(2), CultureInfo.InvariantCulture));
    }

    /// <summary>Produces <paramref name="count"/> samples (as fast as possible, or at <paramref name="rate"/>/s with received_time = now).</summary>
    private static async Task<(List<byte[]> Records, long Disks, long Interfaces, long Bytes)> ProduceAsync(EmbeddedKafkaCluster kafka, string topic, int schemaId, int count, int rate, DateTime? start)
    {
        var records = new List<byte[]>(count);
        var writer = new MetricsAvroWriter(schemaId);
        var buffer = new ArrayBufferWriter<byte>();
        long disks = 0, interfaces = 0, bytes = 0;
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers, EnableIdempotence = true, Acks = Acks.All, LingerMs = 5, CompressionType = CompressionType.Lz4, BatchSize = 1_000_000,
        }).Build();
        var clock = Stopwatch.StartNew();
        var failed = 0;
        for (var i = 0; i < count; i++)
        {
            if (rate > 0)
            {
                var due = TimeSpan.FromSeconds((double)i / rate);
                if (due > clock.Elapsed) await Task.Delay(due - clock.Elapsed);
            }

            var sample = Sample(i, start);
            buffer.ResetWrittenCount();
            writer.Write(sample, buffer);
            var value = buffer.WrittenSpan.ToArray();
            records.Add(value);
            disks += sample.Disks.Count;
            interfaces += sample.NetworkInterfaces.Count;
            bytes += value.Length;
            producer.Produce(topic, new Message<string, byte[]> { Key = sample.AgentId, Value = value }, r =>
            {
                if (r.Error.IsError) Interlocked.Increment(ref failed);
            });
        }

        producer.Flush(TimeSpan.FromSeconds(60));
        if (failed > 0) throw new InvalidOperationException($"{failed} records were not acknowledged by Kafka.");
        return (records, disks, interfaces, bytes);
    }

    private static MetricsSample Sample(int i, DateTime? start)
    {
        var agent = i % 2_000;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var s = new MetricsSample
        {
            AgentId = "agent-" + agent.ToString("D5", CultureInfo.InvariantCulture),
            ConnectorId = "connector-" + (agent % 4).ToString(CultureInfo.InvariantCulture),
            SessionId = "session-" + agent.ToString(CultureInfo.InvariantCulture),
            AgentTimeMs = start is { } t ? new DateTimeOffset(t).ToUnixTimeMilliseconds() + (i / 2_000 * 5_000L) : now,
            CpuUsagePercent = i % 1000 / 10.0,
            RamUsagePercent = i * 7 % 1000 / 10.0,
            RamUsedGb = 4 + (i % 16),
            UptimeSeconds = 100_000 + i,
            Load1m = i % 10 == 0 ? null : 0.5,
            Load5m = 0.4,
            Load15m = 0.3,
            DiskReadSpeedMbps = i % 3,
            DiskWriteSpeedMbps = i % 5,
        };
        s.ReceivedTimeMs = start is null ? now : s.AgentTimeMs + 5;
        for (var d = 0; d < 2; d++)
        {
            var disk = s.Disks.Add();
            disk.Device.Set(d == 0 ? "/dev/sda1" : "/dev/sdb1");
            disk.Mountpoint.Set(d == 0 ? "/" : "/data");
            disk.Fstype.Set("ext4");
            disk.TotalGb = 500;
            disk.UsedGb = 100 + (i % 300);
            disk.UsagePercent = disk.UsedGb / 5;
        }

        var nic = s.NetworkInterfaces.Add();
        nic.Name.Set("eth0");
        nic.Mac.Set("02:00:00:00:00:01");
        nic.Ipv4.Set("10.0.0.1");
        nic.Ipv6.Set("");
        nic.UploadSpeedMbps = i % 100;
        nic.DownloadSpeedMbps = i % 200;
        return s;
    }

    private static async Task<int> RegisterAsync(EmbeddedSchemaRegistry registry, string topic, string schema)
    {
        using var client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = registry.Url.ToString() });
        return await client.RegisterSchemaAsync(topic + "-value", new Schema(schema, SchemaType.Avro));
    }

    private static async Task<ulong> CountAsync(ClickHouseClient client, string sql) =>
        Convert.ToUInt64(await client.ExecuteScalarAsync(sql), CultureInfo.InvariantCulture);

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout) throw new TimeoutException($"Benchmark step did not finish within {timeout}.");
            await Task.Delay(50);
        }
    }


    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private sealed class MeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        private readonly List<System.Diagnostics.Metrics.Meter> _meters = [];

        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
        {
            var meter = new System.Diagnostics.Metrics.Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in _meters) meter.Dispose();
        }
    }
}
