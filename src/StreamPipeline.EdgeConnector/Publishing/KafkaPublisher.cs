using System.Buffers;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.EdgeConnector.Telemetry;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Protocol;

namespace StreamPipeline.EdgeConnector.Publishing;

/// <summary>
/// The connector's one Kafka producer (idempotent, acks=all). Records of every kind (metrics, presence, dead
/// letters, command reports) count against one bound of records in flight; at the bound every publish waits, so the
/// socket that sent the frame is not read again until Kafka catches up: TCP backpressure instead of unbounded memory.
/// The producer's own queue is sized above that bound, so it is never full and no accepted record is refused for
/// lack of queue space (it used to be: presence, dead letters and reports bypassed the bound). Accepted records are
/// never timed out by the client (message.timeout.ms = 0): they wait out a Kafka outage.
/// </summary>
internal sealed partial class KafkaPublisher : IDisposable
{
    private readonly IProducer<string, byte[]> _producer;
    private readonly SemaphoreSlim _inFlight;
    private readonly int _maxInFlight;
    private readonly EdgeConnectorOptions _options;
    private readonly ConnectorMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Action<DeliveryReport<string, byte[]>> _onOtherDelivered;
    private MetricsAvroWriter? _metricsWriter;
    private AgentPresenceAvroWriter? _presenceWriter;
    private long _failed;
    private long _produced;
    private long _acknowledged;

    private readonly TimeProvider _time;

    public KafkaPublisher(IOptions<KafkaOptions> kafka, IOptions<EdgeConnectorOptions> options, ConnectorMetrics metrics, TimeProvider time, ILogger<KafkaPublisher> logger)
    {
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _maxInFlight = _options.MaxInFlightRecords;
        _inFlight = new SemaphoreSlim(_maxInFlight, _maxInFlight);
        var config = kafka.Value.ProducerConfig("edge-" + _options.ConnectorId);
        config.MessageTimeoutMs = 0;
        // Every record holds an in-flight slot before it is produced, so the queue never holds more than the bound.
        config.QueueBufferingMaxMessages = _maxInFlight + 1_000;
        config.QueueBufferingMaxKbytes = 1024 * 1024;
        // An agent's answer (up to a whole frame) goes to connector-responses in one record: size the producer for it.
        if (!kafka.Value.Client.ContainsKey("message.max.bytes")) config.MessageMaxBytes = Math.Max(Kafka.Topics.PipelineTopics.AnswerRecordBytes, _options.MaxFrameBytes + 64 * 1024);
        MaxRecordBytes = config.MessageMaxBytes ?? 1_000_000;
        _producer = new ProducerBuilder<string, byte[]>(config)
            .SetErrorHandler((_, e) => KafkaClientLog.Error(_logger, e))
            .SetLogHandler((_, m) => KafkaClientLog.Message(_logger, m))
            .Build();
        _onOtherDelivered = OnOtherDelivered;
    }

    /// <summary>The largest record the producer takes (message.max.bytes).</summary>
    public int MaxRecordBytes { get; }

    /// <summary>True once schema ids are known and records can be encoded.</summary>
    public bool IsReady => _metricsWriter is not null;

    /// <summary>Records of every kind produced and not yet acknowledged.</summary>
    public int InFlight => _maxInFlight - _inFlight.CurrentCount;

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Metrics records handed to the producer since start (accepted from agents).</summary>
    public long Produced => Interlocked.Read(ref _produced);

    /// <summary>Metrics records Kafka acknowledged since start.</summary>
    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    public void UseSchemas(int metricsSchemaId, int presenceSchemaId)
    {
        _metricsWriter = new MetricsAvroWriter(metricsSchemaId);
        _presenceWriter = new AgentPresenceAvroWriter(presenceSchemaId);
    }

    /// <summary>Encodes and produces one sample, waiting (without reading the socket) while too many records are in flight.</summary>
    /// <param name="receivedTimestamp">Stopwatch timestamp of when the frame was read, for the received-to-ack latency.</param>
    public async ValueTask PublishMetricsAsync(MetricsSample sample, ArrayBufferWriter<byte> scratch, long receivedTimestamp, CancellationToken ct)
    {
        var writer = _metricsWriter ?? throw new InvalidOperationException("Schemas are not registered yet.");
        if (!_inFlight.Wait(0, CancellationToken.None)) await WaitForSlotAsync(ct);

        scratch.ResetWrittenCount();
        writer.Write(sample, scratch);
        var message = new Message<string, byte[]>
        {
            Key = sample.AgentId,
            Value = scratch.WrittenSpan.ToArray(),
            Timestamp = new Timestamp(sample.ReceivedTimeMs, TimestampType.CreateTime),
        };
        try
        {
            // The delivery report does not carry our timestamp back reliably, so the handler captures it (one small closure per record).
            _producer.Produce(_options.MetricsTopic, message, report => OnMetricsDelivered(report, receivedTimestamp));
            Interlocked.Increment(ref _produced);
        }
        catch (ProduceException<string, byte[]> e)
        {
            _inFlight.Release();
            Failure(_options.MetricsTopic, sample.AgentId, e.Error.Reason);
        }
    }

