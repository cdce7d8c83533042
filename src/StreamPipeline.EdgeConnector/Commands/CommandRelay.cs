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
using StreamPipeline.Kafka.Contracts;
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

    private volatile bool _listening;

    /// <summary>True while the relay is assigned to its partition of the requests topic (readiness).</summary>
    public bool IsListening => _listening;

    /// <summary>
    /// Called by a session's read loop for every response frame. Returns false when no request waits for that id: the
    /// read loop counts that as an invalid frame (a strike), logs it rate-limited per session.
    /// </summary>
    public bool OnAgentResponse(AgentSession session, long requestId, ReadOnlySpan<byte> payload)
    {
        if (!_pending.TryTake(session.AgentId, requestId, out var pending) || pending is null) return false;

        var json = payload.IsEmpty ? null : Encoding.UTF8.GetString(payload);
        Report(pending.Request, ConnectorResponseKind.Response, json);
        return true;
    }

    /// <summary>Called when a session ends: every request it had not answered is reported as disconnected.</summary>
    public void OnSessionEnded(AgentSession session)
    {
        foreach (var p in _pending.TakeSession(session.AgentId, session.SessionId))
        {
            Report(p.Request, ConnectorResponseKind.AgentDisconnected, null);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A blocking Consume loop gets its own thread; the task lets shutdown wait for the consumer to close.
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                ConsumeLoop(stoppingToken);
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        { IsBackground = true, Name = "connector-requests" };
        thread.Start();
        return done.Task;
    }

    private void ConsumeLoop(CancellationToken stop)
    {
        var topic = _options.ConnectorRequestsTopic;
        int partition;
        try
        {
            partition = ConnectorPartitioner.PartitionFor(_options.ConnectorId, PartitionCount(topic));
        }
        catch (KafkaException e)
        {
            LogNoRequestsTopic(_logger, topic, e.Message);
            return;
        }

        var config = _kafka.ConsumerConfig("edge-" + _options.ConnectorId, "edge-" + _options.ConnectorId);
        using var consumer = new ConsumerBuilder<string, ConnectorRequest>(config)
            .SetValueDeserializer(_deserializer.AsSyncOverAsync())
            .SetErrorHandler((_, e) => KafkaClientLog.Error(_logger, e))
            .SetLogHandler((_, m) => KafkaClientLog.Message(_logger, m))
            .Build();
        // Requests sent before this process started were for a connector id that no longer exists. The end is resolved
        // here, before readiness says "listening": with Offset.End the client resolves it on its first fetch, and a
        // request routed in between (a dispatcher sees this connector ready) was skipped.
        var requests = new TopicPartition(topic, partition);
        long end;
        try
        {
            end = consumer.QueryWatermarkOffsets(requests, TimeSpan.FromSeconds(10)).High;
        }
        catch (KafkaException e)
        {
            LogNoRequestsTopic(_logger, topic, e.Message);
            return;
        }

        consumer.Assign(new TopicPartitionOffset(requests, end));
        LogListening(_logger, topic, partition);
        _listening = true;
        var lastSweep = _time.GetUtcNow();
        while (!stop.IsCancellationRequested)
        {
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
        if (!_pending.TrySet(new PendingRequest(request, session.SessionId, now, now + TimeSpan.FromMilliseconds(Math.Max(1000, request.TimeoutMs) * 2))))
        {
            // Bounded: a connector waiting on MaxEntries answers takes no more; the dispatcher keeps the command.
            _metrics.PendingRequestsFull.Add(1);
            LogPendingFull(_logger, request.CommandId, request.AgentId, _pending.MaxEntries);
            Report(request, ConnectorResponseKind.AgentNotConnected, null);
            return;
        }

        _ = SendAsync(session, request);
    }

    private async Task SendAsync(AgentSession session, ConnectorRequest request)
    {
        var frame = new ArrayBufferWriter<byte>(256);
        var payload = Encoding.UTF8.GetBytes(request.PayloadJson ?? "null");
        EnvelopeWriter.WriteRequest(frame, request.RequestId, request.Action, payload, _time.GetUtcNow().ToUnixTimeMilliseconds());
        try
        {
            await session.SendAsync(frame.WrittenMemory, session.Closing);
            _metrics.FramesOut.Add(1);
            LogSent(_logger, request.CommandId, request.AgentId, request.RequestId, request.Action);
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            if (_pending.TryTake(request.AgentId, request.RequestId, out _)) Report(request, ConnectorResponseKind.AgentDisconnected, null);
        }
    }

    private void Report(ConnectorRequest request, ConnectorResponseKind kind, string? responseJson)
    {
        var response = new ConnectorResponse(request.CommandId, request.AgentId, _options.ConnectorId, request.RequestId, kind, responseJson, _time.GetUtcNow());
        var context = new SerializationContext(MessageComponentType.Value, _options.ConnectorResponsesTopic);
        _ = PublishAsync(response, request.ReplyPartition, context);
    }

    private async Task PublishAsync(ConnectorResponse response, int partition, SerializationContext context)
    {
        try
        {
            var bytes = await _serializer.SerializeAsync(response, context);
            await _publisher.PublishToPartitionAsync(_options.ConnectorResponsesTopic, partition, response.CommandId, bytes, CancellationToken.None);
        }
        catch (Exception e) when (e is HttpRequestException or SchemaRegistryException or InvalidOperationException)
        {
            LogReportFailed(_logger, response.CommandId, e.Message);
        }
    }

    private int PartitionCount(string topic)
    {
        using var admin = new AdminClientBuilder(_kafka.AdminConfig("edge-" + _options.ConnectorId + "-admin")).Build();
        var md = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
        var t = md.Topics.Single();
        if (t.Error.IsError || t.Partitions.Count == 0) throw new KafkaException(t.Error);
        return t.Partitions.Count;
    }

    [LoggerMessage(EventId = 1601, Level = LogLevel.Information, Message = "Listening for routed requests on {Topic} partition {Partition}")]
    private static partial void LogListening(ILogger logger, string topic, int partition);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Error, Message = "Topic {Topic} is not available ({Reason}); this connector cannot receive commands. Create it (docs/kafka-topics.md).")]
    private static partial void LogNoRequestsTopic(ILogger logger, string topic, string reason);

    [LoggerMessage(EventId = 1603, Level = LogLevel.Warning, Message = "Command {CommandId} for agent {AgentId} not sent: {Max} requests already wait for answers on this connector")]
    private static partial void LogPendingFull(ILogger logger, string commandId, string agentId, int max);

    [LoggerMessage(EventId = 1604, Level = LogLevel.Warning, Message = "Unreadable record on {Position}: {Reason}; skipped")]
    private static partial void LogBadRequestRecord(ILogger logger, string position, string reason);

    [LoggerMessage(EventId = 1605, Level = LogLevel.Error, Message = "Could not report the outcome of command {CommandId} to the dispatcher: {Reason}")]
    private static partial void LogReportFailed(ILogger logger, string commandId, string reason);

    [LoggerMessage(EventId = 1606, Level = LogLevel.Debug, Message = "Command {CommandId}: sent {Action} to agent {AgentId} as request {RequestId}")]
    private static partial void LogSent(ILogger logger, string commandId, string agentId, long requestId, string action);
}
