using StreamPipeline.Embedded.ClickHouse;
using StreamPipeline.Embedded.Kafka;
using StreamPipeline.Embedded.SchemaRegistry;
using StreamPipeline.Kafka.Topics;

namespace StreamPipeline.Deployment.Tests.Infrastructure;

/// <summary>Kafka (with every pipeline topic), Schema Registry and ClickHouse in the test process, for services run as child processes.</summary>
public sealed class EmbeddedStackFixture : IAsyncLifetime
{
    public EmbeddedKafkaCluster Kafka { get; private set; } = null!;
    public EmbeddedSchemaRegistry Registry { get; private set; } = null!;
    public EmbeddedClickHouse ClickHouse { get; private set; } = null!;
    public string DataPath { get; } = Repository.TempDirectory("sp-deploy-tests");

    public async Task InitializeAsync()
    {
        Kafka = EmbeddedKafkaCluster.Start(new EmbeddedKafkaOptions { BrokerCount = 1 });
        await new MockClusterTopicProvisioner(Kafka).EnsureTopicsAsync(PipelineTopics.All(), CancellationToken.None);
        Registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
        ClickHouse = await EmbeddedClickHouse.StartAsync(new EmbeddedClickHouseOptions
        {
            Port = 0,
            DataPath = Path.Combine(DataPath, "clickhouse"),
            MaxServerMemoryBytes = 2L << 30,
            MarkCacheBytes = 64L << 20,
            MaxConcurrentQueries = 8,
        });
    }

    /// <summary>The settings every service needs to reach this stack (Section:Key form).</summary>
    public Dictionary<string, string?> CommonSettings() => new()
    {
        ["Kafka:BootstrapServers"] = Kafka.BootstrapServers,
        ["Kafka:SchemaRegistryUrl"] = Registry.Url.ToString(),
        ["ClickHouse:ConnectionString"] = ClickHouse.ConnectionString,
    };

    public async Task DisposeAsync()
    {
        await ClickHouse.DisposeAsync();
        await Registry.DisposeAsync();
        Kafka.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class EmbeddedStackCollection : ICollectionFixture<EmbeddedStackFixture>
{
    public const string Name = "deployment-embedded-stack";
}
