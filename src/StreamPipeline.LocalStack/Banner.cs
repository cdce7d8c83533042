using StreamPipeline.Kafka.Topics;

namespace StreamPipeline.LocalStack;

/// <summary>What <c>make run</c> prints: where everything listens and how to look at the data.</summary>
internal static class Banner
{
    public static void Print(EmbeddedInfrastructure infra)
    {
        Console.WriteLine($"""

            StreamPipeline is running on embedded infrastructure (Ctrl-C stops it).
              Kafka (librdkafka mock)  {infra.Kafka.BootstrapServers}
                topics                 {string.Join(", ", PipelineTopics.All().Select(t => $"{t.Name}({t.Partitions})"))}
              Schema Registry          {infra.SchemaRegistry.Url}
              ClickHouse (chDB 26.7)   {infra.ClickHouse.Url}

            Try:
              curl '{infra.SchemaRegistry.Url}subjects'
              curl '{infra.ClickHouse.Url}?query=SELECT+version()'

            """);
    }
}
