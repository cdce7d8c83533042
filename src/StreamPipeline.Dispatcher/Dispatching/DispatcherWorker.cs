using Avro.Generic;
using Confluent.Kafka;
using Confluent.Kafka.SyncOverAsync;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.Dispatcher.Commands;
using StreamPipeline.Dispatcher.Telemetry;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Protocol;

namespace StreamPipeline.Dispatcher.Dispatching;

/// <summary>
/// Runs the dispatcher on Kafka. One consumer in the shared group reads the commands topic and the connector
/// responses topic together: both have the same partition count and the range assignor gives partition i of both to
/// the same member, so the dispatcher that owns a command also gets its connector's answers (connectors reply on the
/// command's partition). A second, group-less consumer reads the whole presence topic into the routing table. Both
/// loops block in <c>Consume</c> on dedicated threads. Offsets of the commands topic are stored (and auto-committed)
/// only up to the lowest command whose result Kafka has not acknowledged yet.
/// </summary>
internal sealed class DispatcherWorker(
    IOptions<DispatcherOptions> dispatcherOptions, IOptions<KafkaOptions> kafkaOptions, DispatcherMetrics metrics,
    TimeProvider time, IHostApplicationLifetime lifetime, ILogger<DispatcherWorker> logger) : IHostedService, IDisposable
{
    private readonly DispatcherOptions _o = dispatcherOptions.Value;
    private readonly KafkaOptions _kafka = kafkaOptions.Value;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _presenceStop = new();
    private readonly TaskCompletionSource _consumeDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _startup = Task.CompletedTask;
    private CachedSchemaRegistryClient? _registry;
    private IProducer<string, byte[]>? _producer;
    private IDeserializer<GenericRecord>? _avro;
    private CommandEngine? _engine;
    private Thread? _consumeThread;
    private Thread? _presenceThread;
    private ITimer? _ticker;
    private int _resultsPartitions;
    private volatile bool _presenceCaughtUp;
    private volatile bool _assigned;
    private volatile bool _draining;
    private volatile bool _killed;
    private long _frozenUntilTicks;

    /// <summary>Tests: the consume loop stops for <paramref name="duration"/> (a stalled thread) while the rest runs on.</summary>
    internal void FreezeConsumeLoop(TimeSpan duration) => Interlocked.Exchange(ref _frozenUntilTicks, DateTime.UtcNow.Add(duration).Ticks);

    /// <summary>Ready: presence table caught up, joined the group (partitions assigned), not draining.</summary>
    public bool IsReady => _presenceCaughtUp && _assigned && !_draining;

    public string Describe() =>
        _draining ? "draining" :
        _engine is null ? "starting (Schema Registry, topic metadata)" :
        !_presenceCaughtUp ? "reading the presence topic" :
        !_assigned ? "waiting for a partition assignment" :
        $"{_engine.InFlightCount} commands in flight, {_engine.WaitingCount} waiting, {_engine.KnownAgents} agents known";

    internal CommandEngine? Engine => _engine;

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
        if (_consumeThread is not null) await _consumeDone.Task.WaitAsync(cancellationToken);
        if (_ticker is not null) await _ticker.DisposeAsync();
        await _presenceStop.CancelAsync();
        _presenceThread?.Join(TimeSpan.FromSeconds(5));
        if (!_killed) _producer?.Flush(TimeSpan.FromSeconds(5));
    }

    /// <summary>Tests: stops as a crash would: no drain, no commit, no leaving the group.</summary>
    internal async Task KillAsync()
    {
        _killed = true;
        await StopAsync(CancellationToken.None);
    }

    public void Dispose()
    {
        _producer?.Dispose();
        _registry?.Dispose();
        _stopping.Dispose();
        _presenceStop.Dispose();
    }

    private async Task StartupAsync(CancellationToken ct)
    {
        try
        {
            _registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = _kafka.SchemaRegistryUrl });
            var (requestId, resultId, lateId) = await RegisterSchemasAsync(_registry, ct);
            _avro = new AvroDeserializer<GenericRecord>(_registry).AsSyncOverAsync();

            var producerConfig = _kafka.ProducerConfig("dispatcher-" + _o.DispatcherId);
            producerConfig.LingerMs = _o.ProducerLingerMs;
            // A result is never given up on: its offset is not committed until Kafka has it.
            producerConfig.MessageTimeoutMs = 0;
            producerConfig.QueueBufferingMaxMessages = 1_000_000;
            _producer = new ProducerBuilder<string, byte[]>(producerConfig)
                .SetErrorHandler((_, e) => Log.KafkaError(logger, e.Code.ToString(), e.Reason))
                .Build();

            var commandPartitions = PartitionCount(_o.CommandsTopic);
            var responsePartitions = PartitionCount(_o.ConnectorResponsesTopic);
            var requestPartitions = PartitionCount(_o.ConnectorRequestsTopic);
            _resultsPartitions = PartitionCount(_o.ResultsTopic);
            if (commandPartitions != responsePartitions)
            {
                throw new InvalidOperationException(
                    $"{_o.CommandsTopic} has {commandPartitions} partitions but {_o.ConnectorResponsesTopic} has {responsePartitions}; " +
                    "they must have the same count so a command and its responses go to the same dispatcher. Repartition one of them.");
            }

            if (commandPartitions > RequestIds.MaxPartitions)
            {
                throw new InvalidOperationException($"{_o.CommandsTopic} has {commandPartitions} partitions; request ids hold at most {RequestIds.MaxPartitions}.");
            }

            var output = new KafkaDispatchOutput(
                _producer,
                new AvroRecordWriter(ContractCodec.ConnectorRequestSchema, requestId),
                new AvroRecordWriter(ContractCodec.CommandResultSchema, resultId),
                new AvroRecordWriter(ContractCodec.ConnectorResponseSchema, lateId),
                requestPartitions, _o, logger);
            var engine = new CommandEngine(_o, output, metrics, time, logger);
            metrics.InFlight = () => engine.InFlightCount;
            metrics.Waiting = () => engine.WaitingCount;
            _engine = engine;

            _presenceThread = new Thread(PresenceLoop) { Name = "dispatcher-presence", IsBackground = true };
            _presenceThread.Start();
            while (!_presenceCaughtUp) await Task.Delay(20, ct);

            _ticker = time.CreateTimer(_ => engine.Tick(), null, _o.TickInterval, _o.TickInterval);
            _consumeThread = new Thread(ConsumeLoop) { Name = "dispatcher-consume", IsBackground = true };
            _consumeThread.Start();
            Log.Started(logger, _o.DispatcherId, _o.CommandsTopic, commandPartitions, _o.ConnectorRequestsTopic, requestPartitions, _o.GroupId, _o.RequestIdEpoch);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is InvalidOperationException or KafkaException or SchemaRegistryException)
        {
            Log.Fatal(logger, e.Message, e);
            Environment.ExitCode = 3;
            lifetime.StopApplication();
        }
    }

    private async Task<(int Request, int Result, int Late)> RegisterSchemasAsync(CachedSchemaRegistryClient registry, CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                var request = await registry.RegisterSchemaAsync(_o.ConnectorRequestsTopic + "-value", new Schema(ContractCodec.ConnectorRequestSchema.ToString(), SchemaType.Avro));
                var result = await registry.RegisterSchemaAsync(_o.ResultsTopic + "-value", new Schema(ContractCodec.CommandResultSchema.ToString(), SchemaType.Avro));
                var late = await registry.RegisterSchemaAsync(_o.LateResponsesTopic + "-value", new Schema(ContractCodec.ConnectorResponseSchema.ToString(), SchemaType.Avro));
                return (request, result, late);
            }
            catch (SchemaRegistryException e) when (e.Status == System.Net.HttpStatusCode.Conflict)
            {
                throw new InvalidOperationException(
                    $"Schema Registry at {_kafka.SchemaRegistryUrl} refused a command schema as incompatible ({e.Message}); make the change compatible or fix the subject's compatibility level.", e);
            }
            catch (Exception e) when (e is HttpRequestException or SchemaRegistryException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                Log.RegistryUnavailable(logger, _kafka.SchemaRegistryUrl, e.Message, delay.TotalSeconds);
                await Task.Delay(delay, ct);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 10_000));
            }
        }
    }

    private int PartitionCount(string topic)
    {
        using var admin = new DependentAdminClientBuilder(_producer!.Handle).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
        var t = metadata.Topics.Find(x => x.Topic == topic);
        if (t is null || t.Error.IsError || t.Partitions.Count == 0)
        {
            throw new InvalidOperationException(
                $"Topic '{topic}' is missing or unreadable at {_kafka.BootstrapServers} ({t?.Error.Reason ?? "no metadata"}). Create it (see docs/commands.md) or fix the Dispatcher topic settings.");
        }

        return t.Partitions.Count;
    }

    private void PresenceLoop()
    {
        var config = _kafka.ConsumerConfig($"{_o.GroupId}-presence-{_o.DispatcherId}", "dispatcher-presence-" + _o.DispatcherId);
        config.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config)
            .SetErrorHandler((_, e) => Log.KafkaError(logger, e.Code.ToString(), e.Reason))
            .Build();
        var partitions = PartitionCount(_o.PresenceTopic);
        var atEnd = new HashSet<int>();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(_o.PresenceTopic, p, Offset.Beginning)));
        while (!_presenceStop.IsCancellationRequested)
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
                if (!_presenceCaughtUp && atEnd.Add(cr.Partition.Value) && atEnd.Count == partitions)
                {
                    _presenceCaughtUp = true;
                    Log.PresenceCaughtUp(logger, _engine!.KnownAgents, _o.PresenceTopic);
                }

                continue;
            }

            AgentPresence presence;
            try
            {
                presence = AgentPresenceAvroReader.Read(cr.Message.Value, out _);
            }
            catch (InvalidDataException e)
            {
                Log.Undecodable(logger, cr.Topic, cr.Partition.Value, cr.Offset.Value, e.Message);
                metrics.Ignored("undecodable_presence");
                continue;
            }

            _engine!.OnPresence(presence);
        }

        consumer.Close();
    }

    private void ConsumeLoop()
    {
        var engine = _engine!;
        var config = _kafka.ConsumerConfig(_o.GroupId, "dispatcher-" + _o.DispatcherId);
        // Offsets are stored by hand (the watermark) and committed in the background and on rebalance and close.
        config.EnableAutoCommit = true;
        config.AutoCommitIntervalMs = (int)_o.CommitInterval.TotalMilliseconds;
        config.EnableAutoOffsetStore = false;
        config.PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range;
        IConsumer<string, byte[]>? consumer = null;
        try
        {
            consumer = new ConsumerBuilder<string, byte[]>(config)
                .SetErrorHandler((_, e) => Log.KafkaError(logger, e.Code.ToString(), e.Reason))
                .SetPartitionsAssignedHandler((_, tps) => OnAssigned(engine, tps))
                .SetPartitionsRevokedHandler((c, tpos) => OnRevoked(engine, c, tpos, commit: true))
                .SetPartitionsLostHandler((c, tpos) => OnRevoked(engine, c, tpos, commit: false))
                .Build();
            consumer.Subscribe([_o.CommandsTopic, _o.ConnectorResponsesTopic]);
            var commits = new List<(int, long)>();
            var pause = new List<int>();
            var resume = new List<int>();
            while (!_stopping.IsCancellationRequested)
            {
                while (DateTime.UtcNow.Ticks < Interlocked.Read(ref _frozenUntilTicks)) Thread.Sleep(50);
                Handle(engine, consumer, Consume(consumer), acceptCommands: true);
                Maintain(engine, consumer, commits, pause, resume);
            }

            if (!_killed) Drain(engine, consumer, commits, pause, resume);
        }
        catch (Exception e) when (e is RequestIdOutOfRangeException or KafkaException or InvalidOperationException)
        {
            Log.Fatal(logger, e.Message, e);
            Environment.ExitCode = 3;
            lifetime.StopApplication();
        }
        finally
        {
            try
            {
                if (!_killed) consumer?.Close();
            }
            catch (KafkaException e)
            {
                Log.KafkaError(logger, e.Error.Code.ToString(), e.Error.Reason);
            }

            consumer?.Dispose();
            _consumeDone.TrySetResult();
        }
    }

    private ConsumeResult<string, byte[]>? Consume(IConsumer<string, byte[]> consumer)
    {
        try
        {
            return consumer.Consume(TimeSpan.FromMilliseconds(100));
        }
        catch (ConsumeException e)
        {
            Log.KafkaError(logger, e.Error.Code.ToString(), e.Error.Reason);
            return null;
        }
    }

    private void Handle(CommandEngine engine, IConsumer<string, byte[]> consumer, ConsumeResult<string, byte[]>? cr, bool acceptCommands)
    {
        if (cr?.Message is null || cr.IsPartitionEOF) return;
        if (cr.Topic == _o.CommandsTopic)
        {
            // While draining, a command not handed to the engine is neither answered nor committed: the next owner gets it.
            if (!acceptCommands) return;
            var record = Decode(cr);
            engine.OnCommand(cr.Partition.Value, cr.Offset.Value, record is null ? null : ContractCodec.ToAgentCommand(record));
            return;
        }

        var response = Decode(cr);
        if (response is not null) engine.OnResponse(ContractCodec.ToConnectorResponse(response));
        else metrics.Ignored("undecodable_response");
        StoreOffset(consumer, new TopicPartitionOffset(cr.TopicPartition, cr.Offset + 1));
    }

    private GenericRecord? Decode(ConsumeResult<string, byte[]> cr)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                return _avro!.Deserialize(cr.Message.Value, cr.Message.Value is null, new SerializationContext(MessageComponentType.Value, cr.Topic, cr.Message.Headers));
            }
            catch (Exception e) when (IsTransient(e) && !_stopping.IsCancellationRequested)
            {
                // The registry is down and this schema id is not cached yet: wait rather than skip a command.
                Log.RegistryUnavailable(logger, _kafka.SchemaRegistryUrl, e.Message, delay.TotalSeconds);
                Thread.Sleep(delay);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5_000));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.Undecodable(logger, cr.Topic, cr.Partition.Value, cr.Offset.Value, e.Message);
                return null;
            }
        }
    }

    private static bool IsTransient(Exception e) =>
        e is HttpRequestException or TaskCanceledException || (e is SchemaRegistryException s && (int)s.Status >= 500);

    private void Maintain(CommandEngine engine, IConsumer<string, byte[]> consumer, List<(int, long)> commits, List<int> pause, List<int> resume)
    {
        engine.TakeFlowControl(pause, resume);
        try
        {
            if (pause.Count > 0) consumer.Pause(pause.Select(p => new TopicPartition(_o.CommandsTopic, p)));
            if (resume.Count > 0) consumer.Resume(resume.Select(p => new TopicPartition(_o.CommandsTopic, p)));
        }
        catch (KafkaException e)
        {
            // A partition revoked meanwhile: its next owner starts unpaused.
            Log.KafkaError(logger, e.Error.Code.ToString(), e.Error.Reason);
        }

        pause.Clear();
        resume.Clear();
        engine.TakeCommits(commits);
        foreach (var (p, offset) in commits) StoreOffset(consumer, new TopicPartitionOffset(_o.CommandsTopic, p, offset));
        commits.Clear();
    }

    private void StoreOffset(IConsumer<string, byte[]> consumer, TopicPartitionOffset offset)
    {
        try
        {
            consumer.StoreOffset(offset);
        }
        catch (KafkaException e)
        {
            // The partition was revoked meanwhile: its next owner starts from the last commit.
            Log.CommitFailed(logger, offset.ToString(), e.Error.Reason);
        }
    }

    private void Drain(CommandEngine engine, IConsumer<string, byte[]> consumer, List<(int, long)> commits, List<int> pause, List<int> resume)
    {
        try
        {
            consumer.Pause(engine.OwnedPartitions().Select(p => new TopicPartition(_o.CommandsTopic, p)));
        }
        catch (KafkaException e)
        {
            Log.KafkaError(logger, e.Error.Code.ToString(), e.Error.Reason);
        }

        Log.Draining(logger, engine.InFlightCount, _o.DrainTimeout.TotalSeconds);
        var start = time.GetTimestamp();
        while (engine.InFlightCount > 0 && time.GetElapsedTime(start) < _o.DrainTimeout)
        {
            Handle(engine, consumer, Consume(consumer), acceptCommands: false);
        }

        _producer!.Flush(TimeSpan.FromSeconds(10));
        engine.TakeFlowControl(pause, resume);
        engine.TakeCommits(commits);
        foreach (var (p, offset) in commits) StoreOffset(consumer, new TopicPartitionOffset(_o.CommandsTopic, p, offset));
        CommitStored(consumer);
        Log.Drained(logger, engine.InFlightCount, engine.WaitingCount);
    }

    private void CommitStored(IConsumer<string, byte[]> consumer)
    {
        try
        {
            consumer.Commit();
        }
        catch (KafkaException e) when (e.Error.Code == ErrorCode.Local_NoOffset)
        {
        }
        catch (KafkaException e)
        {
            Log.CommitFailed(logger, "(stored)", e.Error.Reason);
        }
    }

    private void OnAssigned(CommandEngine engine, List<TopicPartition> partitions)
    {
        var mine = partitions.Where(tp => tp.Topic == _o.CommandsTopic).Select(tp => tp.Partition.Value).ToList();
        engine.Assign(mine);
        var seeded = mine.Count > 0 ? SeedFromResultsTail(engine) : 0;
        _assigned = true;
        Log.Assigned(logger, mine, seeded, _o.ResultsTopic);
    }

    private void OnRevoked(CommandEngine engine, IConsumer<string, byte[]> consumer, List<TopicPartitionOffset> partitions, bool commit)
    {
        var mine = partitions.Where(tp => tp.Topic == _o.CommandsTopic).Select(tp => tp.Partition.Value).ToList();
        if (mine.Count == 0) return;
        // Results produced before the revocation count: their acknowledgements let the watermark move past them.
        if (commit && !_killed) _producer!.Flush(TimeSpan.FromSeconds(5));
        var (commits, dropped) = engine.Revoke(mine);
        if (commit && !_killed && commits.Count > 0)
        {
            var offsets = commits.Select(c => new TopicPartitionOffset(_o.CommandsTopic, c.Partition, c.Offset)).ToList();
            try
            {
                consumer.Commit(offsets);
            }
            catch (KafkaException e)
            {
                Log.CommitFailed(logger, string.Join(",", offsets), e.Error.Reason);
            }
        }

        Log.Revoked(logger, mine, dropped);
    }

    /// <summary>
    /// Reads the last <see cref="DispatcherOptions.ResultsTailRecords"/> keys (command ids) of each results partition, so
    /// a command answered just before a crash, and redelivered because its offset was not committed yet, is not
    /// answered twice.
    /// </summary>
    private int SeedFromResultsTail(CommandEngine engine)
    {
        if (_o.ResultsTailRecords == 0) return 0;
        var config = _kafka.ConsumerConfig($"{_o.GroupId}-seed-{_o.DispatcherId}", "dispatcher-seed-" + _o.DispatcherId);
        config.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<string, Ignore>(config).Build();
        var ids = new List<string>();
        var open = new HashSet<int>();
        var starts = new List<TopicPartitionOffset>();
        try
        {
            for (var p = 0; p < _resultsPartitions; p++)
            {
                var w = consumer.QueryWatermarkOffsets(new TopicPartition(_o.ResultsTopic, p), TimeSpan.FromSeconds(5));
                if (w.High.Value <= w.Low.Value) continue;
                starts.Add(new TopicPartitionOffset(_o.ResultsTopic, p, Math.Max(w.Low.Value, w.High.Value - _o.ResultsTailRecords)));
                open.Add(p);
            }

            consumer.Assign(starts);
            var budget = time.GetTimestamp();
            while (open.Count > 0 && time.GetElapsedTime(budget) < TimeSpan.FromSeconds(10))
            {
                var cr = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (cr is null) continue;
                if (cr.IsPartitionEOF) open.Remove(cr.Partition.Value);
                else if (cr.Message.Key is not null) ids.Add(cr.Message.Key);
            }

            if (open.Count > 0) Log.SeedIncomplete(logger, _o.ResultsTopic, $"{open.Count} partitions not read to the end within 10 s");
        }
        catch (KafkaException e)
        {
            Log.SeedIncomplete(logger, _o.ResultsTopic, e.Error.Reason);
        }

        consumer.Close();
        engine.SeedCompleted(ids);
        return ids.Count;
    }
}
