namespace StreamPipeline.Kafka.Topics;

/// <summary>
/// Creates the topics the pipeline needs. Against real Kafka this is the AdminClient
/// (<see cref="AdminClientTopicProvisioner"/>); against the embedded librdkafka mock cluster it is the
/// mock API, because the mock refuses CreateTopics.
/// </summary>
public interface ITopicProvisioner
{
    /// <summary>Creates each topic that does not exist yet; an existing topic is left as it is.</summary>
    Task EnsureTopicsAsync(IReadOnlyList<TopicSpec> topics, CancellationToken cancellationToken);
}
