using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Polly;
using StreamPipeline.Kafka.Consuming;
using StreamPipeline.Kafka.Resilience;
using StreamPipeline.ServiceDefaults.Hosting;
using StreamPipeline.Sink.Decoding;
using StreamPipeline.Sink.Loading;
using StreamPipeline.Sink.Telemetry;

namespace StreamPipeline.Sink.Consuming;

/// <summary>
/// The sink's consumer: a blocking <c>Consume()</c> loop on a dedicated thread. Each record goes to the
/// <see cref="PartitionBatcher"/> (decode, dead-letter, close); closed batches go to <see cref="BatchFlusher"/>, which
/// records the range, inserts with the range's token, and this thread commits <c>last + 1</c>. Partitions start along
/// a <see cref="ReplayPlan"/> and end through one method (SinkWorker.Partitions.cs). See docs/sink-exactly-once.md for
/// why a crash at any point neither loses nor duplicates rows.
/// </summary>
internal sealed partial class SinkWorker : IHostedService, IDisposable
{
    private static readonly TimeSpan LoopTimeout = TimeSpan.FromMilliseconds(100);

    private readonly SinkOptions _settings;
    private readonly SinkTopics _topics;
    private readonly ConsumerConfig _consumerConfig;
    private readonly BatchFlusher _flusher;
    private readonly ClickHouseLoader _loader;
    private readonly SchemaCatalog _schemas;
    private readonly PartitionBatcher _batcher;
    private readonly Func<CancellationToken, Task> _prepare;
    private readonly SinkMetrics _metrics;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Dictionary<TopicPartition, PartitionState> _partitions = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly ResiliencePipeline _registryWait;
    private long _insertedBatches;
    private bool _holding;
    private IConsumer<byte[]?, byte[]?>? _consumer;
    private Task? _loop;
    private Exception? _fatal;
    private long _lastLagUpdate;
    private long _lastCommitFailure;
    private bool _outage;
    private volatile bool _prepared;
    private volatile int _assigned;

    public SinkWorker(
        SinkOptions settings, ConsumerConfig consumerConfig, BatchFlusher flusher, ClickHouseLoader loader, SchemaCatalog schemas,
        Func<CancellationToken, Task> prepare, SinkMetrics metrics, IHostApplicationLifetime lifetime, ILogger<SinkWorker> logger, TimeProvider time)
    {
        _settings = settings;
        _topics = SinkTopics.From(settings);
        _consumerConfig = consumerConfig;
        _flusher = flusher;
        _loader = loader;
        _schemas = schemas;
        _prepare = prepare;
        _metrics = metrics;
        _lifetime = lifetime;
        _logger = logger;
        _time = time;
        _batcher = new PartitionBatcher(settings, ResolveSchema, metrics, time, logger);
        _registryWait = Retry.Forever(
            e => e is SchemaRegistryUnavailableException,
            (e, delay) =>
            {
                _metrics.SchemaLookupFailed(((SchemaRegistryUnavailableException)e).NotFound);
                LogRegistryUnavailable(_logger, e.Message, delay.TotalSeconds);
            },
            time, max: TimeSpan.FromSeconds(5));
    }

    /// <summary>Migrations applied and the dead-letter topic ensured.</summary>
    public bool Prepared => _prepared;

