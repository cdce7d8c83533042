namespace StreamPipeline.Embedded.Kafka;

/// <summary>Options of the embedded Kafka (librdkafka's in-memory mock cluster).</summary>
public sealed class EmbeddedKafkaOptions
{
    /// <summary>Number of mock brokers, 1 to 16. Default 3, so one broker can be taken down in tests.</summary>
    public int BrokerCount { get; set; } = 3;

    /// <summary>
    /// Delay before a consumer group's first assignment. Default zero (the mock's own default waits 3 s,
    /// which only slows tests and local runs down).
    /// </summary>
    public TimeSpan InitialRebalanceDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Returns every problem with these options at once, each naming the setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (BrokerCount is < 1 or > 16)
            errors.Add($"EmbeddedKafka:BrokerCount must be between 1 and 16, got {BrokerCount}.");
        if (InitialRebalanceDelay < TimeSpan.Zero || InitialRebalanceDelay > TimeSpan.FromMinutes(5))
            errors.Add($"EmbeddedKafka:InitialRebalanceDelay must be between 0 and 5 minutes, got {InitialRebalanceDelay}.");
        return errors;
    }
}
