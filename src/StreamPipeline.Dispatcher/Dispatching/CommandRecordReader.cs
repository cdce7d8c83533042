using Avro.Generic;
using Confluent.Kafka;
using Confluent.Kafka.SyncOverAsync;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Microsoft.Extensions.Logging;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Kafka.Resilience;
using StreamPipeline.Kafka.Schemas;

namespace StreamPipeline.Dispatcher.Dispatching;

/// <summary>
/// Turns the records of the commands and responses topics into contracts. Never throws for a record's content: a record
/// another team wrote with a compatible but different schema, a time out of range or bytes that are no Avro at all
/// comes back as unreadable, with the reason and whatever ids could be read. Waits (retrying) while the Schema Registry
/// is down rather than skip a command whose schema it does not know yet.
/// </summary>
internal sealed class CommandRecordReader(ISchemaRegistryClient registry, string registryUrl, TimeProvider time, ILogger logger, CancellationToken stopping)
{
    private readonly IDeserializer<GenericRecord> _avro = new AvroDeserializer<GenericRecord>(registry).AsSyncOverAsync();

    // The consume thread has nothing else to do until the record is classified: it waits for the registry.
    private readonly Polly.ResiliencePipeline _retry = Retry.Forever(SchemaRegistration.IsTransient,
        (e, delay) => Log.RegistryUnavailable(logger, registryUrl, e.Message, delay.TotalSeconds), time, max: TimeSpan.FromSeconds(5));

    /// <summary>The id a rejected result carries for a record whose own command id could not be read.</summary>
    public static string UnreadableId(string topic, int partition, long offset) => $"unreadable:{topic}:{partition}:{offset}";

    /// <summary>
    /// The command of a record; false with <paramref name="unreadable"/> when it is none (a null reason: the dispatcher is
    /// stopping and the record was not classified, so it must be left to the next owner).
    /// </summary>
    public bool TryReadCommand(ConsumeResult<string, byte[]> cr, out AgentCommand? command, out (string CommandId, string AgentId, string Action, string? Reason) unreadable)
    {
        command = null;
        var record = Decode(cr, out var problem);
        if (record is null && problem is null)
        {
            unreadable = default;
            return false;
        }

        if (record is null)
        {
            unreadable = (UnreadableId(cr.Topic, cr.Partition.Value, cr.Offset.Value), cr.Message.Key ?? "", "", "not a record of schemas/avro/agent-command.avsc: " + problem);
            return false;
        }

        if (ContractCodec.TryToAgentCommand(record, out command, out var error, out var commandId, out var agentId, out var action))
        {
            unreadable = default;
            return true;
        }

        unreadable = (commandId ?? UnreadableId(cr.Topic, cr.Partition.Value, cr.Offset.Value), agentId ?? cr.Message.Key ?? "", action ?? "", error);
        return false;
    }

    public ConnectorResponse? ReadResponse(ConsumeResult<string, byte[]> cr)
    {
        var record = Decode(cr, out _);
        if (record is null) return null;
        try
        {
            return ContractCodec.ToConnectorResponse(record);
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or KeyNotFoundException or Avro.AvroException or NullReferenceException)
        {
            Log.Undecodable(logger, cr.Topic, cr.Partition.Value, cr.Offset.Value, e.Message);
            return null;
        }
    }

    private GenericRecord? Decode(ConsumeResult<string, byte[]> cr, out string? problem)
    {
        problem = "";
        try
        {
            return _retry.Execute(static (state, _) => state.Avro.Deserialize(state.Value, state.Value is null, state.Context),
                (Avro: _avro, cr.Message.Value, Context: new SerializationContext(MessageComponentType.Value, cr.Topic, cr.Message.Headers)), stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            problem = null;
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.Undecodable(logger, cr.Topic, cr.Partition.Value, cr.Offset.Value, e.Message);
            problem = e.Message;
            return null;
        }
    }
}
