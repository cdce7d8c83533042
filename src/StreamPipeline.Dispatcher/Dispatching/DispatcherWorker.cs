using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.Dispatcher.Commands;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Kafka.Resilience;
using StreamPipeline.Kafka.Schemas;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.ServiceDefaults.Hosting;

namespace StreamPipeline.Dispatcher.Dispatching;

/// <summary>
/// Starts and stops the dispatcher's parts in order: schemas registered and topics checked, then the presence follower
/// (routing table caught up), then the timer and the group consumer. The parts (<see cref="PresenceFollower"/>,
/// <see cref="CommandConsumer"/>, <see cref="PartitionStateStore"/>, <see cref="KafkaDispatchOutput"/>) and the Kafka-free
/// <see cref="CommandEngine"/> are built by DI.
/// </summary>
internal sealed class DispatcherWorker(
    IOptions<DispatcherOptions> dispatcherOptions, IOptions<KafkaOptions> kafkaOptions, CommandEngine engine, KafkaDispatchOutput output,
    PartitionStateStore state, PresenceFollower presence, CommandConsumer consumer, TimeProvider time, IHostApplicationLifetime lifetime,
    ILogger<DispatcherWorker> logger) : IHostedService, IDisposable
{
    private readonly DispatcherOptions _o = dispatcherOptions.Value;
    private readonly KafkaOptions _kafka = kafkaOptions.Value;
    private readonly CancellationTokenSource _stopping = new();
    private Task _startup = Task.CompletedTask;
    private CachedSchemaRegistryClient? _registry;
    private ITimer? _ticker;
    private volatile bool _started;
    private volatile bool _draining;
    private volatile bool _killed;

    /// <summary>Ready: presence table caught up, joined the group (partitions assigned), not draining.</summary>
    public bool IsReady => presence.CaughtUp && consumer.Assigned && !_draining;

    public string Describe() =>
        _draining ? "draining" :
        !_started && !presence.CaughtUp ? "starting (Schema Registry, topic metadata, presence topic)" :
        !presence.CaughtUp ? "reading the presence topic" :
        !consumer.Assigned ? "waiting for a partition assignment" :
        $"{engine.InFlightCount} commands in flight, {engine.WaitingCount} waiting, {engine.KnownAgents} agents known" + (engine.IsFenced ? ", fenced (consume loop stalled)" : "");

    /// <summary>The engine once the dispatcher runs (tests and diagnostics).</summary>
    internal CommandEngine? Engine => _started ? engine : null;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _startup = Task.Run(() => StartupAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        await _stopping.CancelAsync();
        await _startup.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_started) await consumer.StopAsync(_killed, cancellationToken);
        if (_ticker is not null) await _ticker.DisposeAsync();
        presence.Stop();
        if (!_killed) output.Producer.Flush(TimeSpan.FromSeconds(5));
    }

    /// <summary>Tests: stops as a crash would: no drain, no commit, no leaving the group.</summary>
    internal async Task KillAsync()
    {
        _killed = true;
        await StopAsync(CancellationToken.None);
    }

    /// <summary>Tests: the consume loop stops for <paramref name="duration"/> (a stalled thread) while the rest runs on.</summary>
    internal void FreezeConsumeLoop(TimeSpan duration) => consumer.Freeze(duration);

    public void Dispose()
    {
        _registry?.Dispose();
        _stopping.Dispose();
    }

    private async Task StartupAsync(CancellationToken ct)
    {
        try
        {
            _registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = _kafka.SchemaRegistryUrl });
            var ids = await SchemaRegistration.RegisterAsync(_registry, _kafka.SchemaRegistryUrl,
            [
                (_o.ConnectorRequestsTopic + "-value", ContractCodec.ConnectorRequestSchema.ToString()),
                (_o.ResultsTopic + "-value", ContractCodec.CommandResultSchema.ToString()),
                (_o.LateResponsesTopic + "-value", ContractCodec.ConnectorResponseSchema.ToString()),
                (_o.StateTopic + "-value", ContractCodec.DispatcherStateSchema.ToString()),
            ], (e, delay) => Log.RegistryUnavailable(logger, _kafka.SchemaRegistryUrl, e.Message, delay.TotalSeconds), time, ct);

            var metadata = Retry.Forever(e => e is KafkaException, (e, delay) => Log.KafkaError(logger, "metadata", $"{e.Message}; retrying in {delay.TotalSeconds:0.0} s"), time);
            int Count(string topic) => metadata.Execute(static (s, _) => TopicPartitions.PartitionCount(s.Handle, s.Topic), (output.Producer.Handle, Topic: topic), ct);
            var commandPartitions = Count(_o.CommandsTopic);
            var responsePartitions = Count(_o.ConnectorResponsesTopic);
            var statePartitions = Count(_o.StateTopic);
            var requestPartitions = Count(_o.ConnectorRequestsTopic);
            var resultsPartitions = Count(_o.ResultsTopic);
            var presencePartitions = Count(_o.PresenceTopic);
            foreach (var (topic, count, why) in new[]
                     {
                         (_o.ConnectorResponsesTopic, responsePartitions, "a command and its responses go to the same dispatcher"),
                         (_o.StateTopic, statePartitions, "each commands partition has its own state partition"),
                     })
            {
                if (count != commandPartitions)
                {
                    throw new InvalidOperationException(
                        $"{_o.CommandsTopic} has {commandPartitions} partitions but {topic} has {count}; they must have the same count so {why}. Repartition one of them.");
                }
            }

            if (commandPartitions > RequestIds.MaxPartitions)
            {
                throw new InvalidOperationException($"{_o.CommandsTopic} has {commandPartitions} partitions; request ids hold at most {RequestIds.MaxPartitions}.");
            }

            output.Start(ids[0], ids[1], ids[2], requestPartitions, ResultsHighWatermarks(resultsPartitions));
            state.Start(ids[3], _registry, resultsPartitions);

            presence.Start(presencePartitions);
            StopIfFaulted(presence.Loop);
            while (!presence.CaughtUp && !presence.Loop.IsCompleted) await Task.Delay(20, ct);
            if (!presence.CaughtUp) return;

            _ticker = time.CreateTimer(_ => engine.Tick(), null, _o.TickInterval, _o.TickInterval);
            consumer.OnFatal = _ => lifetime.StopApplication(ServiceExitCodes.FatalDependency);
            consumer.Start(_registry, _kafka.SchemaRegistryUrl);
            StopIfFaulted(consumer.Done);
            _started = true;
            Log.Started(logger, _o.DispatcherId, _o.CommandsTopic, commandPartitions, _o.ConnectorRequestsTopic, requestPartitions, _o.GroupId, _o.RequestIdEpoch);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is InvalidOperationException or KafkaException or SchemaRegistryException or IncompatibleSchemaException or TopicMissingException)
        {
            Log.Fatal(logger, e.Message, e);
            lifetime.StopApplication(ServiceExitCodes.FatalDependency);
        }
    }

    /// <summary>A consume thread that died of an exception it did not handle ends the dispatcher (it cannot route or consume without it).</summary>
    private void StopIfFaulted(Task loop) => loop.ContinueWith(t =>
    {
        var failure = t.Exception!.GetBaseException();
        Log.Fatal(logger, failure.Message, failure);
        lifetime.StopApplication(ServiceExitCodes.FatalDependency);
    }, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    /// <summary>Where each results partition ends now: this producer's results all land at or after it.</summary>
    private long[] ResultsHighWatermarks(int partitions)
    {
        var config = _kafka.ConsumerConfig($"{_o.GroupId}-start-{_o.DispatcherId}", "dispatcher-start-" + _o.DispatcherId);
        using var reader = new ConsumerBuilder<Ignore, Ignore>(config).Build();
        var ends = new long[partitions];
        var retry = Retry.Forever(e => e is KafkaException, (e, delay) => Log.KafkaError(logger, "watermarks", $"{e.Message}; retrying in {delay.TotalSeconds:0.0} s"), time);
        for (var p = 0; p < partitions; p++)
        {
            ends[p] = retry.Execute(static (s, _) => s.Reader.QueryWatermarkOffsets(new TopicPartition(s.Topic, s.P), TimeSpan.FromSeconds(10)).High.Value,
                (Reader: reader, Topic: _o.ResultsTopic, P: p), _stopping.Token);
        }

        reader.Close();
        return ends;
    }
}
