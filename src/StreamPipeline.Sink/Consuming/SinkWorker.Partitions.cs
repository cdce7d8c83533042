using Confluent.Kafka;
using StreamPipeline.Kafka.Resilience;
using StreamPipeline.Sink.Loading;

namespace StreamPipeline.Sink.Consuming;

/// <summary>How a partition starts (along its <see cref="ReplayPlan"/>) and the one way it ends.</summary>
internal sealed partial class SinkWorker
{
    private static readonly TimeSpan RevokeWait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan AbandonWait = TimeSpan.FromSeconds(5);

    /// <summary>Why a partition leaves this instance; each goes through <see cref="End"/>.</summary>
    private enum PartitionEnd
    {
        /// <summary>The group gives it to another member: finish the insert in flight (up to 30 s in all), commit what is inserted.</summary>
        Revoked,

        /// <summary>Shutdown, after the drain inserted what it could: give up what is still in flight, commit what is inserted.</summary>
        Drained,

        /// <summary>The session was lost: another member may own it already. Give up the insert, never commit.</summary>
        Lost,

        /// <summary>The worker stopped on an error: give up the insert, never commit.</summary>
        Fatal,
    }

    /// <summary>Called inside Consume() when the group gives this instance partitions: replay what was recorded but not committed.</summary>
    internal IEnumerable<TopicPartitionOffset> OnAssigned(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartition> partitions)
    {
        _consumer = consumer;
        var start = new List<TopicPartitionOffset>(partitions.Count);
        foreach (var tp in partitions)
        {
            var kind = (_topics.Find(tp.Topic) ?? throw new InvalidOperationException($"Assigned {tp}, a topic the sink does not consume.")).Kind;
            var committed = consumer.Committed([tp], TimeSpan.FromSeconds(30))[0].Offset;
            long? committedAt = committed.IsSpecial ? null : committed.Value;
            var from = committedAt ?? consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(30)).Low.Value;
            var plan = ReplayPlan.Build(committedAt, RecordedRanges(tp, from));
            _partitions[tp] = new PartitionState(tp, kind, plan);
            if (plan.StartOffset is { } first)
            {
                LogReplaying(_logger, tp.Topic, tp.Partition.Value, plan.Count, first, plan.LastOffset);
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

    /// <summary>The ledger's ranges of the partition from <paramref name="from"/>; waits for ClickHouse (the assignment cannot go on without them).</summary>
    private List<(long First, long Last)> RecordedRanges(TopicPartition tp, long from)
    {
        var retry = Retry.Forever(
            ClickHouseErrors.IsTransient,
            (e, _) => LogRecordedRangesUnavailable(_logger, tp.Topic, tp.Partition.Value, e.Message),
            _time, first: TimeSpan.FromSeconds(1), max: TimeSpan.FromSeconds(5));
        return retry.Execute(
            token => _loader.RecordedRangesAsync(_settings.GroupId, tp.Topic, tp.Partition.Value, from, token).GetAwaiter().GetResult(),
            _stopping.Token);
    }

    /// <summary>Called inside Consume() before partitions go to another member.</summary>
    internal void OnRevoked(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> partitions)
    {
        End(consumer, Owned(partitions), PartitionEnd.Revoked);
        var names = string.Join(", ", partitions);
        LogRevoked(_logger, partitions.Count, names);
    }

    /// <summary>Called when the group took partitions away without a revoke (session lost).</summary>
    internal void OnLost(List<TopicPartitionOffset> partitions)
    {
        End(_consumer!, Owned(partitions), PartitionEnd.Lost);
        LogLost(_logger, partitions.Count);
    }

    /// <summary>SIGTERM: stop consuming, insert the batches in memory, commit, leave the group. Bounded by Sink:DrainTimeout.</summary>
    private void Drain(IConsumer<byte[]?, byte[]?> consumer)
    {
        var started = _time.GetTimestamp();
        var batches = 0;
        foreach (var state in _partitions.Values)
        {
            if (PartitionBatcher.CloseForDrain(state)) batches++;
        }

        while (_time.GetElapsedTime(started) < _settings.DrainTimeout && _fatal is null)
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

        End(consumer, [.. _partitions.Values], PartitionEnd.Drained);
        consumer.Close();
        var elapsed = _time.GetElapsedTime(started);
        LogDrained(_logger, batches, elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// The one way partitions leave this instance. Revoked and drained partitions keep what is inserted: the insert in
    /// flight gets what is left of its wait (a revoke's 30 s, nothing after a drain), is cancelled past it (the next
    /// owner replays the recorded range under the same token), and the inserted offsets are committed. Lost partitions
    /// and a fatal stop give up the insert and commit nothing. Then the partition's memory is returned.
    /// </summary>
    private void End(IConsumer<byte[]?, byte[]?> consumer, List<PartitionState> leaving, PartitionEnd end)
    {
        var keepInserted = end is PartitionEnd.Revoked or PartitionEnd.Drained;
        var insertWait = end == PartitionEnd.Revoked ? RevokeWait : TimeSpan.Zero;
        var started = _time.GetTimestamp();
        List<TopicPartitionOffset>? offsets = null;
        foreach (var state in leaving)
        {
            _partitions.Remove(state.TopicPartition);
            if (!keepInserted)
            {
                state.Cancel.Cancel();
                if (state.InFlight is { } abandoned) WaitQuietly(abandoned, AbandonWait);
                ReleaseInFlight(state);
                continue;
            }

            if (state.InFlight is { } task)
            {
                var left = insertWait - _time.GetElapsedTime(started);
                if (left <= TimeSpan.Zero || !WaitQuietly(task, left))
                {
                    // ClickHouse is down (or the drain time is over): the next owner replays the recorded range with the same token.
                    state.Cancel.Cancel();
                    WaitQuietly(task, AbandonWait);
                }

                CollectFlush(state);
            }

            if (state.PendingCommit is { } offset) (offsets ??= []).Add(new TopicPartitionOffset(state.TopicPartition, offset));
        }

        if (offsets is not null) TryCommit(consumer, offsets);
        foreach (var state in leaving) Forget(state);
        _assigned = _partitions.Count;
    }

    /// <summary>The states of those partitions this instance owns.</summary>
    private List<PartitionState> Owned(List<TopicPartitionOffset> partitions)
    {
        var owned = new List<PartitionState>(partitions.Count);
        foreach (var tpo in partitions)
        {
            if (_partitions.TryGetValue(tpo.TopicPartition, out var state)) owned.Add(state);
        }

        return owned;
    }

    private void Forget(PartitionState state)
    {
        state.Current?.Dispose();
        state.Current = null;
        _metrics.RemoveLag(state.TopicPartition.Topic, state.TopicPartition.Partition.Value);
        // An insert abandoned after the revoke wait may still observe its token: dispose only when nothing runs.
        if (state.InFlight is null or { IsCompleted: true }) state.Cancel.Dispose();
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
