namespace StreamPipeline.Kafka.Topics;

/// <summary>A topic the pipeline needs: its name, partition count and (real Kafka only) configuration.</summary>
/// <param name="Name">Topic name.</param>
/// <param name="Partitions">Partition count; every agent-scoped record is keyed by agent id, so this bounds consumer parallelism.</param>
/// <param name="ReplicationFactor">Replication factor on real Kafka; the embedded mock caps it at its broker count.</param>
/// <param name="Configs">Topic configs such as <c>cleanup.policy=compact</c>; the embedded mock has no topic configs and ignores them.</param>
public sealed record TopicSpec(string Name, int Partitions, short ReplicationFactor = 3, IReadOnlyDictionary<string, string>? Configs = null);
