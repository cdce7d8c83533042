using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.Dispatcher.Commands;
using StreamPipeline.Dispatcher.Telemetry;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.Kafka.Consuming;

namespace StreamPipeline.Dispatcher.Dispatching;

/// <summary>
/// The dispatcher's member of the consumer group, on a dedicated thread: it reads the commands topic and the connector
/// responses topic together (same partition count, range assignor: partition i of both comes to the same member), hands
/// records to the engine, stores the engine's watermark as the commit position, writes each changed partition's
/// snapshot to the state topic, restores partitions from their snapshot when they are assigned and hands them over
/// (final snapshot, commit) when they are revoked. While the engine is fenced after a stall it hands nothing over and
/// reads the records again later.
/// </summary>
internal sealed class CommandConsumer(
    IOptions<DispatcherOptions> options, IOptions<KafkaOptions> kafka, CommandEngine engine, KafkaDispatchOutput output,
    PartitionStateStore state, DispatcherMetrics metrics, TimeProvider time, ILogger<CommandConsumer> logger) : IDisposable
{
    private readonly DispatcherOptions _o = options.Value;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;
    private CommandRecordReader? _reader;
    private volatile bool _assigned;
    private volatile bool _killed;
    private long _frozenUntil;
    private long _lastSnapshot;

    /// <summary>Joined the group and got an assignment.</summary>
    public bool Assigned => _assigned;

    /// <summary>Completes when the loop has ended (drained, or killed).</summary>
    public Task Done => _loop ?? Task.CompletedTask;

    /// <summary>Runs when the loop hits a fatal error (it cannot go on without risking a repeated request id).</summary>
    public Action<Exception>? OnFatal { get; set; }

    public void Start(ISchemaRegistryClient registry, string registryUrl)
    {
        _reader = new CommandRecordReader(registry, registryUrl, time, logger, _stopping.Token);
        _loop = ConsumeThread.Start("dispatcher-consume", _ => Run(), _stopping.Token);
    }

    /// <summary>Ends the loop: with a drain (in-flight answers awaited, final commit), or as a crash would (<paramref name="kill"/>).</summary>
    public async Task StopAsync(bool kill, CancellationToken cancellationToken)
    {
        _killed |= kill;
        await _stopping.CancelAsync();
        // A loop that faulted was already reported (DispatcherWorker stops the service on it).
        if (_loop is not null) await Task.WhenAny(_loop).WaitAsync(cancellationToken);
    }

    /// <summary>Tests: the loop stops for <paramref name="duration"/> (a stalled thread) while the timer and presence run on.</summary>
    public void Freeze(TimeSpan duration) => Interlocked.Exchange(ref _frozenUntil, time.GetTimestamp() + (long)(duration.TotalSeconds * time.TimestampFrequency));

    public void Dispose() => _stopping.Dispose();

    private void Run()
    {
        var config = kafka.Value.ConsumerConfig(_o.GroupId, "dispatcher-" + _o.DispatcherId);
        // Offsets are stored by hand (the watermark) and committed in the background and on rebalance and close.
        config.EnableAutoCommit = true;
        config.AutoCommitIntervalMs = (int)_o.CommitInterval.TotalMilliseconds;
        config.EnableAutoOffsetStore = false;
        config.PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range;
        IConsumer<string, byte[]>? consumer = null;
        try
        {
            CheckStallTimeout(config);
            consumer = new ConsumerBuilder<string, byte[]>(config)
                .SetErrorHandler((_, e) => Log.KafkaError(logger, e.Code.ToString(), e.Reason))
                .SetPartitionsAssignedHandler((c, tps) => OnAssigned(c, tps))
                .SetPartitionsRevokedHandler((c, tpos) => OnRevoked(c, tpos, handOver: true))
                .SetPartitionsLostHandler((c, tpos) => OnRevoked(c, tpos, handOver: false))
                .Build();
            consumer.Subscribe([_o.CommandsTopic, _o.ConnectorResponsesTopic]);
            var commits = new List<(int, long)>();
            var pause = new List<int>();
            var resume = new List<int>();
            while (!_stopping.IsCancellationRequested)
            {
                while (time.GetTimestamp() < Interlocked.Read(ref _frozenUntil) && !_stopping.IsCancellationRequested) Thread.Sleep(50);
                Handle(consumer, Consume(consumer), acceptCommands: true);
                Maintain(consumer, commits, pause, resume);
            }

            if (!_killed) Drain(consumer, commits, pause, resume);
        }
        catch (Exception e) when (e is RequestIdOutOfRangeException or KafkaException or InvalidOperationException)
        {
            Log.Fatal(logger, e.Message, e);
            OnFatal?.Invoke(e);
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
        }
    }

    /// <summary>The fence must close before the group can give the partitions away.</summary>
    private void CheckStallTimeout(ConsumerConfig config)
    {
        var session = TimeSpan.FromMilliseconds(config.SessionTimeoutMs ?? 45_000);
        var maxPoll = TimeSpan.FromMilliseconds(config.MaxPollIntervalMs ?? 300_000);
        if (_o.StallTimeout >= session || _o.StallTimeout >= maxPoll)
        {
            throw new InvalidOperationException(
                $"Dispatcher:StallTimeout ({_o.StallTimeout.TotalSeconds:0.#} s) must be below the consumer's session.timeout.ms ({session.TotalSeconds:0.#} s) " +
                $"and max.poll.interval.ms ({maxPoll.TotalSeconds:0.#} s): lower it or raise those (Kafka:Client)");
        }
    }

    private ConsumeResult<string, byte[]>? Consume(IConsumer<string, byte[]> consumer)
    {
        try
        {
            var cr = consumer.Consume(TimeSpan.FromMilliseconds(100));
            engine.ConsumerAlive();
            return cr;
        }
        catch (ConsumeException e)
        {
            engine.ConsumerAlive();
            if (e.Error.Code == ErrorCode.Local_MaxPollExceeded)
            {
                // The group gave our partitions away while this loop was stuck: act on nothing until it says so.
                engine.FenceNow("the consume loop exceeded max.poll.interval.ms and left the group");
            }

            Log.KafkaError(logger, e.Error.Code.ToString(), e.Error.Reason);
            return null;
        }
    }

    private void Handle(IConsumer<string, byte[]> consumer, ConsumeResult<string, byte[]>? cr, bool acceptCommands)
    {
        if (cr?.Message is null || cr.IsPartitionEOF) return;
        if (engine.IsFenced)
        {
            // Read again once the fence is lifted (or by the next owner, if the partition is gone by then).
            try
            {
                consumer.Seek(cr.TopicPartitionOffset);
            }
            catch (KafkaException e)
            {
                Log.KafkaError(logger, e.Error.Code.ToString(), e.Error.Reason);
            }

            Thread.Sleep(20);
            return;
        }

        try
        {
            if (cr.Topic == _o.CommandsTopic)
            {
                // While draining, a command not handed to the engine is neither answered nor committed: the next owner gets it.
                if (!acceptCommands) return;
                if (_reader!.TryReadCommand(cr, out var command, out var unreadable)) engine.OnCommand(cr.Partition.Value, cr.Offset.Value, command!);
                else if (unreadable.Reason is { } reason)
                {
                    Log.UnreadableCommand(logger, cr.Topic, cr.Partition.Value, cr.Offset.Value, reason, unreadable.CommandId);
                    engine.OnUnreadableCommand(cr.Partition.Value, cr.Offset.Value, unreadable.CommandId, unreadable.AgentId, unreadable.Action, reason);
                }

                return;
            }

            if (_reader!.ReadResponse(cr) is { } response) engine.OnResponse(response);
            else metrics.Ignored("undecodable_response");
            StoreOffset(consumer, new TopicPartitionOffset(cr.TopicPartition, cr.Offset + 1));
        }
        catch (Exception e) when (e is not (RequestIdOutOfRangeException or OutOfMemoryException))
        {
            // A bug must not crash-loop every dispatcher on the same record: it is rejected (commands) or skipped.
            Log.RecordFailed(logger, cr.TopicPartitionOffset.ToString(), e.Message, e);
            if (cr.Topic == _o.CommandsTopic)
            {
                try
                {
                    engine.OnUnreadableCommand(cr.Partition.Value, cr.Offset.Value, CommandRecordReader.UnreadableId(cr.Topic, cr.Partition.Value, cr.Offset.Value),
                        cr.Message.Key ?? "", "", "the dispatcher failed on this record: " + e.Message);
                }
                catch (Exception again) when (again is not RequestIdOutOfRangeException)
                {
                    Log.RecordFailed(logger, cr.TopicPartitionOffset.ToString(), again.Message, again);
                }
            }
            else
            {
                StoreOffset(consumer, new TopicPartitionOffset(cr.TopicPartition, cr.Offset + 1));
            }
        }
    }

    private void Maintain(IConsumer<string, byte[]> consumer, List<(int, long)> commits, List<int> pause, List<int> resume)
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
        if (time.GetElapsedTime(Interlocked.Read(ref _lastSnapshot)) >= _o.CommitInterval)
        {
            Interlocked.Exchange(ref _lastSnapshot, time.GetTimestamp());
            var snapshots = new List<PartitionSnapshot>();
            engine.TakeSnapshots(snapshots, _o.StateRefreshInterval);
            if (snapshots.Count > 0) state.Write(snapshots);
        }
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

    private void Drain(IConsumer<string, byte[]> consumer, List<(int, long)> commits, List<int> pause, List<int> resume)
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
            Handle(consumer, Consume(consumer), acceptCommands: false);
        }

        output.Producer.Flush(TimeSpan.FromSeconds(10));
        engine.TakeFlowControl(pause, resume);
        engine.TakeCommits(commits);
        foreach (var (p, offset) in commits) StoreOffset(consumer, new TopicPartitionOffset(_o.CommandsTopic, p, offset));
        var snapshots = new List<PartitionSnapshot>();
        engine.TakeSnapshots(snapshots, TimeSpan.Zero);
        state.WriteFinal(snapshots);
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

    private void OnAssigned(IConsumer<string, byte[]> consumer, List<TopicPartition> partitions)
    {
        var mine = partitions.Where(tp => tp.Topic == _o.CommandsTopic).Select(tp => tp.Partition.Value).ToList();
        engine.Assign(mine);
        var seeded = 0;
        if (mine.Count > 0)
        {
            foreach (var (p, (snapshot, committed)) in state.Restore(consumer, mine, out var decidedSince))
            {
                engine.Restore(p, snapshot, committed, decidedSince);
            }

            var tail = state.ResultsTail(_o.ResultsTailRecords);
            engine.SeedCompleted(tail);
            seeded = tail.Count;
        }

        _assigned = true;
        Log.Assigned(logger, mine, seeded, _o.ResultsTopic);
    }

    private void OnRevoked(IConsumer<string, byte[]> consumer, List<TopicPartitionOffset> partitions, bool handOver)
    {
        var mine = partitions.Where(tp => tp.Topic == _o.CommandsTopic).Select(tp => tp.Partition.Value).ToList();
        if (mine.Count == 0) return;
        handOver &= !_killed;
        // Results produced before the revocation count: their acknowledgements let the watermark move past them.
        if (handOver) output.Producer.Flush(TimeSpan.FromSeconds(5));
        var (commits, snapshots, dropped) = engine.Revoke(mine);
        if (handOver)
        {
            // The next owner reads the snapshot when it is assigned, after this returns: it must be in Kafka by then.
            state.WriteFinal(snapshots);
            if (commits.Count > 0)
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
        }

        Log.Revoked(logger, mine, dropped);
    }
}
