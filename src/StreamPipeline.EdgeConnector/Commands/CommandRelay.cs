using System.Buffers;
using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.SyncOverAsync;
using Confluent.SchemaRegistry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.EdgeConnector.Publishing;
using StreamPipeline.EdgeConnector.Sessions;
using StreamPipeline.EdgeConnector.Telemetry;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Consuming;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Kafka.Resilience;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.Protocol;

namespace StreamPipeline.EdgeConnector.Commands;

/// <summary>
/// The connector's side of commands. Reads the requests dispatchers route to this connector (its partition of
/// <c>connector-requests</c>), sends each to the agent's session with the request id the dispatcher chose,
/// correlates the agent's response by id and reports it on <c>connector-responses</c> at the partition the
/// dispatcher asked for. The dispatcher alone decides results: this class only reports what happened.
/// </summary>
internal sealed partial class CommandRelay : BackgroundService
{
    private readonly EdgeConnectorOptions _options;
    private readonly KafkaOptions _kafka;
    private readonly SessionRegistry _sessions;
    private readonly PendingRequests _pending;
    private readonly KafkaPublisher _publisher;
    private readonly ConnectorMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IAsyncDeserializer<ConnectorRequest> _deserializer;
    private readonly IAsyncSerializer<ConnectorResponse> _serializer;
    private volatile bool _listening;
    private long _lastLoop;

    public CommandRelay(
        IOptions<EdgeConnectorOptions> options, IOptions<KafkaOptions> kafka, ISchemaRegistryClient registry,
        SessionRegistry sessions, PendingRequests pending, KafkaPublisher publisher, ConnectorMetrics metrics,
        TimeProvider time, ILogger<CommandRelay> logger)
    {
        _options = options.Value;
        _kafka = kafka.Value;
        _sessions = sessions;
        _pending = pending;
        _publisher = publisher;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _deserializer = ContractSerdes.Deserializer(registry, ContractCodec.ToConnectorRequest);
        _serializer = ContractSerdes.Serializer<ConnectorResponse>(registry, ContractCodec.ToRecord);
    }

    /// <summary>True once the relay reads its partition from a fixed position: requests produced from now on are not missed.</summary>
    public bool IsListening => _listening;

    /// <summary>False when the relay's loop has not turned for a while (it is stuck, or gave up): the connector is not ready then.</summary>
    public bool IsAlive => _listening && _time.GetElapsedTime(Interlocked.Read(ref _lastLoop)) < TimeSpan.FromSeconds(30);

    /// <summary>
    /// Called by a session's read loop for every response frame. Returns false when no request waits for that id: the
    /// read loop counts that as an invalid frame (a strike) and logs it rate-limited per session.
    /// An agent may put an error's <c>status</c> and <c>message</c> on the envelope instead of in the payload: then the
    /// whole envelope is reported, so the dispatcher reads the error either way.
    /// </summary>
    public bool OnAgentResponse(AgentSession session, long requestId, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> frame)
    {
        if (!_pending.TryTake(session.AgentId, requestId, out var pending) || pending is null) return false;

        var json = HasTopLevelError(frame) ? Encoding.UTF8.GetString(frame) : payload.IsEmpty ? null : Encoding.UTF8.GetString(payload);
        Report(pending.Request, ConnectorResponseKind.Response, json);
        return true;
    }

