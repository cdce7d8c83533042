using Microsoft.Extensions.Logging;
using StreamPipeline.Embedded.ClickHouse;
using StreamPipeline.Embedded.Kafka;
using StreamPipeline.Embedded.SchemaRegistry;
using StreamPipeline.Kafka.Topics;

namespace StreamPipeline.LocalStack;

/// <summary>Kafka (mock cluster), Schema Registry and ClickHouse (chDB), all in this process, on loopback.</summary>
internal sealed class EmbeddedInfrastructure : IAsyncDisposable
{
    private EmbeddedInfrastructure(EmbeddedKafkaCluster kafka, EmbeddedSchemaRegistry registry, EmbeddedClickHouse clickHouse)
    {
        Kafka = kafka;
        SchemaRegistry = registry;
        ClickHouse = clickHouse;
    }

    public EmbeddedKafkaCluster Kafka { get; }
    public EmbeddedSchemaRegistry SchemaRegistry { get; }
    public EmbeddedClickHouse ClickHouse { get; }

    public static async Task<EmbeddedInfrastructure> StartAsync(LocalStackOptions options, ILoggerFactory loggerFactory, CancellationToken ct)
    {
        var kafka = EmbeddedKafkaCluster.Start(new EmbeddedKafkaOptions { BrokerCount = options.KafkaBrokers });
        EmbeddedSchemaRegistry? registry = null;
        try
        {
            await new MockClusterTopicProvisioner(kafka).EnsureTopicsAsync(PipelineTopics.All(), ct);
            registry = await EmbeddedSchemaRegistry.StartAsync(
                new EmbeddedSchemaRegistryOptions { Port = options.SchemaRegistryPort, LoggerFactory = loggerFactory }, ct);
            var clickHouse = await EmbeddedClickHouse.StartAsync(
                new EmbeddedClickHouseOptions { Port = options.ClickHousePort, DataPath = options.ClickHouseDataPath, LoggerFactory = loggerFactory }, ct);
            return new EmbeddedInfrastructure(kafka, registry, clickHouse);
        }
        catch
        {
            if (registry is not null) await registry.DisposeAsync();
            kafka.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ClickHouse.DisposeAsync();
        await SchemaRegistry.DisposeAsync();
        Kafka.Dispose();
    }
}
