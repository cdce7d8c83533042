using StreamPipeline.Kafka.Topics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamPipeline.Dispatcher.Commands;
using StreamPipeline.Dispatcher.Routing;
using StreamPipeline.Kafka.Contracts;

namespace StreamPipeline.Dispatcher.Dispatching;

/// <summary>The engine's output on Kafka: one idempotent producer for requests, results and late responses.</summary>
internal sealed class KafkaDispatchOutput(
    IProducer<string, byte[]> producer, AvroRecordWriter requests, AvroRecordWriter results, AvroRecordWriter late,
    int requestPartitions, DispatcherOptions options, ILogger logger) : IDispatchOutput
{
    public void SendRequest(ConnectorRequest request)
    {
        var partition = ConnectorPartitioner.PartitionFor(request.ConnectorId, requestPartitions);
        Produce(new TopicPartition(options.ConnectorRequestsTopic, partition), request.ConnectorId, requests.Write(ContractCodec.ToRecord(request)), request.CommandId, null);
    }

    public void PublishResult(CommandResult result, Action<bool, string?> acknowledged)
    {
        Produce(new TopicPartition(options.ResultsTopic, Partition.Any), result.CommandId, results.Write(ContractCodec.ToRecord(result)), result.CommandId,
            report => acknowledged(!report.Error.IsError, report.Error.IsError ? report.Error.Reason : null));
    }

    public void PublishLate(ConnectorResponse response) =>
        Produce(new TopicPartition(options.LateResponsesTopic, Partition.Any), response.CommandId, late.Write(ContractCodec.ToRecord(response)), response.CommandId, null);

    private void Produce(TopicPartition target, string key, byte[] value, string commandId, Action<DeliveryReport<string, byte[]>>? onDelivered)
    {
        try
        {
            producer.Produce(target, new Message<string, byte[]> { Key = key, Value = value }, report =>
            {
                if (report.Error.IsError) Log.ProduceFailed(logger, report.Topic, commandId, report.Error.Reason);
                onDelivered?.Invoke(report);
            });
        }
        catch (ProduceException<string, byte[]> e)
        {
            // Local refusal (queue full, unknown partition): a request then times out, a result stays uncommitted.
            Log.ProduceFailed(logger, target.Topic, commandId, e.Error.Reason);
        }
    }
}
