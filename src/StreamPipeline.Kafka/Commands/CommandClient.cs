using Avro.Generic;
using Confluent.Kafka;
using Confluent.Kafka.SyncOverAsync;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Kafka.Topics;

namespace StreamPipeline.Kafka.Commands;

/// <summary>
/// Sends commands and waits for their one result, as another system would (docs/commands.md): an idempotent producer
/// of <c>AgentCommand</c>s keyed by agent id, and a group-less reader of <c>command-results</c> positioned at its end
/// before anything is sent, so no result can slip past. One home for spctl, the local stack's demo and tests.
/// </summary>
public sealed class CommandClient : IDisposable
{
    private readonly CachedSchemaRegistryClient _registry;
    private readonly IProducer<string, AgentCommand> _producer;
    private readonly IConsumer<string, byte[]>? _results;
    private readonly IDeserializer<GenericRecord> _avro;
    private readonly string _commandsTopic;

    private CommandClient(KafkaOptions kafka, string clientId, string commandsTopic, string? resultsTopic, TimeSpan? resultsFetchWait)
    {
        _commandsTopic = commandsTopic;
        _registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = kafka.SchemaRegistryUrl });
        _avro = new AvroDeserializer<GenericRecord>(_registry).AsSyncOverAsync();
        var producerConfig = kafka.ProducerConfig(clientId);
        producerConfig.LingerMs = 1;
        _producer = new ProducerBuilder<string, AgentCommand>(producerConfig)
            .SetValueSerializer(ContractSerdes.Serializer<AgentCommand>(_registry, ContractCodec.ToRecord))
            .Build();
        if (resultsTopic is null) return;
        // Assigned, never subscribed: the group id only satisfies the client and is never joined or committed.
        var consumerConfig = kafka.ConsumerConfig(clientId + "-" + Guid.NewGuid().ToString("N"), clientId);
        if (resultsFetchWait is { } wait) consumerConfig.FetchWaitMaxMs = (int)wait.TotalMilliseconds;
        _results = new ConsumerBuilder<string, byte[]>(consumerConfig).Build();
        var ends = new List<TopicPartitionOffset>();
        for (var p = 0; p < TopicPartitions.PartitionCount(_results.Handle, resultsTopic); p++)
        {
            ends.Add(new TopicPartitionOffset(resultsTopic, p, _results.QueryWatermarkOffsets(new TopicPartition(resultsTopic, p), TimeSpan.FromSeconds(10)).High));
        }

        _results.Assign(ends);
    }

    /// <summary>
    /// A client built from <paramref name="kafka"/> (bootstrap servers, registry, every <c>Kafka:Client</c> setting); with a
    /// <paramref name="resultsTopic"/> it notes where that topic ends now, for <see cref="WaitForResultAsync"/>.
    /// <paramref name="resultsFetchWait"/> shortens the results reader's fetch wait (the embedded mock holds a fetch that
    /// long even when data arrives; a real broker answers at once).
    /// </summary>
    /// <exception cref="KafkaException">Kafka is unreachable.</exception>
    /// <exception cref="TopicMissingException">The results topic does not exist.</exception>
    public static CommandClient Open(KafkaOptions kafka, string clientId = "command-client", string commandsTopic = PipelineTopics.Commands,
        string? resultsTopic = PipelineTopics.CommandResults, TimeSpan? resultsFetchWait = null) =>
        new(kafka, clientId, commandsTopic, resultsTopic, resultsFetchWait);

    /// <summary>Produces the command (keyed by its agent id) and returns where it landed.</summary>
    public async Task<TopicPartitionOffset> SendAsync(AgentCommand command, CancellationToken cancellationToken = default) =>
        (await _producer.ProduceAsync(_commandsTopic, new Message<string, AgentCommand> { Key = command.AgentId, Value = command }, cancellationToken)).TopicPartitionOffset;

    /// <summary>The result of <paramref name="commandId"/>, read from where the results topic ended at <see cref="Open"/>; null when none came within <paramref name="limit"/>.</summary>
    public Task<CommandResult?> WaitForResultAsync(string commandId, TimeSpan limit, CancellationToken cancellationToken = default)
    {
        var results = _results ?? throw new InvalidOperationException("Opened without a results topic.");
        // Consume blocks: a dedicated thread, not the caller's.
        return Task.Factory.StartNew(() =>
        {
            var started = TimeProvider.System.GetTimestamp();
            while (!cancellationToken.IsCancellationRequested && TimeProvider.System.GetElapsedTime(started) < limit)
            {
                var cr = results.Consume(TimeSpan.FromMilliseconds(100));
                if (cr?.Message?.Value is null || cr.Message.Key != commandId) continue;
                return ContractCodec.ToCommandResult(_avro.Deserialize(cr.Message.Value, false, new SerializationContext(MessageComponentType.Value, cr.Topic)));
            }

            return null;
        }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public void Dispose()
    {
        _results?.Close();
        _results?.Dispose();
        _producer.Dispose();
        _registry.Dispose();
    }
}
