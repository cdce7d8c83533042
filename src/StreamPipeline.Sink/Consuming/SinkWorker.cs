using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamPipeline.Sink.DeadLetters;
using StreamPipeline.Sink.Decoding;
using StreamPipeline.Sink.Loading;
using StreamPipeline.Sink.Telemetry;

namespace StreamPipeline.Sink.Consuming;

/// <summary>
/// The sink's consumer: a blocking <c>Consume()</c> loop on a dedicated thread that batches each partition's records
/// along contiguous offset ranges and hands full (or old enough) batches to <see cref="BatchFlusher"/>; the flusher
/// records the range, inserts with the range's token, and this thread commits <c>last + 1</c>. See
/// docs/sink-exactly-once.md for why a crash at any point neither loses nor duplicates rows.
/// </summary>
internal sealed partial class SinkWorker : IHostedService, IDisposable
{
    private static readonly TimeSpan LoopTimeout = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan RevokeWait = TimeSpan.FromSeconds(30);

    private readonly SinkOptions _settings;
    private readonly ConsumerConfig _consumerConfig;
    private readonly BatchFlusher _flusher;
    private readonly ClickHouseLoader _loader;
    private readonly SchemaCatalog _schemas;
    private readonly Func<CancellationToken, Task> _prepare;
    private readonly SinkMetrics _metrics;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Dictionary<TopicPartition, PartitionState> _partitions = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly AvroOutput _transcoded = new();
    private readonly long _maxClockSkewMs;
    private long _insertedBatches;
    private bool _holding;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IConsumer<byte[]?, byte[]?>? _consumer;
    private Thread? _thread;
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
        _consumerConfig = consumerConfig;
        _flusher = flusher;
        _loader = loader;
        _schemas = schemas;
        _prepare = prepare;
        _metrics = metrics;
        _lifetime = lifetime;
        _logger = logger;
        _time = time;
        _maxClockSkewMs = (long)settings.MaxClockSkew.TotalMilliseconds;
    }

    /// <summary>Migrations applied and the dead-letter topic ensured.</summary>
    public bool Prepared => _prepared;

    /// <summary>Partitions this instance owns now.</summary>
    public int AssignedPartitions => _assigned;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _thread = new Thread(Run) { Name = "sink-consumer", IsBackground = true };
        _thread.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_thread is not null) await _stopped.Task.WaitAsync(cancellationToken);
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
            if (_fatal is not null)
            {
                Environment.ExitCode = 2;
                _lifetime.StopApplication();
            }

            _stopped.TrySetResult();
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
        List<string> topics = [_settings.MetricsTopic, _settings.PresenceTopic];
        if (!string.IsNullOrWhiteSpace(_settings.CommandResultsTopic)) topics.Add(_settings.CommandResultsTopic);
        if (!string.IsNullOrWhiteSpace(_settings.ConnectorDeadLetterTopic)) topics.Add(_settings.ConnectorDeadLetterTopic);
        consumer.Subscribe(topics);
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
            AbandonAll();
            consumer.Close();
            return;
        }

        Drain(consumer);
    }

    private void Handle(PartitionState state, ConsumeResult<byte[]?, byte[]?> result)
    {
        var offset = result.Offset.Value;
        var batch = state.Current;
        if (batch is not null && batch.Replay is { } range && offset > range.Last && !batch.Closed)
        {
            // The recorded range ends before this record (its tail was deleted by retention): close it as recorded.
            batch.Closed = true;
            if (batch.Rejection is null) state.Replay.Dequeue();
        }

        if (batch is not null && batch.Closed)
        {
            // A record fetched before the partition was paused: read it again after the batch is inserted.
            _consumer!.Seek(result.TopicPartitionOffset);
            Pause(state);
            return;
        }

        if (batch is null && state.Rejected is { } rejected)
        {
            // Re-reading a range ClickHouse refused, to dead-letter its records with the reason.
            state.Rejected = null;
            batch = state.Current = new PartitionBatch(state.TopicPartition, state.Kind, _time.GetTimestamp(), (rejected.First, rejected.Last)) { Rejection = rejected.Error };
        }

        if (batch is null)
        {
            (long, long)? replay = null;
            while (state.Replay.Count > 0)
            {
                var next = state.Replay.Peek();
                if (offset <= next.Last)
                {
                    replay = next;
                    break;
                }

                // Nothing of that recorded range is left in Kafka.
                LogReplayRangeGone(_logger, state.TopicPartition.Topic, state.TopicPartition.Partition.Value, next.First, next.Last);
                state.Replay.Dequeue();
            }

            batch = state.Current = new PartitionBatch(state.TopicPartition, state.Kind, _time.GetTimestamp(), replay);
        }

        _metrics.RecordsConsumed.Add(1);
        var value = result.Message.Value;
        string? reason = null, error = null;
        if (batch.Rejection is { } rejection)
        {
            reason = "batch_rejected";
            error = rejection;
        }
        else if (state.Kind == RecordKind.ConnectorDeadLetter)
        {
            // Indexed from its headers; whatever they hold, the row is written (never dead-lettered again).
            DeadLetterRows.AppendConnectorLetter(result.Message.Headers, result.Message.Key, result.TopicPartitionOffset, result.Message.Timestamp, _time.GetUtcNow().ToUnixTimeMilliseconds(), batch.Rows[0]);
        }
        else if (value is null || !RecordDecoder.TryUnframe(value, out var schemaId, out var body))
        {
            reason = "bad_magic_byte";
            error = value is null ? "Record has no value (null)." : "Not a Confluent-framed message (expected magic byte 0 and a 4-byte schema id).";
        }
        else if (ResolveSchema(schemaId, state.Kind) is not { Decode: true } schema)
        {
            if (_fatal is not null) return;
            reason = "unknown_schema_id";
            error = $"Schema id {schemaId} is not known to the Schema Registry (asked for Sink:SchemaNotFoundGrace), so it cannot be decoded as a {state.Kind} record.";
        }
        else
        {
            var partition = (ushort)result.Partition.Value;
            if (schema.Plan is { } plan)
            {
                // A writer schema other than the sink's own: rewrite the record into the sink's layout first (Avro schema resolution).
                _transcoded.Reset();
                var writer = new AvroSpanReader(body);
                plan.Transcode(ref writer, _transcoded);
                if (writer.Error is null && !writer.End) writer.Fail("Bytes left over after the record: the data does not match its writer schema.");
                error = writer.Error;
                body = _transcoded.Written;
            }

            if (error is null)
            {
                error = RecordDecoder.Append(state.Kind, body, partition, (ulong)offset, batch.Rows, _maxClockSkewMs, out var skewed);
                if (skewed) _metrics.ClockSkewedSamples.Add(1);
            }

            if (error is not null) reason = "invalid_avro";
        }

        if (reason is not null)
        {
            // Metrics and presence are keyed by agent id (docs/kafka-topics.md).
            var agentId = state.Kind is RecordKind.Metrics or RecordKind.Presence && result.Message.Key is { } key ? System.Text.Encoding.UTF8.GetString(key) : null;
            batch.AddDeadLetter(new DeadLetter(result.TopicPartitionOffset, result.Message.Key, value, reason, error!, agentId));
            _metrics.DeadLetter(reason);
            if (batch.Rejection is null) LogDeadLetter(_logger, result.Topic, result.Partition.Value, offset, reason, error!);
        }

        batch.Added(offset);
        if (batch.Replay is { } replayRange ? offset >= replayRange.Last : batch.Records >= _settings.BatchMaxRows || batch.Bytes >= _settings.BatchMaxBytes)
        {
            if (batch.Replay is not null && batch.Rejection is null) state.Replay.Dequeue();
            batch.Closed = true;
            TryDispatch(state);
        }
    }

    /// <summary>How to read a schema id; null after an incompatible writer schema stopped the worker.</summary>
    private SchemaResolution? ResolveSchema(int schemaId, RecordKind kind)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                return _schemas.Resolve(schemaId, kind);
            }
            catch (SchemaRegistryUnavailableException e)
            {
                _metrics.SchemaLookupFailed(e.NotFound);
                LogRegistryUnavailable(_logger, e.Message, delay.TotalSeconds);
                if (_stopping.Token.WaitHandle.WaitOne(delay)) throw new OperationCanceledException(_stopping.Token);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5_000));
            }
            catch (SchemaIncompatibleException e)
            {
                // Nothing of this batch is recorded or committed: after the fix the sink resumes at the committed offset.
                _fatal ??= e;
                return null;
            }
        }
    }

    private void Housekeeping(IConsumer<byte[]?, byte[]?> consumer)
    {
        foreach (var state in _partitions.Values)
        {
            CollectFlush(state, consuming: true);
            if (state.InFlight is null && state.Current is { Records: > 0 } current && !current.Closed && current.Replay is null &&
                _time.GetElapsedTime(current.StartedAt) >= _settings.BatchMaxDelay)
            {
                current.Closed = true;
            }

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
                var (first, last) = batch.Range;
                if (state.Current is { Closed: true, Rejection: null, Replay: { } recorded })
                {
                    // A recorded range already taken off the replay queue: it must still be re-read along its recorded bounds.
                    var queue = new Queue<(long First, long Last)>([recorded, .. state.Replay]);
                    state.Replay.Clear();
                    foreach (var range in queue) state.Replay.Enqueue(range);
                }

                state.Current?.Dispose();
                state.Current = null;
                state.Rejected = (first, last, rejection);
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

    private void CommitPending(IConsumer<byte[]?, byte[]?> consumer)
    {
        List<TopicPartitionOffset>? offsets = null;
        foreach (var state in _partitions.Values)
        {
            if (state.PendingCommit is { } offset) (offsets ??= []).Add(new TopicPartitionOffset(state.TopicPartition, offset));
        }

        if (offsets is null || (_lastCommitFailure != 0 && _time.GetElapsedTime(_lastCommitFailure) < TimeSpan.FromSeconds(1))) return;
        try
        {
            consumer.Commit(offsets);
            _lastCommitFailure = 0;
            foreach (var committed in offsets)
            {
                var state = _partitions[committed.TopicPartition];
                state.PendingCommit = null;
                state.OldestUncommitted = null;
            }
        }
        catch (KafkaException e)
        {
            // The rows are in ClickHouse; if this commit never happens, the range is replayed with its token (a no-op).
            _lastCommitFailure = _time.GetTimestamp();
            LogCommitFailed(_logger, e.Error.Code.ToString(), e.Error.Reason);
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

    /// <summary>Called inside Consume() when the group gives this instance partitions: replay what was recorded but not committed.</summary>
    internal IEnumerable<TopicPartitionOffset> OnAssigned(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartition> partitions)
    {
        _consumer = consumer;
        var start = new List<TopicPartitionOffset>(partitions.Count);
        foreach (var tp in partitions)
        {
            var kind = tp.Topic == _settings.MetricsTopic ? RecordKind.Metrics
                : tp.Topic == _settings.PresenceTopic ? RecordKind.Presence
                : tp.Topic == _settings.ConnectorDeadLetterTopic ? RecordKind.ConnectorDeadLetter
                : RecordKind.CommandResult;
            var committed = consumer.Committed([tp], TimeSpan.FromSeconds(30))[0].Offset;
            var from = committed.IsSpecial ? consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(30)).Low.Value : committed.Value;
            var recorded = RecordedRanges(tp, from);
            var replay = new Queue<(long First, long Last)>();
            var previousLast = -1L;
            if (recorded.Count > 0 && !committed.IsSpecial && committed.Value < recorded[0].First)
            {
                // Records between the commit and the first recorded range were never recorded: batch them on their own.
                replay.Enqueue((committed.Value, recorded[0].First - 1));
                previousLast = recorded[0].First - 1;
            }

            foreach (var range in recorded)
            {
                if (range.First <= previousLast) continue;
                replay.Enqueue(range);
                previousLast = range.Last;
            }

            _partitions[tp] = new PartitionState(tp, kind, replay);
            if (replay.Count > 0)
            {
                var first = replay.Peek().First;
                LogReplaying(_logger, tp.Topic, tp.Partition.Value, replay.Count, first, previousLast);
                start.Add(new TopicPartitionOffset(tp, first));
            }
            else
            {
                start.Add(new TopicPartitionOffset(tp, Offset.Unset));
            }
        }

        _assigned = _partitions.Count;
        var names = string.Join(", ", partitions);
        LogAssigned(_logger, partitions.Count, names);
        return start;
    }

    private List<(long First, long Last)> RecordedRanges(TopicPartition tp, long from)
    {
        while (true)
        {
            try
            {
                return _loader.RecordedRangesAsync(_settings.GroupId, tp.Topic, tp.Partition.Value, from, _stopping.Token).GetAwaiter().GetResult();
            }
            catch (Exception e) when (ClickHouseErrors.IsTransient(e) && !_stopping.IsCancellationRequested)
            {
                LogRecordedRangesUnavailable(_logger, tp.Topic, tp.Partition.Value, e.Message);
                _stopping.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>Called inside Consume() before partitions go to another member: finish (or give up) the insert in flight, commit what is inserted, drop the rest.</summary>
    internal void OnRevoked(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> partitions)
    {
        var deadline = Stopwatch.StartNew();
        var leaving = new List<PartitionState>();
        foreach (var tpo in partitions)
        {
            if (_partitions.Remove(tpo.TopicPartition, out var state)) leaving.Add(state);
        }

        foreach (var state in leaving)
        {
            if (state.InFlight is { } task)
            {
                var left = RevokeWait - deadline.Elapsed;
                if (left <= TimeSpan.Zero || !WaitQuietly(task, left))
                {
                    // ClickHouse is down: the next owner replays the recorded range with the same token.
                    state.Cancel.Cancel();
                    WaitQuietly(task, TimeSpan.FromSeconds(5));
                }

                CollectFlush(state);
            }
        }

        var offsets = new List<TopicPartitionOffset>();
        foreach (var state in leaving)
        {
            if (state.PendingCommit is { } offset) offsets.Add(new TopicPartitionOffset(state.TopicPartition, offset));
        }

        if (offsets.Count > 0)
        {
            try
            {
                consumer.Commit(offsets);
            }
            catch (KafkaException e)
            {
                LogCommitFailed(_logger, e.Error.Code.ToString(), e.Error.Reason);
            }
        }

        foreach (var state in leaving) Forget(state);
        _assigned = _partitions.Count;
        var names = string.Join(", ", partitions);
        LogRevoked(_logger, partitions.Count, names);
    }

    /// <summary>Called when the group took partitions away without a revoke (session lost): never commit for them.</summary>
    internal void OnLost(List<TopicPartitionOffset> partitions)
    {
        foreach (var tpo in partitions)
        {
            if (!_partitions.Remove(tpo.TopicPartition, out var state)) continue;
            state.Cancel.Cancel();
            if (state.InFlight is { } task) WaitQuietly(task, TimeSpan.FromSeconds(5));
            ReleaseInFlight(state);
            Forget(state);
        }

        _assigned = _partitions.Count;
        LogLost(_logger, partitions.Count);
    }

    private void Forget(PartitionState state)
    {
        state.Current?.Dispose();
        state.Current = null;
        _metrics.RemoveLag(state.TopicPartition.Topic, state.TopicPartition.Partition.Value);
        // An insert abandoned after the revoke wait may still observe its token: dispose only when nothing runs.
        if (state.InFlight is null or { IsCompleted: true }) state.Cancel.Dispose();
    }

    /// <summary>SIGTERM: stop consuming, insert the batches in memory, commit, leave the group. Bounded by Sink:DrainTimeout.</summary>
    private void Drain(IConsumer<byte[]?, byte[]?> consumer)
    {
        var started = Stopwatch.StartNew();
        var batches = 0;
        foreach (var state in _partitions.Values)
        {
            if (state.Current is { Records: > 0 } current && (current.Replay is null || current.Closed))
            {
                current.Closed = true;
                batches++;
            }
        }

        while (started.Elapsed < _settings.DrainTimeout && _fatal is null)
        {
            var busy = false;
            foreach (var state in _partitions.Values)
            {
                CollectFlush(state);
                TryDispatch(state);
                busy |= state.InFlight is not null || state.Current is { Closed: true };
            }

            if (!busy) break;
            WaitForAnyInsert(TimeSpan.FromMilliseconds(50));
        }

        foreach (var state in _partitions.Values)
        {
            if (state.InFlight is not null)
            {
                state.Cancel.Cancel();
                WaitQuietly(state.InFlight, TimeSpan.FromSeconds(5));
                CollectFlush(state);
            }
        }

        _lastCommitFailure = 0;
        CommitPending(consumer);
        foreach (var state in _partitions.Values) Forget(state);
        _partitions.Clear();
        consumer.Close();
        LogDrained(_logger, batches, started.Elapsed.TotalMilliseconds);
    }

    private void AbandonAll()
    {
        foreach (var state in _partitions.Values)
        {
            state.Cancel.Cancel();
            if (state.InFlight is { } task) WaitQuietly(task, TimeSpan.FromSeconds(5));
            ReleaseInFlight(state);
            Forget(state);
        }

        _partitions.Clear();
    }

    /// <summary>Returns the in-flight batch's pooled buffers, but never while an abandoned insert may still stream them.</summary>
    private static void ReleaseInFlight(PartitionState state)
    {
        if (state.InFlightBatch is not { } batch) return;
        if (state.InFlight is null or { IsCompleted: true }) batch.Dispose();
        else state.InFlight.ContinueWith(_ => batch.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void WaitForAnyInsert(TimeSpan timeout)
    {
        var tasks = new List<Task>();
        foreach (var state in _partitions.Values)
        {
            if (state.InFlight is { } task) tasks.Add(task);
        }

        if (tasks.Count > 0) Task.WaitAny([.. tasks], timeout);
    }

    private static bool WaitQuietly(Task task, TimeSpan timeout)
    {
        try
        {
            return task.Wait(timeout);
        }
        catch (AggregateException)
        {
            return true;
        }
    }
}