    /// <summary>Partitions this instance owns now.</summary>
    public int AssignedPartitions => _assigned;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = ConsumeThread.Start("sink-consumer", _ => Run(), _stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is not null) await Task.WhenAny(_loop).WaitAsync(cancellationToken);
    }

    public void Dispose() => _stopping.Dispose();

    private void Run()
    {
        try
        {
            _prepare(_stopping.Token).GetAwaiter().GetResult();
            _prepared = true;
            ConsumeLoop();
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopped before or while preparing.
        }
        catch (Exception e)
        {
            _fatal ??= e;
            var explanation = ClickHouseErrors.Explain(e, _settings.Database);
            LogFatal(_logger, explanation, e);
        }
        finally
        {
            if (_fatal is not null) _lifetime.StopApplication(ServiceExitCodes.SinkFatal);
        }
    }

    private void ConsumeLoop()
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(_consumerConfig)
            .SetPartitionsAssignedHandler(OnAssigned)
            .SetPartitionsRevokedHandler(OnRevoked)
            .SetPartitionsLostHandler((_, partitions) => OnLost(partitions))
            .SetErrorHandler((_, error) => LogKafkaError(_logger, error.Code.ToString(), error.Reason))
            .SetLogHandler((_, message) =>
            {
                if (message.Level <= SyslogLevel.Warning) LogKafkaClient(_logger, message.Name, message.Message);
            })
            .Build();
        _consumer = consumer;
        consumer.Subscribe(_topics.Names());
        LogStarted(_logger, _settings.GroupId, _settings.MetricsTopic, _settings.PresenceTopic, _settings.CommandResultsTopic, _settings.Database);
        while (!_stopping.IsCancellationRequested && _fatal is null)
        {
            ConsumeResult<byte[]?, byte[]?>? result = null;
            try
            {
                result = consumer.Consume(LoopTimeout);
            }
            catch (ConsumeException e)
            {
                LogConsumeError(_logger, e.Error.Code.ToString(), e.Error.Reason);
            }

            if (result is { IsPartitionEOF: false, Message: not null } && _partitions.TryGetValue(result.TopicPartition, out var state))
            {
                Handle(state, result);
            }

            Housekeeping(consumer);
        }

        if (_fatal is not null)
        {
            var explanation = ClickHouseErrors.Explain(_fatal, _settings.Database);
            LogFatal(_logger, explanation, _fatal);
            End(consumer, [.. _partitions.Values], PartitionEnd.Fatal);
            consumer.Close();
            return;
        }

        Drain(consumer);
    }

    private void Handle(PartitionState state, ConsumeResult<byte[]?, byte[]?> result)
    {
        switch (_batcher.Add(state, result.Offset.Value, result.Message))
        {
            case BatchStep.ReadAgain:
                _consumer!.Seek(result.TopicPartitionOffset);
                Pause(state);
                break;
            case BatchStep.Closed:
                TryDispatch(state);
                break;
        }
    }

    /// <summary>How to read a schema id (registry outages waited out here); null after an incompatible writer schema stopped the worker.</summary>
    private SchemaResolution? ResolveSchema(int schemaId, RecordKind kind)
    {
        try
        {
            // Per record: the static callback and its state allocate nothing; a known id returns at the first attempt.
            return _registryWait.Execute(static (lookup, _) => lookup.Schemas.Resolve(lookup.Id, lookup.Kind), (Schemas: _schemas, Id: schemaId, Kind: kind), _stopping.Token);
        }
        catch (SchemaIncompatibleException e)
        {
            // Nothing of this batch is recorded or committed: after the fix the sink resumes at the committed offset.
            _fatal ??= e;
            return null;
        }
    }

    private void Housekeeping(IConsumer<byte[]?, byte[]?> consumer)
    {
        foreach (var state in _partitions.Values)
        {
            CollectFlush(state, consuming: true);
            if (state.InFlight is null) _batcher.CloseIfDue(state);
            TryDispatch(state);
        }

        if (_fatal is not null) return;
        CommitPending(consumer);

        var outage = !_loader.Available;
        if (outage != _outage)
        {
            _outage = outage;
            if (outage) LogPausedForOutage(_logger, _partitions.Count);
            else LogResumedAfterOutage(_logger, _partitions.Count);
        }

        foreach (var state in _partitions.Values)
        {
            var shouldPause = outage || state.Current is { Closed: true };
            if (shouldPause && !state.Paused) Pause(state);
            else if (!shouldPause && state.Paused) Resume(state);
        }

        if (_time.GetElapsedTime(_lastLagUpdate) >= TimeSpan.FromSeconds(1))
        {
            _lastLagUpdate = _time.GetTimestamp();
            foreach (var state in _partitions.Values)
            {
                var watermarks = consumer.GetWatermarkOffsets(state.TopicPartition);
                var position = consumer.Position(state.TopicPartition);
                if (watermarks.High != Offset.Unset && position != Offset.Unset)
                {
                    _metrics.SetLag(state.TopicPartition.Topic, state.TopicPartition.Partition.Value, Math.Max(0, watermarks.High.Value - position.Value));
                }
            }
        }
    }

    private void TryDispatch(PartitionState state)
    {
        if (state.InFlight is not null || state.Current is not { Closed: true } batch || _fatal is not null) return;
        if (AtUncommittedBound()) return;
        state.Current = null;
        state.InFlightBatch = batch;
        var token = state.Cancel.Token;
        state.InFlight = Task.Run(() => _flusher.FlushAsync(batch, token), CancellationToken.None);
    }

    /// <summary>
    /// True while the batches inserted since the oldest uncommitted one (with the inserts in flight) reach
    /// <c>Sink:MaxUncommittedBatches</c>, or that batch is older than <c>Sink:MaxUncommittedAge</c>: a replay after a
    /// crash must stay inside every table's deduplication window (blocks, and seconds for replicated tables), so no
    /// new batch is inserted until a commit succeeds (the partitions pause, memory stays bounded).
    /// </summary>
    private bool AtUncommittedBound()
    {
        long? oldestSequence = null;
        long oldestTime = 0;
        var inFlight = 0;
        foreach (var s in _partitions.Values)
        {
            if (s.InFlight is not null) inFlight++;
            if (s.OldestUncommitted is { } o && (oldestSequence is null || o.Sequence < oldestSequence))
            {
                oldestSequence = o.Sequence;
                oldestTime = o.Timestamp;
            }
        }

        if (oldestSequence is null) return false;
        var held = _insertedBatches - oldestSequence.Value + 1 + inFlight >= _settings.MaxUncommittedBatches ||
                   _time.GetElapsedTime(oldestTime) >= _settings.MaxUncommittedAge;
        if (held && !_holding) LogHoldingForCommit(_logger, _insertedBatches - oldestSequence.Value + 1, _settings.MaxUncommittedBatches);
        _holding = held;
        return held;
    }

    /// <summary>
    /// Takes the outcome of a finished insert: remember the commit, or stop the worker on a non-transient error. A
    /// batch refused for its data is re-read and dead-lettered when <paramref name="consuming"/> (the consumer loop);
    /// otherwise (revoke, drain) it is left uncommitted and the next owner meets the same refusal.
    /// </summary>
    private void CollectFlush(PartitionState state, bool consuming = false)
    {
        if (state.InFlight is not { IsCompleted: true } task) return;
        var batch = state.InFlightBatch!;
        state.InFlight = null;
        state.InFlightBatch = null;
        if (task.IsCompletedSuccessfully && task.Result is { } rejection)
        {
            _metrics.BatchesRejected.Add(1);
            if (consuming)
            {
                // Everything read after the refused range is read again once its dead letters are out.
                var first = PartitionBatcher.Refused(state, batch, rejection);
                _consumer!.Seek(new TopicPartitionOffset(state.TopicPartition, first));
            }
        }
        else if (task.IsCompletedSuccessfully)
        {
            state.PendingCommit = batch.Range.Last + 1;
            _insertedBatches++;
            if (state.OldestUncommitted is null) state.OldestUncommitted = (_insertedBatches, _time.GetTimestamp());
            _metrics.BatchRecords.Record(batch.Records);
            if (batch.Replay is not null) _metrics.BatchesReplayed.Add(1);
        }
        else if (task.Exception?.InnerException is { } e && e is not OperationCanceledException)
        {
            _fatal ??= e;
        }

        batch.Dispose();
    }

    /// <summary>Commits what is inserted, at most once a second while commits fail.</summary>
    private void CommitPending(IConsumer<byte[]?, byte[]?> consumer)
    {
        if (PendingOffsets(_partitions.Values) is not { } offsets || (_lastCommitFailure != 0 && _time.GetElapsedTime(_lastCommitFailure) < TimeSpan.FromSeconds(1))) return;
        if (!TryCommit(consumer, offsets))
        {
            _lastCommitFailure = _time.GetTimestamp();
            return;
        }

        _lastCommitFailure = 0;
        foreach (var committed in offsets)
        {
            var state = _partitions[committed.TopicPartition];
            state.PendingCommit = null;
            state.OldestUncommitted = null;
        }
    }

    /// <summary>The offsets to commit of these partitions; null when none (no allocation on the common path).</summary>
    private static List<TopicPartitionOffset>? PendingOffsets(Dictionary<TopicPartition, PartitionState>.ValueCollection states)
    {
        List<TopicPartitionOffset>? offsets = null;
        foreach (var state in states)
        {
            if (state.PendingCommit is { } offset) (offsets ??= []).Add(new TopicPartitionOffset(state.TopicPartition, offset));
        }

        return offsets;
    }

    private bool TryCommit(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> offsets)
    {
        try
        {
            consumer.Commit(offsets);
            return true;
        }
        catch (KafkaException e)
        {
            // The rows are in ClickHouse; if this commit never happens, the range is replayed with its token (a no-op).
            LogCommitFailed(_logger, e.Error.Code.ToString(), e.Error.Reason);
            return false;
        }
    }

    private void Pause(PartitionState state)
    {
        if (state.Paused) return;
        _consumer!.Pause([state.TopicPartition]);
        state.Paused = true;
        _metrics.Pauses.Add(1);
    }

    private void Resume(PartitionState state)
    {
        _consumer!.Resume([state.TopicPartition]);
        state.Paused = false;
    }
}
