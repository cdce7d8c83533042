using Confluent.Kafka;
using StreamPipeline.Embedded.SchemaRegistry;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.Testing.Kafka;
using Xunit.Abstractions;

namespace StreamPipeline.EdgeConnector.Tests;

/// <summary>Kafka (embedded mock or Testcontainers) with the pipeline topics, and the embedded Schema Registry.</summary>
public sealed class ConnectorStackFixture(IMessageSink sink) : IAsyncLifetime
{
    public KafkaFixture Kafka { get; } = new(sink);
    public EmbeddedSchemaRegistry Registry { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Kafka.InitializeAsync();
        await Kafka.Topics.EnsureTopicsAsync(PipelineTopics.All(replicationFactor: 1), CancellationToken.None);
        Registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions());
    }

    public async Task DisposeAsync()
    {
        await Registry.DisposeAsync();
        await Kafka.DisposeAsync();
    }

    /// <summary>Reads a topic from the beginning until <paramref name="done"/> holds for what was read, or the deadline passes.</summary>
    public List<ConsumeResult<string, byte[]>> ReadUntil(string topic, Func<List<ConsumeResult<string, byte[]>>, bool> done, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = Kafka.BootstrapServers,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = Kafka.BootstrapServers }).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions;
        consumer.Assign(partitions.Select(p => new TopicPartitionOffset(topic, p.PartitionId, Offset.Beginning)));
        var read = new List<ConsumeResult<string, byte[]>>();
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (r is not null) { read.Add(r); continue; }
            if (done(read)) return read;
        }

        return read;
    }

    public void Describe(ITestOutputHelper output) => Kafka.Describe(output);
}
