using Avro.Generic;
using Confluent.Kafka;
using Confluent.Kafka.SyncOverAsync;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Protocol;

namespace StreamPipeline.Cli.Commands;

/// <summary>An agent online now and where (the presence record of its newest session).</summary>
internal sealed record OnlineAgent(string AgentId, string ConnectorId, long Position, DateTimeOffset ConnectedTime, string RemoteAddress);

/// <summary>Reads topics from the start or the tail without a consumer group (nothing is committed).</summary>
internal static class TopicReader
{
    public static ConsumerConfig Config(CliSettings s)
    {
        var config = s.Kafka.ConsumerConfig("spctl-" + Guid.NewGuid().ToString("N"), "spctl");
        config.EnablePartitionEof = true;
        config.SocketTimeoutMs = 10_000;
        return config;
    }

    public static int PartitionCount(IConsumer<string, byte[]> consumer, CliSettings s, string topic)
    {
        try
        {
            return StreamPipeline.Kafka.Topics.TopicPartitions.PartitionCount(consumer.Handle, topic);
        }
        catch (StreamPipeline.Kafka.Topics.TopicMissingException)
        {
            throw new KafkaException(new Error(ErrorCode.UnknownTopicOrPart, $"topic '{topic}' does not exist at {s.BootstrapServers}"));
        }
    }

    /// <summary>The current end of every partition: results produced after this are read from here.</summary>
    public static List<TopicPartitionOffset> Ends(IConsumer<string, byte[]> consumer, CliSettings s, string topic)
    {
        var ends = new List<TopicPartitionOffset>();
        for (var p = 0; p < PartitionCount(consumer, s, topic); p++)
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10));
            ends.Add(new TopicPartitionOffset(topic, p, w.High));
        }

        return ends;
    }

    /// <summary>Online agents, folded from the whole presence topic by the dispatchers' own <see cref="PresenceTable"/>.</summary>
    public static Dictionary<string, OnlineAgent> OnlineAgents(CliSettings s, CancellationToken ct)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(Config(s)).Build();
        var partitions = PartitionCount(consumer, s, s.PresenceTopic);
        var table = new PresenceTable();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(s.PresenceTopic, p, Offset.Beginning)));
        var open = partitions;
        var deadline = TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(30);
        while (open > 0 && TimeProvider.System.GetUtcNow().UtcDateTime < deadline && !ct.IsCancellationRequested)
        {
            var cr = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (cr is null) continue;
            if (cr.IsPartitionEOF)
            {
                open--;
                continue;
            }

            try
            {
                table.Apply(AgentPresenceAvroReader.Read(cr.Message.Value, out _), cr.Offset.Value);
            }
            catch (InvalidDataException)
            {
            }
        }

        consumer.Close();
        var online = new Dictionary<string, OnlineAgent>(StringComparer.Ordinal);
        foreach (var (agent, owner) in table.Online())
        {
            online[agent] = new OnlineAgent(agent, owner.ConnectorId, owner.Position, DateTimeOffset.FromUnixTimeMilliseconds(owner.ConnectedTimeMs), owner.RemoteAddress);
        }

        return online;
    }

    /// <summary>The last <paramref name="perPartition"/> results of every partition.</summary>
    public static List<CommandResult> TailResults(CliSettings s, int perPartition, CancellationToken ct)
    {
        using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = s.RegistryUrl });
        var avro = new AvroDeserializer<GenericRecord>(registry).AsSyncOverAsync();
        using var consumer = new ConsumerBuilder<string, byte[]>(Config(s)).Build();
        var starts = new List<TopicPartitionOffset>();
        foreach (var end in Ends(consumer, s, s.ResultsTopic))
        {
            var w = consumer.QueryWatermarkOffsets(end.TopicPartition, TimeSpan.FromSeconds(10));
            if (w.High.Value > w.Low.Value) starts.Add(new TopicPartitionOffset(end.TopicPartition, Math.Max(w.Low.Value, w.High.Value - perPartition)));
        }

        var results = new List<CommandResult>();
        consumer.Assign(starts);
        var open = starts.Count;
        var deadline = TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(30);
        while (open > 0 && TimeProvider.System.GetUtcNow().UtcDateTime < deadline && !ct.IsCancellationRequested)
        {
            var cr = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (cr is null) continue;
            if (cr.IsPartitionEOF)
            {
                open--;
                continue;
            }

            results.Add(ContractCodec.ToCommandResult(avro.Deserialize(cr.Message.Value, false, new SerializationContext(MessageComponentType.Value, cr.Topic))));
        }

        consumer.Close();
        return results;
    }
}
