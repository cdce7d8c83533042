using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace StreamPipeline.Kafka.Topics;

/// <summary>
/// Creates topics through Kafka's AdminClient; topics that already exist are accepted as they are. Services pass
/// <c>KafkaOptions.AdminConfig</c>, so the operator's security settings reach this client too.
/// </summary>
public sealed class AdminClientTopicProvisioner(AdminClientConfig config, TimeSpan? requestTimeout = null) : ITopicProvisioner
{
    private readonly TimeSpan _timeout = requestTimeout ?? TimeSpan.FromSeconds(30);
    private readonly string _bootstrapServers = config.BootstrapServers;

    public async Task EnsureTopicsAsync(IReadOnlyList<TopicSpec> topics, CancellationToken cancellationToken)
    {
        if (topics.Count == 0) return;
        using var admin = new AdminClientBuilder(config).Build();
        var specs = new List<TopicSpecification>(topics.Count);
        foreach (var t in topics)
        {
            specs.Add(new TopicSpecification
            {
                Name = t.Name,
                NumPartitions = t.Partitions,
                ReplicationFactor = t.ReplicationFactor,
                Configs = t.Configs?.ToDictionary(kv => kv.Key, kv => kv.Value),
            });
        }

        try
        {
            await admin.CreateTopicsAsync(specs, new CreateTopicsOptions { RequestTimeout = _timeout }).WaitAsync(cancellationToken);
        }
        catch (CreateTopicsException e)
        {
            foreach (var r in e.Results)
            {
                if (r.Error.Code is not (ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
                {
                    throw new InvalidOperationException(
                        $"Kafka refused to create topic '{r.Topic}' at {_bootstrapServers}: {r.Error.Reason} ({r.Error.Code}). " +
                        "Create it by hand with the partition count in docs/kafka-topics.md, or give the service's principal CreateTopics permission.", e);
                }
            }
        }
    }
}
