using System.Net.WebSockets;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.EdgeConnector.Commands;
using StreamPipeline.EdgeConnector.Publishing;
using StreamPipeline.EdgeConnector.Telemetry;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Consuming;
using StreamPipeline.Kafka.Resilience;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.Protocol;

namespace StreamPipeline.EdgeConnector.Sessions;

/// <summary>
/// Follows agent-presence (from where it ends at start: this connector's sessions all come later) so every connector
/// agrees on the newest session of an agent, whichever connector holds it. Sessions are ordered by the position of
/// their first CONNECTED in the agent's partition, the same order the dispatchers use:
/// <list type="bullet">
/// <item>A newer session of an agent this connector holds, on another connector (two machines with one agent id, or a
/// connection this connector has not yet seen die): this connector's older session is closed, counted
/// (<c>edge_sessions_replaced_total{where="other_connector"}</c>) and logged; its unanswered requests are reported at once.</item>
/// <item>A DISCONNECTED of an older session of an agent this connector holds (it may be the last record of that key
/// once compacted): this connector publishes its live session's CONNECTED again.</item>
/// <item>Every live session's CONNECTED is published again every <see cref="EdgeConnectorOptions.PresenceRefreshInterval"/>,
/// so retention never deletes the only record of a connected agent.</item>
/// </list>
/// The connector is not ready, and admits no agent, until the watch reads from a fixed position.
/// </summary>
internal sealed partial class PresenceWatch(
    IOptions<EdgeConnectorOptions> options, IOptions<KafkaOptions> kafka, SessionRegistry sessions, KafkaPublisher publisher, CommandRelay relay,
    ConnectorMetrics metrics, TimeProvider time, ILogger<PresenceWatch> logger) : BackgroundService
{
    private static readonly KeyValuePair<string, object?> OtherConnector = new("where", "other_connector");
    private readonly EdgeConnectorOptions _o = options.Value;

    // First positions of this connector's live sessions, by session id (read back from the topic).
    private readonly Dictionary<string, long> _own = new(StringComparer.Ordinal);
    private volatile bool _watching;
    private long _lastLoop;

    /// <summary>True once the watch reads from a fixed position: sessions admitted from now on are seen.</summary>
    public bool IsWatching => _watching;

    /// <summary>False when the watch loop has not turned for a while.</summary>
    public bool IsAlive => _watching && time.GetElapsedTime(Interlocked.Read(ref _lastLoop)) < TimeSpan.FromSeconds(30);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        return ConsumeThread.Start("connector-presence", Run, stoppingToken);
    }

    private void Run(CancellationToken stop)
    {
        var config = kafka.Value.ConsumerConfig("edge-presence-" + _o.ConnectorId, "edge-presence-" + _o.ConnectorId);
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config)
            .SetErrorHandler((_, e) => KafkaClientLog.Error(logger, e))
            .Build();
        var retry = Retry.Forever(e => e is KafkaException or TopicMissingException, (e, delay) =>
        {
            Interlocked.Exchange(ref _lastLoop, time.GetTimestamp());
            LogUnavailable(logger, _o.PresenceTopic, e.Message, delay.TotalSeconds);
        }, time);
        var partitions = retry.Execute(static (s, _) => TopicPartitions.PartitionCount(s.Handle, s.Topic), (consumer.Handle, Topic: _o.PresenceTopic), stop);
        var starts = new List<TopicPartitionOffset>();
        for (var p = 0; p < partitions; p++)
        {
            var end = retry.Execute(static (s, _) => s.Consumer.QueryWatermarkOffsets(new TopicPartition(s.Topic, s.P), TimeSpan.FromSeconds(10)).High,
                (Consumer: consumer, Topic: _o.PresenceTopic, P: p), stop);
            starts.Add(new TopicPartitionOffset(_o.PresenceTopic, p, end));
        }

        consumer.Assign(starts);
        _watching = true;
        var lastRefresh = time.GetTimestamp();
        var refreshCheck = TimeSpan.FromMilliseconds(Math.Min(60_000, Math.Max(250, _o.PresenceRefreshInterval.TotalMilliseconds / 4)));
        while (!stop.IsCancellationRequested)
        {
            Interlocked.Exchange(ref _lastLoop, time.GetTimestamp());
            try
            {
                var cr = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (cr?.Message?.Value is { } value) OnRecord(AgentPresenceAvroReader.Read(value, out _), cr.Offset.Value);
                if (time.GetElapsedTime(lastRefresh) >= refreshCheck)
                {
                    lastRefresh = time.GetTimestamp();
                    RefreshDue();
                }
            }
            catch (ConsumeException e)
            {
                KafkaClientLog.Error(logger, e.Error);
            }
            catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
            {
                LogFailed(logger, e.Message, e);
            }
        }

        consumer.Close();
    }

    private void OnRecord(AgentPresence p, long position)
    {
        if (!sessions.TryGet(p.AgentId, out var mine) || mine is null) return;
        if (p.SessionId == mine.SessionId)
        {
            if (p.Status == PresenceStatus.Connected) _own.TryAdd(mine.SessionId, position);
            else _own.Remove(mine.SessionId);
            return;
        }

        // A record of another session of an agent this connector holds. Ours is newer unless its CONNECTED came first.
        if (!_own.TryGetValue(mine.SessionId, out var ours) || position < ours || mine.Closing.IsCancellationRequested) return;
        if (p.Status == PresenceStatus.Connected && p.EventTimeMs == p.ConnectedTimeMs)
        {
            if (p.ConnectorId == _o.ConnectorId) return; // replaced here, by the registry
            _own.Remove(mine.SessionId);
            metrics.SessionsReplaced.Add(1, OtherConnector);
            LogReplacedElsewhere(logger, p.AgentId, mine.SessionId, p.ConnectorId, p.SessionId);
            mine.RequestClose(WebSocketCloseStatus.NormalClosure, "replaced by a newer session of the same agent on connector " + p.ConnectorId);
            relay.OnSessionEnded(mine);
        }
        else if (p.Status == PresenceStatus.Disconnected)
        {
            // An older session's end came after our start: under compaction it would be the agent's last record.
            Publish(mine, "still connected (an older session ended after this one began)");
        }
    }

    private void RefreshDue()
    {
        var now = time.GetUtcNow();
        foreach (var session in sessions.Snapshot())
        {
            if (!session.Closing.IsCancellationRequested && now - session.PresencePublishedAt >= _o.PresenceRefreshInterval) Publish(session, "still connected");
        }

        // Forget positions of sessions that are gone without a DISCONNECTED read back (yet).
        if (_own.Count > sessions.Count * 2 + 1024)
        {
            var live = sessions.Snapshot().Select(s => s.SessionId).ToHashSet(StringComparer.Ordinal);
            foreach (var id in _own.Keys.Where(id => !live.Contains(id)).ToList()) _own.Remove(id);
        }
    }

    private void Publish(AgentSession session, string reason)
    {
        var now = time.GetUtcNow();
        // Never the session's first CONNECTED: event_time differs from connected_time (readers tell a refresh by it).
        var at = now.ToUnixTimeMilliseconds() == session.ConnectedAt.ToUnixTimeMilliseconds() ? now.AddMilliseconds(1) : now;
        session.PresencePublishedAt = now;
        // Not awaited: the watch thread must not stall behind the producer's in-flight bound (the record waits for its slot).
        _ = publisher.PublishPresenceAsync(session.Presence(_o.ConnectorId, PresenceStatus.Connected, reason, at), CancellationToken.None).AsTask();
    }

    [LoggerMessage(EventId = 1951, Level = LogLevel.Warning, Message = "Agent {AgentId}: session {Session} closed, a newer session of the same agent id is on connector {Connector} ({NewSession}); two machines with one agent id?")]
    private static partial void LogReplacedElsewhere(ILogger logger, string agentId, string session, string connector, string newSession);

    [LoggerMessage(EventId = 1952, Level = LogLevel.Error, Message = "Topic {Topic} is not available ({Reason}); the connector is not ready; retrying in {Seconds:F1} s")]
    private static partial void LogUnavailable(ILogger logger, string topic, string reason, double seconds);

    [LoggerMessage(EventId = 1953, Level = LogLevel.Error, Message = "The presence watch failed on a record ({Reason}); it goes on with the next one")]
    private static partial void LogFailed(ILogger logger, string reason, Exception exception);
}
