using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.EdgeConnector.Publishing;
using StreamPipeline.EdgeConnector.Telemetry;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Consuming;
using StreamPipeline.Kafka.Credentials;
using StreamPipeline.Kafka.Resilience;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.ServiceDefaults.Hosting;

namespace StreamPipeline.EdgeConnector.Authentication;

/// <summary>
/// The credential store every connector follows (<c>EdgeConnector:CredentialStore=kafka</c>): the compacted
/// <c>agent-credentials</c> topic (<see cref="CredentialRecord"/>: token hashes keyed by agent id, never tokens), read
/// whole from the beginning, without a consumer group, before the connector is ready, then followed. A record that
/// revokes, replaces or removes (tombstone) an agent's active token raises <see cref="Changed"/>, so that agent's live
/// session on this connector is closed by <see cref="Sessions.CredentialEnforcer"/>. Written by <c>spctl tokens</c>.
/// </summary>
internal sealed partial class KafkaCredentialStore(
    IOptions<EdgeConnectorOptions> options, IOptions<KafkaOptions> kafka, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<KafkaCredentialStore> logger)
    : BackgroundService, ICredentialStore, ICredentialChangeFeed
{
    private readonly EdgeConnectorOptions _o = options.Value;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _generation = 1;
    private volatile bool _loaded;
    private long _lastLoop;

    /// <inheritdoc />
    public event Action<CredentialChangeSet>? Changed;

    /// <inheritdoc />
    public bool IsReady => _loaded;

    /// <summary>False when the follow loop has not turned for a while.</summary>
    public bool IsAlive => _loaded && time.GetElapsedTime(Interlocked.Read(ref _lastLoop)) < TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public string NotReadyReason => _loaded
        ? $"credential store stalled: its loop has not run for 30 s ({_o.CredentialsTopic})"
        : $"credential store not read to the end of '{_o.CredentialsTopic}' yet (Kafka unreachable?)";

    public int Count => _entries.Count;

    /// <summary>The store's version: 1 at start, one more at each change that revoked, replaced or removed a token.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <inheritdoc />
    public TokenCheck Check(string agentId, string token, out long generation)
    {
        // The generation is read before the entry: a change is written to the entry first, then counted, so a session
        // that saw the old entry always carries a generation older than the change that closes it.
        generation = Interlocked.Read(ref _generation);
        if (!_entries.TryGetValue(agentId, out var entry)) return TokenCheck.UnknownAgent;
        if (!AgentTokens.Matches(token, entry.Hash)) return TokenCheck.WrongToken;
        return entry.Revoked ? TokenCheck.Revoked : TokenCheck.Valid;
    }

    /// <inheritdoc />
    public bool Knows(string agentId) => _entries.ContainsKey(agentId);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var loop = ConsumeThread.Start("connector-credentials", Run, stoppingToken);
        // A connector whose store stopped following the topic would let revoked tokens in: it ends instead.
        loop.ContinueWith(t =>
        {
            var failure = t.Exception!.GetBaseException();
            LogFatal(logger, _o.CredentialsTopic, failure.Message, failure);
            lifetime.StopApplication(ServiceExitCodes.FatalDependency);
        }, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return loop;
    }

    private void Run(CancellationToken stop)
    {
        var topic = _o.CredentialsTopic;
        // A group id is required by the client; nothing is ever committed (every start reads the whole topic).
        var config = kafka.Value.ConsumerConfig("edge-credentials-" + _o.ConnectorId, "edge-credentials-" + _o.ConnectorId);
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, e) => KafkaClientLog.Error(logger, e))
            .Build();
        var retry = Retry.Forever(e => e is KafkaException or TopicMissingException, (e, delay) =>
        {
            Interlocked.Exchange(ref _lastLoop, time.GetTimestamp());
            LogUnavailable(logger, topic, e.Message, delay.TotalSeconds);
        }, time);
        var started = time.GetTimestamp();
        var partitions = retry.Execute(static (s, _) => TopicPartitions.PartitionCount(s.Handle, s.Topic), (consumer.Handle, Topic: topic), stop);
        var ends = new Dictionary<TopicPartition, long>();
        for (var p = 0; p < partitions; p++)
        {
            var tp = new TopicPartition(topic, p);
            var w = retry.Execute(static (s, _) => s.Consumer.QueryWatermarkOffsets(s.Tp, TimeSpan.FromSeconds(10)), (Consumer: consumer, Tp: tp), stop);
            if (w.High.Value > w.Low.Value) ends[tp] = w.High.Value;
        }

        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var changes = new List<CredentialChange>();
        var lastAlive = time.GetTimestamp();
        while (!stop.IsCancellationRequested)
        {
            Interlocked.Exchange(ref _lastLoop, time.GetTimestamp());
            try
            {
                var cr = consumer.Consume(TimeSpan.FromMilliseconds(_loaded ? 200 : 50));
                if (cr?.Message is { } message)
                {
                    Apply(message.Key, message.Value, cr.TopicPartitionOffset, _loaded ? changes : null);
                    if (!_loaded && ends.TryGetValue(cr.TopicPartition, out var end) && cr.Offset.Value + 1 >= end) ends.Remove(cr.TopicPartition);
                    // Changes are announced in batches of what is already fetched, so a bulk revoke is one generation.
                    if (changes.Count < 10_000 && time.GetElapsedTime(lastAlive) < TimeSpan.FromSeconds(1)) continue;
                }

                lastAlive = time.GetTimestamp();
                if (changes.Count > 0) Announce(changes);
                if (!_loaded)
                {
                    foreach (var tp in ends.Keys.ToList())
                    {
                        // Offsets at the end that hold no record (compacted away) are passed once the position is beyond them.
                        if (consumer.Position(tp).Value >= ends[tp]) ends.Remove(tp);
                    }

                    if (ends.Count == 0)
                    {
                        _loaded = true;
                        var count = _entries.Count;
                        var seconds = time.GetElapsedTime(started).TotalSeconds;
                        LogLoaded(logger, topic, count, seconds);
                    }
                }
            }
            catch (ConsumeException e)
            {
                KafkaClientLog.Error(logger, e.Error);
            }
            catch (KafkaException e)
            {
                KafkaClientLog.Error(logger, e.Error);
            }
        }

        consumer.Close();
    }

    private void Apply(byte[]? key, byte[]? value, TopicPartitionOffset at, List<CredentialChange>? changes)
    {
        if (key is null || key.Length == 0)
        {
            LogBadRecord(logger, at.Topic, at.Partition.Value, at.Offset.Value, "no key (the key is the agent id)");
            return;
        }

        var agentId = Encoding.UTF8.GetString(key);
        _entries.TryGetValue(agentId, out var before);
        if (value is null)
        {
            if (!_entries.TryRemove(agentId, out _)) return;
            if (before is { Revoked: false }) changes?.Add(new CredentialChange(agentId, CredentialChangeKind.Removed));
            return;
        }

        // The reason never quotes the value: it holds a hash, and a broken writer could have put a token there.
        if (!CredentialRecord.TryParse(value, out var record, out var problem) || !AgentTokens.TryParseHash(record.Hash, out var hash))
        {
            LogBadRecord(logger, at.Topic, at.Partition.Value, at.Offset.Value, problem);
            return;
        }

        var after = new Entry(hash, record.Status == CredentialStatus.Revoked);
        _entries[agentId] = after;
        if (before is null || before.Revoked) return; // nothing live authenticated with it
        if (after.Revoked) changes?.Add(new CredentialChange(agentId, CredentialChangeKind.Revoked));
        else if (!CryptographicOperations.FixedTimeEquals(before.Hash, after.Hash)) changes?.Add(new CredentialChange(agentId, CredentialChangeKind.Replaced));
    }

    private void Announce(List<CredentialChange> changes)
    {
        var set = new CredentialChangeSet(Interlocked.Increment(ref _generation), changes.ToArray());
        changes.Clear();
        LogCredentialsChanged(logger, _o.CredentialsTopic, set.Changes.Count, set.Generation);
        Changed?.Invoke(set);
    }

    private sealed record Entry(byte[] Hash, bool Revoked);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Information, Message = "Credential store {Topic} read to its end: {Count} agents, in {Seconds:F1} s; the connector follows it")]
    private static partial void LogLoaded(ILogger logger, string topic, int count, double seconds);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Error, Message = "Credential store topic {Topic} is not available ({Reason}); the connector is not ready; retrying in {Seconds:F1} s")]
    private static partial void LogUnavailable(ILogger logger, string topic, string reason, double seconds);

    [LoggerMessage(EventId = 1113, Level = LogLevel.Information, Message = "Credential store {Topic}: {Count} agents' tokens revoked, replaced or removed (generation {Generation}); their live sessions are closed")]
    private static partial void LogCredentialsChanged(ILogger logger, string topic, int count, long generation);

    [LoggerMessage(EventId = 1114, Level = LogLevel.Warning, Message = "Credential store {Topic} partition {Partition} offset {Offset} skipped: {Problem}")]
    private static partial void LogBadRecord(ILogger logger, string topic, int partition, long offset, string problem);

    [LoggerMessage(EventId = 1115, Level = LogLevel.Critical, Message = "Credential store {Topic}: its follow loop died ({Reason}); the connector stops (exit code 3) rather than authenticate against a table it no longer updates")]
    private static partial void LogFatal(ILogger logger, string topic, string reason, Exception exception);
}
