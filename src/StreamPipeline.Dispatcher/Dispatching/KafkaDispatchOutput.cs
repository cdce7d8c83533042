using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.Dispatcher.Commands;
using StreamPipeline.Dispatcher.Telemetry;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Kafka.Topics;

namespace StreamPipeline.Dispatcher.Dispatching;

/// <summary>
/// The engine's output on Kafka: the dispatcher's one idempotent producer, for requests, results, late responses and the
/// partition snapshots. Sized for the largest answer (<see cref="PipelineTopics.AnswerRecordBytes"/>) unless the operator
/// set <c>Kafka:Client:message.max.bytes</c>. A result Kafka refuses for good (too large, say) is replaced by an ERROR
/// result that says why, so the command still has its one result and its partition's commit moves on. Remembers, per
/// results partition, where this producer's next result will land (for the snapshots).
/// </summary>
internal sealed class KafkaDispatchOutput : IDispatchOutput, IDisposable
{
    private readonly DispatcherOptions _options;
    private readonly DispatcherMetrics _metrics;
    private readonly ILogger _logger;
    private AvroRecordWriter? _requests;
    private AvroRecordWriter? _results;
    private AvroRecordWriter? _late;
    private int _requestPartitions;
    private long[] _resultsNext = [];

    public KafkaDispatchOutput(IOptions<DispatcherOptions> options, IOptions<KafkaOptions> kafka, DispatcherMetrics metrics, ILogger<KafkaDispatchOutput> logger)
    {
        _options = options.Value;
        _metrics = metrics;
        _logger = logger;
        var config = kafka.Value.ProducerConfig("dispatcher-" + _options.DispatcherId);
        config.LingerMs = _options.ProducerLingerMs;
        // A result is never given up on: its offset is not committed until Kafka has it.
        config.MessageTimeoutMs = 0;
        config.QueueBufferingMaxMessages = 1_000_000;
        if (!kafka.Value.Client.ContainsKey("message.max.bytes")) config.MessageMaxBytes = PipelineTopics.AnswerRecordBytes;
        MaxRecordBytes = config.MessageMaxBytes ?? 1_000_000;
        Producer = new ProducerBuilder<string, byte[]>(config)
            .SetErrorHandler((_, e) => Log.KafkaError(_logger, e.Code.ToString(), e.Reason))
            .Build();
    }

    public IProducer<string, byte[]> Producer { get; }

    /// <summary>The largest record this producer takes.</summary>
    public int MaxRecordBytes { get; }

    /// <summary>Takes the registered schema ids and the partition counts; before this nothing is produced.</summary>
    public void Start(int requestSchemaId, int resultSchemaId, int lateSchemaId, int requestPartitions, long[] resultsHighWatermarks)
    {
        _requests = new AvroRecordWriter(ContractCodec.ConnectorRequestSchema, requestSchemaId);
        _results = new AvroRecordWriter(ContractCodec.CommandResultSchema, resultSchemaId);
        _late = new AvroRecordWriter(ContractCodec.ConnectorResponseSchema, lateSchemaId);
        _requestPartitions = requestPartitions;
        _resultsNext = resultsHighWatermarks;
    }

    /// <summary>Per results partition, an offset at or below where this producer's next result will land.</summary>
    public long[] ResultsPositions()
    {
        lock (_resultsNext) return [.. _resultsNext];
    }

    public void SendRequest(ConnectorRequest request)
    {
        var partition = ConnectorPartitioner.PartitionFor(request.ConnectorId, _requestPartitions);
        Produce(new TopicPartition(_options.ConnectorRequestsTopic, partition), request.ConnectorId, _requests!.Write(ContractCodec.ToRecord(request)), request.CommandId, null);
    }

    public void PublishResult(CommandResult result, Action<bool, string?> acknowledged) => PublishResult(result, acknowledged, replaced: false);

    public void PublishLate(ConnectorResponse response)
    {
        var value = _late!.Write(ContractCodec.ToRecord(response));
        if (value.Length > MaxRecordBytes)
        {
            // Recorded without the answer rather than not at all.
            value = _late.Write(ContractCodec.ToRecord(response with { ResponseJson = null }));
        }

        Produce(new TopicPartition(_options.LateResponsesTopic, Partition.Any), response.CommandId, value, response.CommandId, null);
    }

    /// <summary>Produces a partition's snapshot to the state topic; <paramref name="delivered"/> runs once Kafka answers.</summary>
    public void PublishState(int partition, byte[] value, Action<DeliveryReport<string, byte[]>>? delivered) =>
        Produce(new TopicPartition(_options.StateTopic, partition), partition.ToString(System.Globalization.CultureInfo.InvariantCulture), value, "(state)", delivered);

    public void Dispose() => Producer.Dispose();

    private void PublishResult(CommandResult result, Action<bool, string?> acknowledged, bool replaced)
    {
        var value = _results!.Write(ContractCodec.ToRecord(result));
        if (value.Length > MaxRecordBytes && !replaced)
        {
            Replace(result, acknowledged, $"{value.Length:N0} bytes, over the {MaxRecordBytes:N0} the results producer takes (message.max.bytes)");
            return;
        }

        var queued = Produce(new TopicPartition(_options.ResultsTopic, Partition.Any), result.CommandId, value, result.CommandId, report =>
        {
            if (!report.Error.IsError)
            {
                lock (_resultsNext)
                {
                    var p = report.Partition.Value;
                    if (p >= 0 && p < _resultsNext.Length && report.Offset.Value + 1 > _resultsNext[p]) _resultsNext[p] = report.Offset.Value + 1;
                }

                acknowledged(true, null);
            }
            else if (!replaced)
            {
                // Kafka refused it for good (transient errors are retried without end): say so in the one result.
                Replace(result, acknowledged, report.Error.Reason);
            }
            else
            {
                acknowledged(false, report.Error.Reason);
            }
        });
        if (queued is { } refusal)
        {
            if (!replaced) Replace(result, acknowledged, refusal);
            else acknowledged(false, refusal);
        }
    }

    private void Replace(CommandResult result, Action<bool, string?> acknowledged, string reason)
    {
        _metrics.ResultFallback();
        Log.ResultReplaced(_logger, result.CommandId, reason);
        var error = $"the result could not be published to {_options.ResultsTopic} ({reason}); it was {result.Status.ToString().ToUpperInvariant()}" +
                    (result.ResponseJson is null ? "" : $" with an answer of {result.ResponseJson.Length:N0} characters, dropped here") +
                    (result.Error is null ? "" : $": {result.Error}");
        PublishResult(result with { Status = CommandStatus.Error, ResponseJson = null, Error = error }, acknowledged, replaced: true);
    }

    /// <summary>Queues a record; returns null when queued, else why the producer refused it at once.</summary>
    private string? Produce(TopicPartition target, string key, byte[] value, string commandId, Action<DeliveryReport<string, byte[]>>? onDelivered)
    {
        try
        {
            Producer.Produce(target, new Message<string, byte[]> { Key = key, Value = value }, report =>
            {
                if (report.Error.IsError) Log.ProduceFailed(_logger, report.Topic, commandId, report.Error.Reason);
                onDelivered?.Invoke(report);
            });
            return null;
        }
        catch (ProduceException<string, byte[]> e)
        {
            // Local refusal (too large, queue full, unknown partition): a request then times out; a result is replaced.
            Log.ProduceFailed(_logger, target.Topic, commandId, e.Error.Reason);
            return e.Error.Reason;
        }
    }
}
