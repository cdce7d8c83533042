using System.Text;
using Microsoft.Extensions.Logging;
using StreamPipeline.Dispatcher.Routing;
using StreamPipeline.Dispatcher.Telemetry;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Protocol;

namespace StreamPipeline.Dispatcher.Commands;

/// <summary>
/// The dispatcher's state machine, free of Kafka: commands read from the partitions this instance owns, the presence
/// table, connector responses and the clock go in; requests, results and late responses go out through
/// <see cref="IDispatchOutput"/>, and the offsets that may be committed come back through <see cref="TakeCommits"/>.
/// One lock guards everything; callers are the consume thread, the presence thread, the timer and Kafka's delivery
/// reports, and none of them blocks while holding it.
/// </summary>
/// <remarks>
/// A command's life: validated (invalid: <c>rejected</c>), its deadline computed (past: <c>expired</c>), then sent to
/// the agent's owner or held until the agent comes online. An answer decides it (<c>ok</c>/<c>error</c>); a connector
/// saying the agent is gone puts it back to waiting for a newer session, and a newer session on another connector
/// takes it over: both re-send the same request id, so the agent runs it at most once. No answer within the action's
/// timeout: <c>timeout</c>; offline past the deadline: <c>expired</c>. Exactly one result per command; anything that
/// comes after is recorded as late.
/// </remarks>
internal sealed class CommandEngine
{
    private readonly Lock _gate = new();
    private readonly DispatcherOptions _options;
    private readonly IDispatchOutput _output;
    private readonly DispatcherMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PresenceTable _presence = new();
    private readonly RecentlyCompleted _completed;
    private readonly Dictionary<string, TrackedCommand> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<TrackedCommand>> _byAgent = new(StringComparer.Ordinal);
    private readonly Dictionary<int, PartitionState> _partitions = [];
    private readonly PriorityQueue<(TrackedCommand Command, int Version), DateTimeOffset> _due = new();
    private readonly List<int> _toPause = [];
    private readonly List<int> _toResume = [];
    private int _waiting;
    private int _inFlight;

    public CommandEngine(DispatcherOptions options, IDispatchOutput output, DispatcherMetrics metrics, TimeProvider time, ILogger logger)
    {
        _options = options;
        _output = output;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _completed = new RecentlyCompleted(options.CompletedCacheSize);
    }

    public int InFlightCount => Volatile.Read(ref _inFlight);
    public int WaitingCount => Volatile.Read(ref _waiting);

    public int KnownAgents
    {
        get { lock (_gate) return _presence.Count; }
    }

    /// <summary>Starts tracking offsets of newly assigned commands partitions.</summary>
    public void Assign(IEnumerable<int> partitions)
    {
        lock (_gate)
        {
            foreach (var p in partitions) _partitions.TryAdd(p, new PartitionState(p));
        }
    }

    /// <summary>Remembers command ids already answered (read from the results topic at assignment).</summary>
    public void SeedCompleted(IEnumerable<string> commandIds)
    {
        lock (_gate)
        {
            foreach (var id in commandIds) _completed.Add(id);
        }
    }

    /// <summary>
    /// Forgets revoked partitions and their commands (the next owner reads them again and re-sends the same request
    /// ids); returns the offsets to commit for them before they go.
    /// </summary>
    public (List<(int Partition, long Offset)> Commits, int Dropped) Revoke(IEnumerable<int> partitions)
    {
        var commits = new List<(int, long)>();
        var dropped = 0;
        lock (_gate)
        {
            var gone = new HashSet<PartitionState>();
            foreach (var p in partitions)
            {
                if (!_partitions.Remove(p, out var ps)) continue;
                gone.Add(ps);
                if (ps.Watermark >= 0 && ps.Watermark > ps.Stored) commits.Add((p, ps.Watermark));
                _toPause.Remove(p);
                _toResume.Remove(p);
            }

            if (gone.Count == 0) return (commits, 0);
            var drop = new List<TrackedCommand>();
            foreach (var cmd in _byId.Values)
            {
                if (gone.Contains(cmd.Partition)) drop.Add(cmd);
            }

            foreach (var cmd in drop)
            {
                Untrack(cmd);
                SetState(cmd, CommandState.None);
                cmd.DueVersion++;
                dropped++;
            }
        }

        return (commits, dropped);
    }

