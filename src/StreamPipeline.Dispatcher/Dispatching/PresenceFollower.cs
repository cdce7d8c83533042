using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.Dispatcher.Commands;
using StreamPipeline.Dispatcher.Telemetry;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Consuming;
using StreamPipeline.Protocol;

namespace StreamPipeline.Dispatcher.Dispatching;

/// <summary>
/// Reads the whole presence topic (no group, from the beginning, for ever) into the engine's routing table, on a
/// dedicated thread. Each record goes in with its offset: sessions are ordered by where they appear in their agent's
/// partition, not by any connector's clock.
/// </summary>
internal sealed class PresenceFollower(
    IOptions<DispatcherOptions> options, IOptions<KafkaOptions> kafka, CommandEngine engine, DispatcherMetrics metrics, ILogger<PresenceFollower> logger) : IDisposable
{
    private readonly DispatcherOptions _o = options.Value;
    private readonly CancellationTokenSource _stop = new();
    private volatile bool _caughtUp;

    /// <summary>True once every partition was read to its end once.</summary>
    public bool CaughtUp => _caughtUp;

    /// <summary>The reading loop: faults if it died (the dispatcher cannot route without it).</summary>
    public Task Loop { get; private set; } = Task.CompletedTask;

    public void Start(int partitions) => Loop = ConsumeThread.Start("dispatcher-presence", _ => Run(partitions), _stop.Token);

    public void Stop()
    {
        _stop.Cancel();
        try
        {
            Loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // Already reported as fatal when it faulted.
        }
    }

    public void Dispose() => _stop.Dispose();

    private void Run(int partitions)
    {
        var config = kafka.Value.ConsumerConfig($"{_o.GroupId}-presence-{_o.DispatcherId}", "dispatcher-presence-" + _o.DispatcherId);
        config.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config)
            .SetErrorHandler((_, e) => Log.KafkaError(logger, e.Code.ToString(), e.Reason))
            .Build();
        var atEnd = new HashSet<int>();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(_o.PresenceTopic, p, Offset.Beginning)));
        while (!_stop.IsCancellationRequested)
        {
            ConsumeResult<Ignore, byte[]>? cr;
            try
            {
                cr = consumer.Consume(TimeSpan.FromMilliseconds(200));
            }
            catch (ConsumeException e)
            {
                Log.KafkaError(logger, e.Error.Code.ToString(), e.Error.Reason);
                continue;
            }

            if (cr is null) continue;
            if (cr.IsPartitionEOF)
            {
                if (!_caughtUp && atEnd.Add(cr.Partition.Value) && atEnd.Count == partitions)
                {
                    _caughtUp = true;
                    Log.PresenceCaughtUp(logger, engine.KnownAgents, _o.PresenceTopic);
                }

                continue;
            }

            AgentPresence presence;
            try
            {
                presence = AgentPresenceAvroReader.Read(cr.Message.Value, out _);
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException or NullReferenceException)
            {
                Log.Undecodable(logger, cr.Topic, cr.Partition.Value, cr.Offset.Value, e.Message);
                metrics.Ignored("undecodable_presence");
                continue;
            }

            engine.OnPresence(presence, cr.Offset.Value);
        }

        consumer.Close();
    }
}