    /// <summary>
    /// Called when a session ends or starts closing (replaced by a newer one): every request it had not answered is
    /// reported, as written to the agent (it may have run) or as never written (safe to send again).
    /// </summary>
    public void OnSessionEnded(AgentSession session)
    {
        foreach (var p in _pending.TakeSession(session.AgentId, session.SessionId))
        {
            Report(p.Request, p.TryAbandon() ? ConnectorResponseKind.AgentNotConnected : ConnectorResponseKind.AgentDisconnected, null);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The task lets shutdown wait for the consumer to close.
        return ConsumeThread.Start("connector-requests", ConsumeLoop, stoppingToken);
    }

    private void ConsumeLoop(CancellationToken stop)
    {
        var topic = _options.ConnectorRequestsTopic;
        var config = _kafka.ConsumerConfig("edge-" + _options.ConnectorId, "edge-" + _options.ConnectorId);
        using var consumer = new ConsumerBuilder<string, ConnectorRequest>(config)
            .SetValueDeserializer(_deserializer.AsSyncOverAsync())
            .SetErrorHandler((_, e) => KafkaClientLog.Error(_logger, e))
            .SetLogHandler((_, m) => KafkaClientLog.Message(_logger, m))
            .Build();

        // Kafka may be down at start: keep asking (a relay that gave up would leave the connector unable to command anyone).
        var retry = Retry.Forever(e => e is KafkaException or TopicMissingException, (e, delay) =>
        {
            Interlocked.Exchange(ref _lastLoop, _time.GetTimestamp());
            LogNoRequestsTopic(_logger, topic, e.Message, delay.TotalSeconds);
        }, _time);
        var partition = retry.Execute(static (s, _) => ConnectorPartitioner.PartitionFor(s.Id, TopicPartitions.PartitionCount(s.Handle, s.Topic)),
            (Id: _options.ConnectorId, consumer.Handle, Topic: topic), stop);

        // A fixed start, resolved now: a lazy "end" is resolved at the first fetch, and a request produced between an
        // agent's connect and that fetch would be skipped. Requests before it were for a connector id that no longer exists.
        var start = retry.Execute(static (s, _) => s.Consumer.QueryWatermarkOffsets(new TopicPartition(s.Topic, s.Partition), TimeSpan.FromSeconds(10)).High,
            (Consumer: consumer, Topic: topic, Partition: partition), stop);
        consumer.Assign(new TopicPartitionOffset(topic, partition, start));
        _listening = true;
        LogListening(_logger, topic, partition, start.Value);
        var lastSweep = _time.GetUtcNow();
        while (!stop.IsCancellationRequested)
        {
            Interlocked.Exchange(ref _lastLoop, _time.GetTimestamp());
            try
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(250));
                var now = _time.GetUtcNow();
                if (now - lastSweep > TimeSpan.FromSeconds(5)) { _pending.Sweep(); lastSweep = now; }
                if (record?.Message?.Value is not { } request || request.ConnectorId != _options.ConnectorId) continue;
                Deliver(request);
            }
            catch (ConsumeException e)
            {
                _metrics.InvalidFrame("bad_connector_request");
                LogBadRequestRecord(_logger, e.ConsumerRecord?.TopicPartitionOffset?.ToString() ?? topic, e.Error.Reason);
            }
            catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
            {
                // Never stop silently: one bad record or a bug costs that record, not every later command.
                LogRelayError(_logger, e.Message, e);
            }
        }

