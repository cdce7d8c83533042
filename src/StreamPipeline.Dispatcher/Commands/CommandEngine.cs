using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.Dispatcher.Telemetry;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Protocol;

namespace StreamPipeline.Dispatcher.Commands;

/// <summary>
/// The dispatcher's state machine, free of Kafka: commands read from the partitions this instance owns, the presence
/// table, connector responses and the clock go in; requests, results and late responses go out through
/// <see cref="IDispatchOutput"/>, and the offsets that may be committed and the snapshots of each partition for the next
/// owner come back through <see cref="TakeCommits"/> and <see cref="TakeSnapshots"/>. One lock guards everything;
/// callers are the consume thread, the presence thread, the timer and Kafka's delivery reports, and none of them blocks
/// while holding it.
/// </summary>
/// <remarks>
/// A command's life: validated (invalid: <c>rejected</c>), its deadline computed (past: <c>expired</c>), then sent to
/// the agent's owner or held until the agent comes online. An answer decides it (<c>ok</c>/<c>error</c>). A connector
/// saying the request never reached the agent puts it back to waiting for a newer session. A connector saying it was
/// written and the connection closed unanswered ends a side-effecting action as <c>outcome_unknown</c> (the agent may
/// have run it and lost its cache) and re-sends a read-only one, at most <see cref="DispatcherOptions.MaxResends"/>
/// times and never to a newer session that overlapped the one it may have run on (two connections with one agent id).
/// Every send of a command carries the same request id. No answer within the action's timeout: <c>timeout</c>; offline
/// past the deadline: <c>expired</c>. Exactly one result per command; anything that comes after is recorded as late.
/// While the consume loop has stalled (see <see cref="ConsumerAlive"/>) the engine is fenced: the timer and the
/// presence thread decide and send nothing, since the partitions may already belong to another dispatcher.
/// </remarks>
internal sealed class CommandEngine
{
    private const int MaxEarlyResponsesPerPartition = 10_000;
    private const long NotStarted = long.MinValue;
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
    private readonly Dictionary<int, OffsetWatermark> _partitions = [];
    private readonly PriorityQueue<(TrackedCommand Command, int Version), DateTimeOffset> _due = new();
    private readonly List<int> _toPause = [];
    private readonly List<int> _toResume = [];
    private int _waiting;
    private int _inFlight;
    private long _lastAlive;
    private long _aliveSince;
    private bool _fenced;

    public CommandEngine(IOptions<DispatcherOptions> options, IDispatchOutput output, DispatcherMetrics metrics, TimeProvider time, ILogger<CommandEngine> logger)
        : this(options.Value, output, metrics, time, logger)
    {
    }

    public CommandEngine(DispatcherOptions options, IDispatchOutput output, DispatcherMetrics metrics, TimeProvider time, ILogger logger)
    {
        _options = options;
        _output = output;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _completed = new RecentlyCompleted(options.CompletedCacheSize);
        _lastAlive = _aliveSince = NotStarted;
        metrics.InFlight = () => InFlightCount;
        metrics.Waiting = () => WaitingCount;
    }

    public int InFlightCount => Volatile.Read(ref _inFlight);
    public int WaitingCount => Volatile.Read(ref _waiting);

    public int KnownAgents
    {
        get { lock (_gate) return _presence.Count; }
    }

    /// <summary>True while the consume loop is (or recently was) stalled: nothing is decided or sent from other threads.</summary>
    public bool IsFenced
    {
        get { lock (_gate) return _fenced || Stalled(); }
    }

    /// <summary>Starts tracking offsets of newly assigned commands partitions.</summary>
    public void Assign(IEnumerable<int> partitions)
    {
        lock (_gate)
        {
            foreach (var p in partitions) _partitions.TryAdd(p, new OffsetWatermark(p));
        }
    }