    /// <summary>Handles one record of the commands topic (<paramref name="command"/> null: it could not be decoded).</summary>
    /// <exception cref="RequestIdOutOfRangeException">The record's position cannot give a unique request id.</exception>
    public void OnCommand(int partition, long offset, AgentCommand? command)
    {
        lock (_gate)
        {
            if (!_partitions.TryGetValue(partition, out var ps))
            {
                ps = new PartitionState(partition);
                _partitions.Add(partition, ps);
            }

            // Where consumption starts is already committed (or the reset point): nothing new to commit yet.
            if (ps.Next < 0) ps.Stored = offset;
            ps.Next = offset + 1;
            if (command is null)
            {
                _metrics.Ignored("undecodable_command");
                return;
            }

            if (_completed.Contains(command.CommandId) || _byId.ContainsKey(command.CommandId))
            {
                _metrics.Ignored("duplicate_command");
                return;
            }

            var requestId = RequestIds.Derive(_options.RequestIdEpoch, partition, offset);
            var now = _time.GetUtcNow();
            var cmd = new TrackedCommand(command, ps, offset, requestId, now);
            ps.Pending.Add(offset);
            ps.Held++;
            FlowCheck(ps);

            var payload = command.PayloadJson is null ? [] : Encoding.UTF8.GetBytes(command.PayloadJson);
            if (!CommandValidator.TryValidate(command.Action, payload, out var normalized, out var error))
            {
                Decide(cmd, CommandStatus.Rejected, null, error.Message, null);
                return;
            }

            cmd.Payload = Encoding.UTF8.GetString(normalized);
            cmd.Timeout = _options.TimeoutFor(command.Action);
            var deadline = command.Deadline ?? command.CreatedTime + _options.DefaultDeadline;
            var cap = command.CreatedTime + _options.MaxDeadline;
            cmd.Deadline = deadline > cap ? cap : deadline;
            if (cmd.Deadline <= now)
            {
                Decide(cmd, CommandStatus.Expired, null, $"the deadline {cmd.Deadline:O} had passed when the dispatcher read the command", null);
                return;
            }

            _byId.Add(command.CommandId, cmd);
            if (!_byAgent.TryGetValue(command.AgentId, out var list)) _byAgent.Add(command.AgentId, list = []);
            list.Add(cmd);
            Route(cmd, "new");
        }
    }

