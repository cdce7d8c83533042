using Confluent.Kafka;

namespace StreamPipeline.Kafka.Topics;

/// <summary>A topic's partition count, read from the cluster (one home for what each service used to write itself).</summary>
public static class TopicPartitions
{
    /// <summary>
    /// The partition count of <paramref name="topic"/>, asked through an existing client's connection.
    /// </summary>
    /// <exception cref="KafkaException">Kafka did not answer within <paramref name="timeout"/> (transient: retry).</exception>
    /// <exception cref="TopicMissingException">The topic does not exist or has no partitions (permanent: create it).</exception>
    public static int PartitionCount(Handle client, string topic, TimeSpan? timeout = null)
    {
        using var admin = new DependentAdminClientBuilder(client).Build();
        return Read(admin, topic, timeout);
    }

    /// <inheritdoc cref="PartitionCount(Handle, string, TimeSpan?)"/>
    public static int PartitionCount(ClientConfig config, string topic, TimeSpan? timeout = null)
    {
        using var admin = new AdminClientBuilder(config).Build();
        return Read(admin, topic, timeout);
    }

    private static int Read(IAdminClient admin, string topic, TimeSpan? timeout)
    {
        var metadata = admin.GetMetadata(topic, timeout ?? TimeSpan.FromSeconds(10));
        var t = metadata.Topics.Find(x => x.Topic == topic);
        if (t is not null && t.Error.Code == ErrorCode.NoError && t.Partitions.Count > 0) return t.Partitions.Count;
        if (t is not null && t.Error.Code is not (ErrorCode.UnknownTopicOrPart or ErrorCode.NoError or ErrorCode.TopicAuthorizationFailed))
        {
            // Leader elections and the like: ask again.
            throw new KafkaException(t.Error);
        }

        throw new TopicMissingException(topic, t?.Error.Reason ?? "no metadata");
    }
}

/// <summary>A topic a service needs does not exist: create it (docs/kafka-topics.md) or fix the topic setting.</summary>
public sealed class TopicMissingException(string topic, string reason)
    : Exception($"Topic '{topic}' is missing or unreadable ({reason}). Create it as docs/kafka-topics.md lists, or fix the topic setting.")
{
    public string Topic { get; } = topic;
}
