using StreamPipeline.Kafka.Topics;

namespace StreamPipeline.Embedded.Kafka;

/// <summary>
/// Creates topics through the mock cluster's own API (the mock refuses the AdminClient's CreateTopics).
/// Topic configs are ignored: the mock has none.
/// </summary>
public sealed class MockClusterTopicProvisioner(EmbeddedKafkaCluster cluster) : ITopicProvisioner
{
    public Task EnsureTopicsAsync(IReadOnlyList<TopicSpec> topics, CancellationToken cancellationToken)
    {
        foreach (var topic in topics)
        {
            cancellationToken.ThrowIfCancellationRequested();
            cluster.CreateTopic(topic.Name, topic.Partitions, topic.ReplicationFactor);
        }

        return Task.CompletedTask;
    }
}
