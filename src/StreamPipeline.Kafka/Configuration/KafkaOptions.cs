using Confluent.Kafka;

namespace StreamPipeline.Kafka.Configuration;

/// <summary>How a service reaches Kafka and the Schema Registry (configuration section <c>Kafka</c>).</summary>
public sealed class KafkaOptions
{
    public const string Section = "Kafka";

    /// <summary>Comma-separated <c>host:port</c> list. Required.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>Schema Registry base URL, e.g. <c>http://127.0.0.1:8081</c>. Required.</summary>
    public string SchemaRegistryUrl { get; set; } = "";

    /// <summary>Create missing topics at start through the AdminClient. Off against the embedded mock, which refuses it.</summary>
    public bool CreateTopics { get; set; }

    /// <summary>Compression of produced batches. Default lz4.</summary>
    public CompressionType Compression { get; set; } = CompressionType.Lz4;

    /// <summary>
    /// Extra librdkafka settings (e.g. <c>security.protocol</c>, <c>sasl.mechanism</c>, <c>fetch.wait.max.ms</c>)
    /// applied to every client: producers, consumers, admin clients and spctl. One rule: what an operator sets here
    /// wins over every default of ours, including settings a service changes on the config after creating it
    /// (see <see cref="OperatorPinnedDictionary"/>).
    /// </summary>
    public Dictionary<string, string> Client { get; set; } = [];

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(BootstrapServers))
            errors.Add("Kafka:BootstrapServers is required (e.g. 'kafka-1:9092,kafka-2:9092'; env StreamPipeline__Kafka__BootstrapServers).");
        if (!Uri.TryCreate(SchemaRegistryUrl, UriKind.Absolute, out var u) || (u.Scheme != "http" && u.Scheme != "https"))
            errors.Add($"Kafka:SchemaRegistryUrl must be an absolute http(s) URL (e.g. 'http://schema-registry:8081'), got '{SchemaRegistryUrl}'.");
        return errors;
    }

    /// <summary>An idempotent producer: acks=all, retries that keep order and never duplicate.</summary>
    public ProducerConfig ProducerConfig(string clientId)
    {
        var c = new ProducerConfig
        {
            BootstrapServers = BootstrapServers,
            ClientId = clientId,
            EnableIdempotence = true,
            Acks = Acks.All,
            CompressionType = Compression,
            LingerMs = 5,
            BatchSize = 1_000_000,
        };
        return WithClientSettings(c);
    }

    /// <summary>A consumer that commits only what the caller says it has processed.</summary>
    public ConsumerConfig ConsumerConfig(string groupId, string clientId)
    {
        return WithClientSettings(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = groupId,
            ClientId = clientId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            // Range assignment: with the embedded mock, cooperative-sticky left partitions unowned for 17-28 s after a member died.
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range,
            SessionTimeoutMs = 10_000,
            HeartbeatIntervalMs = 1_000,
        });
    }

    /// <summary>An admin client (metadata, topic creation) with the same security settings as every other client.</summary>
    public AdminClientConfig AdminConfig(string clientId) =>
        WithClientSettings(new AdminClientConfig { BootstrapServers = BootstrapServers, ClientId = clientId });

    private T WithClientSettings<T>(T config) where T : ClientConfig
    {
        var pinned = new OperatorPinnedDictionary(Client);
        foreach (var (key, value) in config) pinned.SetDefault(key, value);
        // The config is rebuilt over a dictionary that keeps the operator's values whatever is set afterwards.
        return (T)(ClientConfig)(config switch
        {
            Confluent.Kafka.ProducerConfig => new Confluent.Kafka.ProducerConfig(pinned),
            Confluent.Kafka.ConsumerConfig => new Confluent.Kafka.ConsumerConfig(pinned),
            AdminClientConfig => new AdminClientConfig(pinned),
            _ => new ClientConfig(pinned),
        });
    }
}