    /// <summary>
    /// Starts a newly assigned partition from its previous owner's snapshot (null: none) and the ids of the commands
    /// decided after it; <paramref name="committed"/> is the offset consumption resumes at.
    /// </summary>
    public void Restore(int partition, PartitionSnapshot? snapshot, long committed, IEnumerable<string> decidedSince)
    {
        lock (_gate)
        {
            if (!_partitions.TryGetValue(partition, out var ps)) _partitions.Add(partition, ps = new OffsetWatermark(partition));
            if (snapshot is not null) ps.Restore(snapshot, committed);
            if (committed >= 0) ps.Stored = committed;
            foreach (var id in decidedSince) _completed.Add(id);
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
    /// Forgets revoked partitions and their commands (the next owner reads them again, with the same request ids);
    /// returns the offsets to commit and the final snapshots to write for them before they go.
    /// </summary>
    public (List<(int Partition, long Offset)> Commits, List<PartitionSnapshot> Snapshots, int Dropped) Revoke(IEnumerable<int> partitions)
    {
        var commits = new List<(int, long)>();
        var snapshots = new List<PartitionSnapshot>();
        var dropped = 0;
        lock (_gate)
        {
            var gone = new HashSet<OffsetWatermark>();
            foreach (var p in partitions)
            {
                if (!_partitions.Remove(p, out var ps)) continue;
                gone.Add(ps);
                if (ps.Watermark >= 0 && ps.Watermark > ps.Stored) commits.Add((p, ps.Watermark));
                if (ps.KnownNext >= 0) snapshots.Add(ps.Snapshot(_options.RequestIdEpoch, final: true));
                _toPause.Remove(p);
                _toResume.Remove(p);
            }

            if (gone.Count == 0) return (commits, snapshots, 0);
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

        return (commits, snapshots, dropped);
    }

    /// <summary>Handles one record of the commands topic.</summary>
    /// <exception cref="RequestIdOutOfRangeException">The record's position cannot give a unique request id.</exception>
    public void OnCommand(int partition, long offset, AgentCommand command)
    {
        lock (_gate)
        {
            var ps = PartitionFor(partition);
            var standing = ps.Read(offset, out var earlier);
            var requestId = RequestIds.Derive(_options.RequestIdEpoch, partition, offset);
            ps.EarlyResponses.Remove(requestId, out var early);
            if (standing == RecordStanding.Decided)
            {
                _metrics.Ignored("already_decided");
                return;
            }

            if (_completed.Contains(command.CommandId) || _byId.ContainsKey(command.CommandId))
            {
                _metrics.Ignored("duplicate_command");
                return;
            }

            var now = _time.GetUtcNow();
            var cmd = new TrackedCommand(command, ps, offset, requestId, now) { SideEffecting = CommandActions.IsSideEffecting(command.Action) };
            ps.Track(cmd);
            FlowCheck(ps);

            if (TimeProblem(command) is { } timeProblem)
            {
                Decide(cmd, CommandStatus.Rejected, null, timeProblem, null);
                return;
            }

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

            if (early is not null && early.CommandId == command.CommandId)
            {
                // Its connector reported before this owner read the command again (a takeover reads both topics at once).
                if (TakeOverWithEarlyReport(cmd, early)) return;
            }
            else if (standing == RecordStanding.Undecided)
            {
                cmd.MaybeRanOn = earlier.MaybeRanOn;
                cmd.Resends = earlier.Resends;
                if (earlier.SentTo >= 0 && earlier.SentToConnector is not null)
                {
                    TakeOverInFlight(cmd, earlier, now);
                    return;
                }
            }

            Route(cmd, standing == RecordStanding.Undecided ? "takeover" : "new");
        }
    }

    /// <summary>
    /// A record of the commands topic that is no usable command (another team's schema without a field, a time out of
    /// range, bytes that are no Avro at all): it gets a <c>rejected</c> result under whatever ids could be read.
    /// </summary>
    public void OnUnreadableCommand(int partition, long offset, string commandId, string agentId, string action, string reason)
    {
        lock (_gate)
        {
            var ps = PartitionFor(partition);
            if (ps.Read(offset, out _) == RecordStanding.Decided)
            {
                _metrics.Ignored("already_decided");
                return;
            }

            if (_completed.Contains(commandId) || _byId.ContainsKey(commandId))
            {
                _metrics.Ignored("duplicate_command");
                return;
            }

            _metrics.Ignored("unreadable_command");
            var now = _time.GetUtcNow();
            var command = new AgentCommand(commandId, agentId, action, null, null, now);
            var cmd = new TrackedCommand(command, ps, offset, RequestIds.Derive(_options.RequestIdEpoch, partition, offset), now);
            ps.Track(cmd);
            FlowCheck(ps);
            Decide(cmd, CommandStatus.Rejected, null, reason, null);
        }
    }

    /// <summary>Handles a connector's report on a request.</summary>
    public void OnResponse(ConnectorResponse response)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(response.CommandId, out var cmd) || cmd.RequestId != response.RequestId)
            {
                if (HoldEarly(response)) return;
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

            cmd.ReportDueAt = null;
            cmd.MinPosition = cmd.OwnerPosition + 1;
            if (response.Kind == ConnectorResponseKind.AgentNotConnected)
            {
                // Never written to the agent: safe to send again, to a newer session.
                Route(cmd, "agent_not_connected");
                return;
            }

            if (cmd.SideEffecting)
            {
                Decide(cmd, CommandStatus.OutcomeUnknown, null,
                    $"written to agent {cmd.Command.AgentId}'s connection on connector {cmd.ConnectorId}, which closed before the agent answered: it may have run; {cmd.Command.Action} is not sent again", null);
                return;
            }

            cmd.MaybeRanOn = cmd.OwnerPosition;
            cmd.MaybeRanOnSilentConnector = false;
            Route(cmd, "agent_disconnected");
        }
    }

    /// <summary>Applies a presence record read at <paramref name="position"/> of its partition; commands of the agent follow its owner.</summary>
    public void OnPresence(AgentPresence presence, long position)
    {
        lock (_gate)
        {
            if (!_presence.Apply(presence, position) || _fenced || Stalled()) return;
            ReactToOwner(presence.AgentId);
        }
    }

    /// <summary>Decides commands whose deadline (waiting), report grace or timeout (in flight) has passed.</summary>
    public void Tick()
    {
        lock (_gate)
        {
            if (_fenced) return;
            if (Stalled())
            {
                Fence("the consume loop has not polled for " + _time.GetElapsedTime(_lastAlive).TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " s");
                return;
            }

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
                    var timeoutAt = cmd.SentTime + cmd.Timeout;
                    if (cmd.ReportDueAt is { } grace && grace <= now && grace <= timeoutAt)
                    {
                        OnReportOverdue(cmd);
                    }
                    else if (timeoutAt <= now)
                    {
                        Decide(cmd, CommandStatus.Timeout, null,
                            $"no answer from the agent within {cmd.Timeout.TotalSeconds:0.###} s (Dispatcher:ActionTimeouts:{cmd.Command.Action}) through connector {cmd.ConnectorId}", null);
                    }
                    else
                    {
                        ScheduleInFlight(cmd);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Called by the consume loop after every poll. A gap longer than <see cref="DispatcherOptions.StallTimeout"/> fences
    /// the engine; it is lifted once the loop has polled steadily for <see cref="DispatcherOptions.StallSettle"/>, time
    /// enough for the consumer to learn of (and hand over) partitions the group gave away meanwhile.
    /// </summary>
    public void ConsumerAlive()
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            if (_lastAlive == NotStarted)
            {
                _aliveSince = now;
            }
            else if (_time.GetElapsedTime(_lastAlive, now) > _options.StallTimeout)
            {
                if (!_fenced) Fence($"the consume loop did not poll for {_time.GetElapsedTime(_lastAlive, now).TotalSeconds:0.0} s");
                _aliveSince = now;
            }

            _lastAlive = now;
            if (_fenced && _time.GetElapsedTime(_aliveSince, now) >= _options.StallSettle) Unfence();
        }
    }

    /// <summary>Fences the engine until the consume loop has polled steadily again (the consumer reported its membership lost).</summary>
    public void FenceNow(string reason)
    {
        lock (_gate)
        {
            if (!_fenced) Fence(reason);
            _aliveSince = _time.GetTimestamp();
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

    /// <summary>Snapshots of the partitions that changed since their last one, or whose last one is older than <paramref name="refreshAfter"/>.</summary>
    public void TakeSnapshots(List<PartitionSnapshot> into, TimeSpan refreshAfter)
    {
        lock (_gate)
        {
            if (_fenced) return;
            var now = _time.GetUtcNow();
            foreach (var ps in _partitions.Values)
            {
                if (ps.KnownNext < 0) continue;
                if (ps.Version == ps.SnapshotVersion && now - ps.SnapshotAt < refreshAfter) continue;
                into.Add(ps.Snapshot(_options.RequestIdEpoch, final: false));
                ps.SnapshotVersion = ps.Version;
                ps.SnapshotAt = now;
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

    /// <summary>What may be committed for a partition now (-1: nothing known); for tests and diagnostics.</summary>
    public long Watermark(int partition)
    {
        lock (_gate) return _partitions.TryGetValue(partition, out var ps) ? ps.Watermark : -1;
    }

    private OffsetWatermark PartitionFor(int partition)
    {
        if (!_partitions.TryGetValue(partition, out var ps))
        {
            ps = new OffsetWatermark(partition);
            _partitions.Add(partition, ps);
        }

        return ps;
    }

    private static string? TimeProblem(AgentCommand command)
    {
        // Deadlines are computed from these; a value near the ends of the calendar would overflow the arithmetic.
        if (command.CreatedTime.Year is < 1970 or > 9000) return $"created_time {command.CreatedTime:O} is out of range (years 1970 to 9000)";
        if (command.Deadline is { Year: < 1970 or > 9000 } d) return $"deadline {d:O} is out of range (years 1970 to 9000)";
        return null;
    }

    /// <summary>A report read before its command, for a partition this owner reads: kept until the command is read.</summary>
    private bool HoldEarly(ConnectorResponse response)
    {
        var (epoch, partition, offset) = RequestIds.Decompose(response.RequestId);
        if (epoch != _options.RequestIdEpoch || !_partitions.TryGetValue(partition, out var ps) || offset < ps.ReadNext || offset < ps.Stored) return false;
        if (_completed.Contains(response.CommandId) || ps.EarlyResponses.Count >= MaxEarlyResponsesPerPartition) return false;
        // The answer wins over a report about the same request.
        if (ps.EarlyResponses.TryGetValue(response.RequestId, out var held) && held.Kind == ConnectorResponseKind.Response) return true;
        ps.EarlyResponses[response.RequestId] = response;
        return true;
    }

    /// <summary>Applies a report the previous owner's connector sent before this owner read the command; false: route it normally.</summary>
    private bool TakeOverWithEarlyReport(TrackedCommand cmd, ConnectorResponse early)
    {
        cmd.DispatchedTime = early.ReceivedTime;
        cmd.ConnectorId = early.ConnectorId;
        switch (early.Kind)
        {
            case ConnectorResponseKind.Response:
                var (status, error) = ResponseInterpreter.Interpret(early.ResponseJson);
                Decide(cmd, status, early.ResponseJson, error, early.ConnectorId);
                return true;
            case ConnectorResponseKind.AgentDisconnected when cmd.SideEffecting:
                Decide(cmd, CommandStatus.OutcomeUnknown, null,
                    $"written to agent {cmd.Command.AgentId}'s connection on connector {early.ConnectorId}, which closed before the agent answered (reported while the command changed dispatcher): it may have run; {cmd.Command.Action} is not sent again", null);
                return true;
            case ConnectorResponseKind.AgentDisconnected:
                cmd.Resends++;
                return false;
            default:
                return false;
        }
    }

    /// <summary>The previous owner had the command in flight: send it to the same session again (its connector does not write it twice) or wait for that connector's word.</summary>
    private void TakeOverInFlight(TrackedCommand cmd, UndecidedCommand earlier, DateTimeOffset now)
    {
        cmd.ConnectorId = earlier.SentToConnector;
        cmd.OwnerPosition = earlier.SentTo;
        cmd.DispatchedTime = now;
        if (!_fenced && _presence.TryGetOwner(cmd.Command.AgentId, out var owner) && owner.Position == earlier.SentTo)
        {
            Send(cmd, owner, "takeover");
            return;
        }

        // Its session is gone: the connector's report (if it is alive) says whether the request reached the agent.
        cmd.SentTime = now;
        SetState(cmd, CommandState.InFlight);
        cmd.ReportDueAt = now + _options.SessionEndedGrace;
        ScheduleInFlight(cmd);
    }

    /// <summary>The session of an in-flight command ended or was superseded and its connector said nothing in time: presumed dead with it.</summary>
    private void OnReportOverdue(TrackedCommand cmd)
    {
        cmd.ReportDueAt = null;
        if (cmd.SideEffecting)
        {
            Decide(cmd, CommandStatus.OutcomeUnknown, null,
                $"sent to agent {cmd.Command.AgentId} through connector {cmd.ConnectorId}, whose session of the agent ended and which reported nothing within {_options.SessionEndedGrace.TotalSeconds:0.#} s: it may have run; {cmd.Command.Action} is not sent again", null);
            return;
        }

        cmd.MaybeRanOn = cmd.OwnerPosition;
        cmd.MaybeRanOnSilentConnector = true;
        cmd.MinPosition = cmd.OwnerPosition + 1;
        Route(cmd, "owner_changed");
    }

    private void ReactToOwner(string agentId)
    {
        if (!_byAgent.TryGetValue(agentId, out var list)) return;
        var online = _presence.TryGetOwner(agentId, out var owner);
        var now = _time.GetUtcNow();
        foreach (var cmd in list.ToArray())
        {
            if (cmd.State == CommandState.Waiting)
            {
                // A re-send counts under what sent the command back to waiting (agent_disconnected, agent_not_connected...).
                if (online && owner.Position >= cmd.MinPosition) SendOrGiveUp(cmd, owner, cmd.WaitReason is "new" or null ? "agent_connected" : cmd.WaitReason);
            }
            else if (cmd.State == CommandState.InFlight && cmd.ReportDueAt is null && (!online || owner.Position != cmd.OwnerPosition))
            {
                // Its session ended or a newer one appeared. An answer sent just before still counts; otherwise the
                // connector reports whether the request was written (it closes a superseded session at once). A dead
                // connector says nothing: after the grace its session is presumed gone with it.
                cmd.ReportDueAt = now + _options.SessionEndedGrace;
                ScheduleInFlight(cmd);
            }
        }
    }

    /// <summary>After a fence is lifted: what the presence thread and the timer could not do meanwhile.</summary>
    private void Resume()
    {
        foreach (var agentId in _byAgent.Keys.ToArray()) ReactToOwner(agentId);
    }

    private void Fence(string reason)
    {
        _fenced = true;
        _metrics.Fenced();
        Log.Fenced(_logger, reason, _options.StallSettle.TotalSeconds);
    }

    private void Unfence()
    {
        _fenced = false;
        Log.Unfenced(_logger, _partitions.Count);
        Resume();
    }

    // Before the consume loop runs nothing is owned; from then on its silence is a stall.
    private bool Stalled() => _lastAlive != NotStarted && _time.GetElapsedTime(_lastAlive) > _options.StallTimeout;

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
                ps.Complete(cmd);
                FlowCheck(ps);
            }
        }
    }

    private void Route(TrackedCommand cmd, string reason)
    {
        if (!_fenced && _presence.TryGetOwner(cmd.Command.AgentId, out var owner) && owner.Position >= cmd.MinPosition)
        {
            SendOrGiveUp(cmd, owner, reason);
            return;
        }

        SetState(cmd, CommandState.Waiting);
        cmd.WaitReason = reason;
        cmd.Partition.Touch();
        Schedule(cmd, cmd.Deadline);
    }

    /// <summary>Sends, unless the request may already have run elsewhere and sending it again is not allowed.</summary>
    private void SendOrGiveUp(TrackedCommand cmd, AgentOwner owner, string reason)
    {
        if (cmd.MaybeRanOn >= 0 && owner.Position != cmd.MaybeRanOn)
        {
            var agent = cmd.Command.AgentId;
            if (cmd.SideEffecting)
            {
                Decide(cmd, CommandStatus.OutcomeUnknown, null, $"written to agent {agent} on an earlier connection that closed before it answered: it may have run; {cmd.Command.Action} is not sent again", null);
                return;
            }

            if (!cmd.MaybeRanOnSilentConnector && !_presence.EndedBefore(agent, cmd.MaybeRanOn, owner.Position))
            {
                Decide(cmd, CommandStatus.OutcomeUnknown, null,
                    $"a newer session of agent {agent} (connector {owner.ConnectorId}) appeared while the request was running on an older one that was still open (two connections with one agent id, e.g. a cloned machine?): it may have run there and is not run on the newer one", null);
                return;
            }

            if (cmd.Resends >= _options.MaxResends)
            {
                Decide(cmd, CommandStatus.OutcomeUnknown, null,
                    $"sent {cmd.Resends + 1} times (Dispatcher:MaxResends {_options.MaxResends}); each time agent {agent}'s connection closed before it answered, so it may have run", null);
                return;
            }

            cmd.Resends++;
            cmd.MaybeRanOn = -1;
        }

        Send(cmd, owner, reason);
    }

    private void Send(TrackedCommand cmd, AgentOwner owner, string reason)
    {
        var now = _time.GetUtcNow();
        var c = cmd.Command;
        cmd.ConnectorId = owner.ConnectorId;
        cmd.OwnerPosition = owner.Position;
        cmd.SentTime = now;
        cmd.ReportDueAt = null;
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
        cmd.Partition.Touch();
        ScheduleInFlight(cmd);
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
        cmd.Partition.Touch();
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

    private void ScheduleInFlight(TrackedCommand cmd)
    {
        var timeoutAt = cmd.SentTime + cmd.Timeout;
        Schedule(cmd, cmd.ReportDueAt is { } grace && grace < timeoutAt ? grace : timeoutAt);
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

    private void FlowCheck(OffsetWatermark ps)
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