    /// <summary>Handles a connector's report on a request.</summary>
    public void OnResponse(ConnectorResponse response)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(response.CommandId, out var cmd) || cmd.RequestId != response.RequestId)
            {
                if (response.Kind == ConnectorResponseKind.Response)
                {
                    _metrics.LateResponse(_completed.Contains(response.CommandId) ? "late" : "unknown");
                    _output.PublishLate(response);
                }
                else
                {
                    _metrics.Ignored("stale_connector_report");
                }

                return;
            }

            if (response.Kind == ConnectorResponseKind.Response)
            {
                var (status, error) = ResponseInterpreter.Interpret(response.ResponseJson);
                Decide(cmd, status, response.ResponseJson, error, response.ConnectorId);
                return;
            }

            // The agent is not (or no longer) on that connector. Only a report about the current send counts.
            if (cmd.State != CommandState.InFlight || response.ConnectorId != cmd.ConnectorId)
            {
                _metrics.Ignored("stale_connector_report");
                return;
            }

            cmd.MinEpoch = cmd.OwnerEpoch + 1;
            Route(cmd, response.Kind == ConnectorResponseKind.AgentNotConnected ? "agent_not_connected" : "agent_disconnected");
        }
    }

    /// <summary>Applies a presence event; commands of the agent follow its owner.</summary>
    public void OnPresence(AgentPresence presence)
    {
        lock (_gate)
        {
            if (!_presence.Apply(presence) || !_byAgent.TryGetValue(presence.AgentId, out var list)) return;
            var online = _presence.TryGetOwner(presence.AgentId, out var owner);
            foreach (var cmd in list.ToArray())
            {
                if (cmd.State == CommandState.Waiting)
                {
                    if (online && owner.Epoch >= cmd.MinEpoch) Send(cmd, owner, "agent_connected");
                }
                else if (cmd.State == CommandState.InFlight)
                {
                    if (!online)
                    {
                        // Its session ended: an answer sent just before still counts; otherwise it waits for the next session.
                        cmd.MinEpoch = cmd.OwnerEpoch + 1;
                        SetState(cmd, CommandState.Waiting);
                        Schedule(cmd, cmd.Deadline);
                    }
                    else if (owner.Epoch > cmd.OwnerEpoch && owner.ConnectorId != cmd.ConnectorId)
                    {
                        // A newer session on another connector: the old one may be dead and never report. Same id, so
                        // an agent that already ran it answers from its cache. (A newer session on the same connector is
                        // re-sent when that connector reports the old session ended.)
                        Send(cmd, owner, "owner_changed");
                    }
                }
            }
        }
    }

    /// <summary>Decides commands whose deadline (waiting) or timeout (in flight) has passed.</summary>
    public void Tick()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            while (_due.TryPeek(out var entry, out var at) && at <= now)
            {
                _due.Dequeue();
                var cmd = entry.Command;
                if (entry.Version != cmd.DueVersion) continue;
                if (cmd.State == CommandState.Waiting)
                {
                    Decide(cmd, CommandStatus.Expired, null, cmd.DispatchedTime is null
                        ? "agent offline until the deadline"
                        : $"agent offline until the deadline (the request had reached connector {cmd.ConnectorId} before the agent went away; it may have run)", null);
                }
                else if (cmd.State == CommandState.InFlight)
                {
                    Decide(cmd, CommandStatus.Timeout, null,
                        $"no answer from the agent within {cmd.Timeout.TotalSeconds:0.###} s (Dispatcher:ActionTimeouts:{cmd.Command.Action}) through connector {cmd.ConnectorId}", null);
                }
            }
        }
    }

    /// <summary>Offsets that may now be committed (each partition's watermark, when it moved).</summary>
    public void TakeCommits(List<(int Partition, long Offset)> into)
    {
        lock (_gate)
        {
            foreach (var ps in _partitions.Values)
            {
                var w = ps.Watermark;
                if (w >= 0 && w > ps.Stored)
                {
                    into.Add((ps.Partition, w));
                    ps.Stored = w;
                }
            }
        }
    }

    /// <summary>Partitions to pause (too many commands held) or resume since the last call.</summary>
    public void TakeFlowControl(List<int> pause, List<int> resume)
    {
        lock (_gate)
        {
            pause.AddRange(_toPause);
            resume.AddRange(_toResume);
            _toPause.Clear();
            _toResume.Clear();
        }
    }

    /// <summary>Commands partitions owned now.</summary>
    public List<int> OwnedPartitions()
    {
        lock (_gate) return [.. _partitions.Keys];
    }

    private void OnResultAcknowledged(TrackedCommand cmd, bool ok, string? reason)
    {
        lock (_gate)
        {
            if (!ok)
            {
                // Keep the offset pending: never commit past a command without its result.
                Log.ResultFailed(_logger, cmd.Command.CommandId, _options.ResultsTopic, reason ?? "unknown");
                return;
            }

            var ps = cmd.Partition;
            SetState(cmd, CommandState.None);
            if (_partitions.TryGetValue(ps.Partition, out var current) && ReferenceEquals(current, ps))
            {
                ps.Pending.Remove(cmd.Offset);
                ps.Held--;
                FlowCheck(ps);
            }
        }
    }

    private void Route(TrackedCommand cmd, string reason)
    {
        if (_presence.TryGetOwner(cmd.Command.AgentId, out var owner) && owner.Epoch >= cmd.MinEpoch)
        {
            Send(cmd, owner, reason);
            return;
        }

        SetState(cmd, CommandState.Waiting);
        Schedule(cmd, cmd.Deadline);
    }

    private void Send(TrackedCommand cmd, AgentOwner owner, string reason)
    {
        var now = _time.GetUtcNow();
        var c = cmd.Command;
        cmd.ConnectorId = owner.ConnectorId;
        cmd.OwnerEpoch = owner.Epoch;
        cmd.SentTime = now;
        if (cmd.DispatchedTime is null)
        {
            cmd.DispatchedTime = now;
            _metrics.DispatchLatency.Record((now - cmd.ConsumedAt).TotalMilliseconds);
        }
        else
        {
            _metrics.Resent(reason);
            Log.Resent(_logger, c.CommandId, owner.ConnectorId, cmd.RequestId, reason);
        }

        SetState(cmd, CommandState.InFlight);
        Schedule(cmd, now + cmd.Timeout);
        _output.SendRequest(new ConnectorRequest(
            c.CommandId, c.AgentId, owner.ConnectorId, c.Action, cmd.RequestId, cmd.Payload,
            cmd.Partition.Partition, (long)cmd.Timeout.TotalMilliseconds, now));
    }

    private void Decide(TrackedCommand cmd, CommandStatus status, string? responseJson, string? error, string? connectorId)
    {
        var now = _time.GetUtcNow();
        var c = cmd.Command;
        Untrack(cmd);
        SetState(cmd, CommandState.Completing);
        cmd.DueVersion++;
        _completed.Add(c.CommandId);
        var sent = cmd.DispatchedTime is not null;
        var result = new CommandResult(
            c.CommandId, c.AgentId, c.Action, sent ? cmd.RequestId : null, status, responseJson, error,
            connectorId ?? cmd.ConnectorId, c.CreatedTime, cmd.DispatchedTime, now);
        _metrics.Decided(status);
        _metrics.EndToEndLatency.Record((now - c.CreatedTime).TotalMilliseconds);
        Log.Decided(_logger, c.CommandId, c.AgentId, c.Action, status, error);
        _output.PublishResult(result, (ok, reason) => OnResultAcknowledged(cmd, ok, reason));
    }

    private void Untrack(TrackedCommand cmd)
    {
        if (_byId.TryGetValue(cmd.Command.CommandId, out var tracked) && ReferenceEquals(tracked, cmd)) _byId.Remove(cmd.Command.CommandId);
        if (_byAgent.TryGetValue(cmd.Command.AgentId, out var list))
        {
            list.Remove(cmd);
            if (list.Count == 0) _byAgent.Remove(cmd.Command.AgentId);
        }
    }

    private void Schedule(TrackedCommand cmd, DateTimeOffset at)
    {
        cmd.DueVersion++;
        _due.Enqueue((cmd, cmd.DueVersion), at);
    }

    private void SetState(TrackedCommand cmd, CommandState state)
    {
        if (cmd.State == CommandState.Waiting) _waiting--;
        else if (cmd.State == CommandState.InFlight) _inFlight--;
        if (state == CommandState.Waiting) _waiting++;
        else if (state == CommandState.InFlight) _inFlight++;
        cmd.State = state;
    }

    private void FlowCheck(PartitionState ps)
    {
        var max = _options.MaxPendingPerPartition;
        if (!ps.Paused && ps.Held >= max)
        {
            ps.Paused = true;
            _toResume.Remove(ps.Partition);
            _toPause.Add(ps.Partition);
            Log.Paused(_logger, ps.Partition, ps.Held);
        }
        else if (ps.Paused && ps.Held <= max * 3 / 4)
        {
            ps.Paused = false;
            _toPause.Remove(ps.Partition);
            _toResume.Add(ps.Partition);
        }
    }
}
