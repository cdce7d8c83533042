using System.Globalization;
using ClickHouse.Driver;
using Confluent.SchemaRegistry;
using StreamPipeline.Embedded.ClickHouse;
using StreamPipeline.Embedded.Kafka;
using StreamPipeline.Embedded.SchemaRegistry;
using StreamPipeline.Protocol;

namespace StreamPipeline.Sink.Tests.Infrastructure;

/// <summary>
/// The embedded stack for the whole test assembly: one ClickHouse (chDB is process-global) on a fresh temporary
/// DataPath, one Kafka mock cluster of 3 brokers, one Schema Registry. Each test uses its own database, topics and group.
/// </summary>
public sealed class SinkFixture : IAsyncLifetime
{
    private int _counter;

    public EmbeddedClickHouse ClickHouse { get; private set; } = null!;

    public EmbeddedKafkaCluster Kafka { get; private set; } = null!;

    public EmbeddedSchemaRegistry Registry { get; private set; } = null!;

    public ClickHouseClient Client { get; private set; } = null!;

    public string DataPath { get; } = Path.Combine(Path.GetTempPath(), "sp-sink-tests-" + Guid.NewGuid().ToString("N"));

    public async Task InitializeAsync()
    {
        ClickHouse = await EmbeddedClickHouse.StartAsync(new EmbeddedClickHouseOptions
        {
            Port = 0,
            DataPath = DataPath,
            MaxServerMemoryBytes = 3L << 30,
            MarkCacheBytes = 64L << 20,
            MaxConcurrentQueries = 8,
        });
        Client = new ClickHouseClient(ClickHouse.ConnectionString);
        Kafka = EmbeddedKafkaCluster.Start(new EmbeddedKafkaOptions { BrokerCount = 3 });
        Registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Registry.DisposeAsync();
        Kafka.Dispose();
        await ClickHouse.DisposeAsync();
        try
        {
            Directory.Delete(DataPath, recursive: true);
        }
        catch (IOException)
        {
            // The engine keeps files open until the process exits.
        }
    }

    /// <summary>A unique lower-case name for a test's database, topic or group.</summary>
    public string Unique(string prefix) => string.Create(CultureInfo.InvariantCulture, $"{prefix}_{Interlocked.Increment(ref _counter)}_{Guid.NewGuid().ToString("N")[..6]}");

    /// <summary>Creates the metrics and presence topics of one test and registers their schemas; returns names and schema ids.</summary>
    public async Task<TestTopics> CreateTopicsAsync(string prefix, int metricsPartitions = 4, int presencePartitions = 2)
    {
        var metrics = Unique(prefix + "-metrics");
        var presence = Unique(prefix + "-presence");
        var deadLetter = Unique(prefix + "-dlq");
        var commandResults = Unique(prefix + "-results");
        var connectorDeadLetter = Unique(prefix + "-connector-dlq");
        var credentialAudit = Unique(prefix + "-credential-audit");
        Kafka.CreateTopic(commandResults, 1);
        Kafka.CreateTopic(credentialAudit, 1);
        Kafka.CreateTopic(connectorDeadLetter, 1);
        Kafka.CreateTopic(metrics, metricsPartitions);
        Kafka.CreateTopic(presence, presencePartitions);
        Kafka.CreateTopic(deadLetter, 1);
        using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = Registry.Url.ToString() });
        var metricsId = await registry.RegisterSchemaAsync(metrics + "-value", new Confluent.SchemaRegistry.Schema(AvroSchemas.MetricsSample.Json, SchemaType.Avro));
        var presenceId = await registry.RegisterSchemaAsync(presence + "-value", new Confluent.SchemaRegistry.Schema(AvroSchemas.AgentPresence.Json, SchemaType.Avro));
        return new TestTopics(metrics, presence, deadLetter, metricsId, presenceId, commandResults, connectorDeadLetter, credentialAudit);
    }

    public async Task<ulong> CountAsync(string sql) =>
        Convert.ToUInt64(await Client.ExecuteScalarAsync(sql), CultureInfo.InvariantCulture);

    /// <summary>Waits until <c>SELECT count()</c> of a table reaches <paramref name="expected"/>.</summary>
    public Task WaitForCountAsync(string table, ulong expected, TimeSpan timeout) =>
        StreamPipeline.Testing.Eventually.ReturnsAsync(() => CountAsync($"SELECT count() FROM {table}"), n => n >= expected, timeout, $"{expected} rows in {table}");
}

/// <param name="ConnectorDeadLetter">The test's stand-in for the connector's <c>agent-metrics-dlq</c>.</param>
/// <param name="CredentialAudit">The test's stand-in for <c>credential-audit</c> (spctl tokens' audit events).</param>
public sealed record TestTopics(string Metrics, string Presence, string DeadLetter, int MetricsSchemaId, int PresenceSchemaId, string CommandResults, string ConnectorDeadLetter,
    string CredentialAudit);

[CollectionDefinition(Name)]
public sealed class SinkCollection : ICollectionFixture<SinkFixture>
{
    public const string Name = "embedded-stack";
}