        _listening = false;
        consumer.Close();
    }

    private void Deliver(ConnectorRequest request)
    {
        if (!_sessions.TryGet(request.AgentId, out var session) || session is null)
        {
            Report(request, ConnectorResponseKind.AgentNotConnected, null);
            return;
        }

        var now = _time.GetUtcNow();
        var pending = new PendingRequest(request, session.SessionId, now, now + TimeSpan.FromMilliseconds(Math.Max(1000, request.TimeoutMs) * 2));
        switch (_pending.TryAdd(pending))
        {
            case PendingAddResult.AlreadyPending:
                // Sent again (a dispatcher took the command over) to the session that has it: the agent may be running it.
                LogAlreadyPending(_logger, request.CommandId, request.AgentId, request.RequestId);
                return;
            case PendingAddResult.Full:
                // Bounded: a connector waiting on MaxEntries answers takes no more; never written, so safe to send again.
                _metrics.PendingRequestsFull.Add(1);
                LogPendingFull(_logger, request.CommandId, request.AgentId, _pending.MaxEntries);
                Report(request, ConnectorResponseKind.AgentNotConnected, null);
                return;
        }

        _ = SendAsync(session, pending);
    }

    private async Task SendAsync(AgentSession session, PendingRequest pending)
    {
        var request = pending.Request;
        var frame = new ArrayBufferWriter<byte>(256);
        var payload = Encoding.UTF8.GetBytes(request.PayloadJson ?? "null");
        EnvelopeWriter.WriteRequest(frame, request.RequestId, request.Action, payload, _time.GetUtcNow().ToUnixTimeMilliseconds());
        try
        {
            if (!await session.SendAsync(frame.WrittenMemory, session.Closing, pending.TryBeginWrite)) return; // the session ended first: reported then
            _metrics.FramesOut.Add(1);
            LogSent(_logger, request.CommandId, request.AgentId, request.RequestId, request.Action);
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // A frame whose write failed (or never started) did not reach the agent whole: it cannot have run it.
            if (_pending.TryRemove(pending))
            {
                Report(request, ConnectorResponseKind.AgentNotConnected, null);
            }
        }
    }

    private void Report(ConnectorRequest request, ConnectorResponseKind kind, string? responseJson)
    {
        var response = new ConnectorResponse(request.CommandId, request.AgentId, _options.ConnectorId, request.RequestId, kind, responseJson, _time.GetUtcNow());
        var context = new SerializationContext(MessageComponentType.Value, _options.ConnectorResponsesTopic);
        _ = PublishAsync(response, request.ReplyPartition, context, replaced: false);
    }

    private async Task PublishAsync(ConnectorResponse response, int partition, SerializationContext context, bool replaced)
    {
        try
        {
            var bytes = await _serializer.SerializeAsync(response, context);
            if (bytes.Length > _publisher.MaxRecordBytes && !replaced)
            {
                ReplaceTooLarge(response, partition, context, $"{bytes.Length:N0} bytes, over the {_publisher.MaxRecordBytes:N0} this connector's producer takes (message.max.bytes)");
                return;
            }

            await _publisher.PublishToPartitionAsync(_options.ConnectorResponsesTopic, partition, response.CommandId, bytes,
                replaced || response.ResponseJson is null ? null : reason => ReplaceTooLarge(response, partition, context, reason), CancellationToken.None);
        }
        catch (Exception e) when (e is HttpRequestException or SchemaRegistryException or InvalidOperationException)
        {
            LogReportFailed(_logger, response.CommandId, e.Message);
        }
    }

    /// <summary>The agent answered but its answer cannot be published: the dispatcher still learns that, and why, as an error.</summary>
    private void ReplaceTooLarge(ConnectorResponse response, int partition, SerializationContext context, string reason)
    {
        LogReportFailed(_logger, response.CommandId, "the answer could not be published (" + reason + "); reporting an error instead");
        var error = new System.Text.Json.Nodes.JsonObject
        {
            ["status"] = "error",
            ["message"] = $"the agent answered ({response.ResponseJson?.Length ?? 0:N0} characters) but connector {_options.ConnectorId} could not publish the answer: {reason}",
        };
        _ = PublishAsync(response with { ResponseJson = error.ToJsonString() }, partition, context, replaced: true);
    }

    /// <summary>Whether the envelope itself carries <c>"status":"error"</c> (an agent that puts the error there, not in the payload).</summary>
    private static bool HasTopLevelError(ReadOnlySpan<byte> frame)
    {
        var reader = new System.Text.Json.Utf8JsonReader(frame);
        try
        {
            if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.PropertyName)
            {
                var isStatus = reader.ValueTextEquals("status"u8);
                if (!reader.Read()) return false;
                if (isStatus) return reader.TokenType == System.Text.Json.JsonTokenType.String && (reader.ValueTextEquals("error"u8) || reader.ValueTextEquals("ERROR"u8) || reader.ValueTextEquals("Error"u8));
                reader.Skip();
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return false;
    }

    [LoggerMessage(EventId = 1601, Level = LogLevel.Information, Message = "Listening for routed requests on {Topic} partition {Partition} from offset {Offset}")]
    private static partial void LogListening(ILogger logger, string topic, int partition, long offset);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Error, Message = "Topic {Topic} is not available ({Reason}); this connector cannot receive commands and is not ready; retrying in {Seconds:F1} s. Check Kafka, or create the topic (docs/kafka-topics.md).")]
    private static partial void LogNoRequestsTopic(ILogger logger, string topic, string reason, double seconds);

    [LoggerMessage(EventId = 1607, Level = LogLevel.Debug, Message = "Command {CommandId}: request {RequestId} for agent {AgentId} is already pending on its session; not written again")]
    private static partial void LogAlreadyPending(ILogger logger, string commandId, string agentId, long requestId);

    [LoggerMessage(EventId = 1608, Level = LogLevel.Error, Message = "The command relay failed on a record ({Reason}); it goes on with the next one")]
    private static partial void LogRelayError(ILogger logger, string reason, Exception exception);

    [LoggerMessage(EventId = 1603, Level = LogLevel.Warning, Message = "Command {CommandId} for agent {AgentId} not sent: {Max} requests already wait for answers on this connector")]
    private static partial void LogPendingFull(ILogger logger, string commandId, string agentId, int max);

    [LoggerMessage(EventId = 1604, Level = LogLevel.Warning, Message = "Unreadable record on {Position}: {Reason}; skipped")]
    private static partial void LogBadRequestRecord(ILogger logger, string position, string reason);

    [LoggerMessage(EventId = 1605, Level = LogLevel.Error, Message = "Could not report the outcome of command {CommandId} to the dispatcher: {Reason}")]
    private static partial void LogReportFailed(ILogger logger, string commandId, string reason);

    [LoggerMessage(EventId = 1606, Level = LogLevel.Debug, Message = "Command {CommandId}: sent {Action} to agent {AgentId} as request {RequestId}")]
    private static partial void LogSent(ILogger logger, string commandId, string agentId, long requestId, string action);
}