    /// <summary>Produces a presence event, waiting (like metrics) while too many records are in flight.</summary>
    public ValueTask PublishPresenceAsync(AgentPresence presence, CancellationToken ct)
    {
        var writer = _presenceWriter ?? throw new InvalidOperationException("Schemas are not registered yet.");
        var buffer = new ArrayBufferWriter<byte>(256);
        writer.Write(presence, buffer);
        return ProduceOtherAsync(new TopicPartition(_options.PresenceTopic, Partition.Any), presence.AgentId, buffer.WrittenSpan.ToArray(), null, ct);
    }

    /// <summary>
    /// A refused frame, raw, with what was wrong in headers. A frame that may carry a credential is recorded without its
    /// body (header <c>redacted</c>): the topic is read by people debugging agents, not by the token store.
    /// </summary>
    public ValueTask PublishDeadLetterAsync(string agentId, ReadOnlyMemory<byte> frame, string reason, string message, string sessionId, bool redact, CancellationToken ct)
    {
        var headers = new Headers
        {
            { DeadLetterHeaders.Reason, Encoding.UTF8.GetBytes(reason) },
            { DeadLetterHeaders.Error, Encoding.UTF8.GetBytes(message) },
            { DeadLetterHeaders.AgentId, Encoding.UTF8.GetBytes(agentId) },
            { DeadLetterHeaders.ConnectorId, Encoding.UTF8.GetBytes(_options.ConnectorId) },
            { DeadLetterHeaders.SessionId, Encoding.UTF8.GetBytes(sessionId) },
            { DeadLetterHeaders.ReceivedTimeMs, Encoding.UTF8.GetBytes(_time.GetUtcNow().ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture)) },
        };
        if (redact) headers.Add(DeadLetterHeaders.Redacted, Encoding.UTF8.GetBytes("the frame may carry a credential; its body is not kept"));
        return ProduceOtherAsync(new TopicPartition(_options.DeadLetterTopic, Partition.Any), agentId, redact ? [] : frame.ToArray(), headers, ct);
    }

    /// <summary>
    /// Produces an already serialized record to one partition (command reports to the dispatcher that owns the command),
    /// under the same in-flight bound as every other record; <paramref name="failed"/> hears why when Kafka refuses it,
    /// at once or in the delivery report.
    /// </summary>
    public async ValueTask PublishToPartitionAsync(string topic, int partition, string key, byte[] value, Action<string>? failed, CancellationToken ct)
    {
        if (!_inFlight.Wait(0, CancellationToken.None)) await WaitForSlotAsync(ct);
        try
        {
            _producer.Produce(new TopicPartition(topic, partition), new Message<string, byte[]> { Key = key, Value = value }, failed is null ? _onOtherDelivered : report =>
            {
                _onOtherDelivered(report);
                if (report.Error.IsError) failed(report.Error.Reason);
            });
        }
        catch (ProduceException<string, byte[]> e)
        {
            _inFlight.Release();
            Failure(topic, key, e.Error.Reason);
            failed?.Invoke(e.Error.Reason);
        }
    }

    /// <summary>Waits until every record is acknowledged or the time is up; returns how many are still unacknowledged.</summary>
    public int Flush(TimeSpan timeout) => _producer.Flush(timeout);

    private async ValueTask ProduceOtherAsync(TopicPartition destination, string key, byte[] value, Headers? headers, CancellationToken ct)
    {
        if (!_inFlight.Wait(0, CancellationToken.None)) await WaitForSlotAsync(ct);
        try
        {
            _producer.Produce(destination, new Message<string, byte[]> { Key = key, Value = value, Headers = headers }, _onOtherDelivered);
        }
        catch (ProduceException<string, byte[]> e)
        {
            _inFlight.Release();
            Failure(destination.Topic, key, e.Error.Reason);
        }
    }

    private async ValueTask WaitForSlotAsync(CancellationToken ct)
    {
        var start = _time.GetTimestamp();
        await _inFlight.WaitAsync(ct);
        _metrics.BackpressureWait.Record(_time.GetElapsedTime(start).TotalMilliseconds);
    }

    private void OnMetricsDelivered(DeliveryReport<string, byte[]> report, long receivedTimestamp)
    {
        _inFlight.Release();
        if (report.Error.IsError)
        {
            Failure(report.Topic, report.Message.Key, report.Error.Reason);
            return;
        }

        Interlocked.Increment(ref _acknowledged);
        _metrics.MetricsPublished.Add(1);
        _metrics.ProduceLatency.Record(Stopwatch.GetElapsedTime(receivedTimestamp).TotalMilliseconds);
    }

    private void OnOtherDelivered(DeliveryReport<string, byte[]> report)
    {
        _inFlight.Release();
        if (report.Error.IsError) Failure(report.Topic, report.Message.Key, report.Error.Reason);
    }

    private void Failure(string topic, string agentId, string reason)
    {
        Interlocked.Increment(ref _failed);
        _metrics.PublishFailed.Add(1, new KeyValuePair<string, object?>("topic", topic));
        LogPublishFailed(_logger, topic, agentId, reason);
    }

    public void Dispose()
    {
        _producer.Dispose();
        _inFlight.Dispose();
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Error, Message = "Kafka refused a record for topic {Topic}, agent {AgentId}: {Reason}. The record is lost; check the broker and topic.")]
    private static partial void LogPublishFailed(ILogger logger, string topic, string agentId, string reason);
}
