using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using StreamPipeline.Dispatcher.Commands;
using StreamPipeline.Dispatcher.Telemetry;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Protocol;

namespace StreamPipeline.Dispatcher.Tests.Commands;

/// <summary>The engine alone, with a fake clock and an in-memory output: deterministic, no Kafka.</summary>
public sealed class CommandEngineTests
{
    private readonly FakeTime _time = new();
    private readonly FakeOutput _out = new();
    private readonly DispatcherOptions _options = new() { MaxPendingPerPartition = 3 };
    private readonly CommandEngine _engine;

    public CommandEngineTests()
    {
        _options.ActionTimeouts["get-server-info"] = TimeSpan.FromSeconds(10);
        _engine = NewEngine(_out);
        _engine.Assign([0]);
    }

    private CommandEngine NewEngine(FakeOutput output) => new(_options, output, new DispatcherMetrics(new TestMeterFactory()), _time, NullLogger.Instance);

    private AgentCommand Cmd(string id, string agent = "a", string action = "get-server-info", DateTimeOffset? deadline = null, string? payload = null) =>
        new(id, agent, action, payload, deadline, _time.GetUtcNow(), "t");

    /// <summary>A session of <paramref name="agent"/> on <paramref name="connector"/> whose CONNECTED is at <paramref name="position"/>.</summary>
    private void Online(string agent, string connector, long position, CommandEngine? engine = null) => (engine ?? _engine).OnPresence(new AgentPresence
    {
        AgentId = agent, ConnectorId = connector, SessionId = connector + position, Epoch = position, Status = PresenceStatus.Connected,
    }, position);

    private void Offline(string agent, string connector, long session, long position) => _engine.OnPresence(new AgentPresence
    {
        AgentId = agent, ConnectorId = connector, SessionId = connector + session, Epoch = session, Status = PresenceStatus.Disconnected,
    }, position);

    [Fact]
    public void InFlight_NoAnswerWithinTimeout_TimeoutResultThenCommit()
    {
        Online("a", "c1", 1);
        _engine.OnCommand(0, 0, Cmd("x"));
        Assert.Single(_out.Requests);
        _time.Advance(TimeSpan.FromSeconds(9.9));
        _engine.Tick();
        Assert.Empty(_out.Results);
        _time.Advance(TimeSpan.FromSeconds(0.2));
        _engine.Tick();
        Assert.Equal(CommandStatus.Timeout, Assert.Single(_out.Results).Result.Status);

        var commits = new List<(int, long)>();
        _engine.TakeCommits(commits);
        Assert.Empty(commits);
        _out.AckAll();
        _engine.TakeCommits(commits);
        Assert.Equal([(0, 1L)], commits);
    }

    [Fact]
    public void Waiting_DeadlinePasses_Expired()
    {
        _engine.OnCommand(0, 0, Cmd("x", deadline: _time.GetUtcNow().AddSeconds(30)));
        Assert.Equal(1, _engine.WaitingCount);
        _time.Advance(TimeSpan.FromSeconds(31));
        _engine.Tick();
        var r = Assert.Single(_out.Results).Result;
        Assert.Equal((CommandStatus.Expired, "agent offline until the deadline"), (r.Status, r.Error));
        Assert.Empty(_out.Requests);
    }

    [Fact]
    public void Deadline_BeyondMax_Capped()
    {
        _engine.OnCommand(0, 0, Cmd("x", deadline: _time.GetUtcNow().AddDays(1)));
        _time.Advance(TimeSpan.FromHours(1).Add(TimeSpan.FromSeconds(1)));
        _engine.Tick();
        Assert.Equal(CommandStatus.Expired, Assert.Single(_out.Results).Result.Status);
    }

    [Fact]
    public void Watermark_StopsBelowOldestUnfinished()
    {
        Online("a", "c1", 1);
        _engine.OnCommand(0, 10, Cmd("x"));
        _engine.OnCommand(0, 11, Cmd("y"));
        _engine.OnResponse(Response(_out.Requests[1], "{}"));
        _out.AckAll();
        var commits = new List<(int, long)>();
        _engine.TakeCommits(commits);
        Assert.Empty(commits);

        _engine.OnResponse(Response(_out.Requests[0], "{}"));
        _out.AckAll();
        _engine.TakeCommits(commits);
        Assert.Equal([(0, 12L)], commits);
    }

    [Fact]
    public void Partition_HoldingMax_PausedThenResumed()
    {
        for (var i = 0; i < 3; i++) _engine.OnCommand(0, i, Cmd("x" + i));
        List<int> pause = [], resume = [];
        _engine.TakeFlowControl(pause, resume);
        Assert.Equal([0], pause);
        Online("a", "c1", 1);
        foreach (var r in _out.Requests.ToArray()) _engine.OnResponse(Response(r, "{}"));
        _out.AckAll();
        pause.Clear();
        _engine.TakeFlowControl(pause, resume);
        Assert.Equal([0], resume);
    }

    [Fact]
    public void Response_ForDecidedCommand_LateNotSecondResult()
    {
        Online("a", "c1", 1);
        _engine.OnCommand(0, 0, Cmd("x"));
        var request = _out.Requests[0];
        _engine.OnResponse(Response(request, "{}"));
        _engine.OnResponse(Response(request, "{}"));
        Assert.Single(_out.Results);
        Assert.Single(_out.Late);
    }

    [Fact]
    public void Revoke_DropsCommandsAndCommitsWatermark()
    {
        Online("a", "c1", 1);
        _engine.OnCommand(0, 0, Cmd("x"));
        _engine.OnCommand(0, 1, Cmd("y"));
        _engine.OnResponse(Response(_out.Requests[0], "{}"));
        _out.AckAll();
        var (commits, snapshots, dropped) = _engine.Revoke([0]);
        Assert.Equal([(0, 1L)], commits);
        Assert.Equal(1, dropped);
        var snapshot = Assert.Single(snapshots);
        Assert.Equal((0, 1L, 2L), (snapshot.Partition, snapshot.Watermark, snapshot.Next));
        Assert.Equal(1L, Assert.Single(snapshot.Undecided).Offset);
        Assert.Equal(0, _engine.InFlightCount);
    }

    [Fact]
    public void AgentDisconnected_SideEffecting_OutcomeUnknownNotResent()
    {
        Online("a", "c1", 1);
        _engine.OnCommand(0, 0, Cmd("x", action: "restart-service", payload: "{\"name\":\"nginx\"}"));
        _engine.OnResponse(Report(_out.Requests[0], ConnectorResponseKind.AgentDisconnected));
        Online("a", "c2", 5);

        var r = Assert.Single(_out.Results).Result;
        Assert.Equal(CommandStatus.OutcomeUnknown, r.Status);
        Assert.Contains("may have run", r.Error, StringComparison.Ordinal);
        Assert.Single(_out.Requests);
    }

    [Fact]
    public void AgentDisconnected_ReadOnly_ResentToTheNextSessionUpToTheCap()
    {
        Online("a", "c1", 10);
        _engine.OnCommand(0, 0, Cmd("x"));
        for (var i = 0; i <= _options.MaxResends; i++)
        {
            var session = 10 * (i + 1);
            Offline("a", "c1", session, session + 1);
            _engine.OnResponse(Report(_out.Requests[^1], ConnectorResponseKind.AgentDisconnected));
            Online("a", "c1", session + 10);
            if (i < _options.MaxResends)
            {
                Assert.Equal(i + 2, _out.Requests.Count);
                Assert.Equal(_out.Requests[0].RequestId, _out.Requests[^1].RequestId);
            }
        }

        var r = Assert.Single(_out.Results).Result;
        Assert.Equal(CommandStatus.OutcomeUnknown, r.Status);
        Assert.Equal(1 + _options.MaxResends, _out.Requests.Count);
    }

    [Fact]
    public void AgentNotConnected_NeverWritten_ResentWithoutCap()
    {
        Online("a", "c1", 1);
        _engine.OnCommand(0, 0, Cmd("x", action: "update-agent-config", payload: "{\"metricsInterval\":5,\"watchlist\":[]}"));
        for (var i = 0; i < _options.MaxResends + 2; i++)
        {
            _engine.OnResponse(Report(_out.Requests[^1], ConnectorResponseKind.AgentNotConnected));
            Online("a", "c1", 10 + i);
        }

        Assert.Equal(_options.MaxResends + 3, _out.Requests.Count);
        Assert.Empty(_out.Results);
    }

    /// <summary>Two connections with one agent id: a newer session while the request runs on the older, still open one.</summary>
    [Fact]
    public void NewerSessionWhileOlderStillOpen_ReadOnlyWrittenOnOlder_OutcomeUnknownNotRunOnNewer()
    {
        Online("a", "c1", 1);
        _engine.OnCommand(0, 0, Cmd("x"));
        Online("a", "c2", 2);
        Assert.Single(_out.Requests);
        // c1 closes its older session and reports the request as written: it may have run there.
        Offline("a", "c1", 1, 3);
        _engine.OnResponse(Report(_out.Requests[0], ConnectorResponseKind.AgentDisconnected));

        var r = Assert.Single(_out.Results).Result;
        Assert.Equal(CommandStatus.OutcomeUnknown, r.Status);
        Assert.Contains("newer session", r.Error, StringComparison.Ordinal);
        Assert.Single(_out.Requests);
    }

    [Fact]
    public void SessionSupersededAndConnectorSilent_AfterGraceReadOnlyResentSideEffectingUnknown()
    {
        Online("a", "c1", 1);
        _engine.OnCommand(0, 0, Cmd("read"));
        _engine.OnCommand(0, 1, Cmd("write", action: "restart-service", payload: "{\"name\":\"ssh\"}"));
        Online("a", "c2", 2);
        _time.Advance(_options.SessionEndedGrace - TimeSpan.FromMilliseconds(100));
        _engine.Tick();
        Assert.Equal(2, _out.Requests.Count);

        _time.Advance(TimeSpan.FromMilliseconds(200));
        _engine.Tick();
        Assert.Equal(3, _out.Requests.Count);
        Assert.Equal(("c2", "read"), (_out.Requests[2].ConnectorId, _out.Requests[2].CommandId));
        var r = Assert.Single(_out.Results).Result;
        Assert.Equal(("write", CommandStatus.OutcomeUnknown), (r.CommandId, r.Status));
    }

    [Fact]
    public void Stalled_TimerDecidesNothingUntilTheLoopPolledSteadily()
    {
        _engine.ConsumerAlive();
        _engine.OnCommand(0, 0, Cmd("x", deadline: _time.GetUtcNow().AddSeconds(2)));
        _time.Advance(_options.StallTimeout + TimeSpan.FromSeconds(1));
        _engine.Tick();
        Assert.Empty(_out.Results);
        Assert.True(_engine.IsFenced);

        _engine.ConsumerAlive();
        _time.Advance(_options.StallSettle - TimeSpan.FromMilliseconds(100));
        _engine.ConsumerAlive();
        _engine.Tick();
        Assert.Empty(_out.Results);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        _engine.ConsumerAlive();
        _engine.Tick();
        Assert.Equal(CommandStatus.Expired, Assert.Single(_out.Results).Result.Status);
    }

    [Fact]
    public void Fenced_AgentConnects_SentOnlyOnceTheFenceIsLifted()
    {
        _engine.ConsumerAlive();
        _engine.OnCommand(0, 0, Cmd("x"));
        _engine.FenceNow("lost the group");
        Online("a", "c1", 1);
        Assert.Empty(_out.Requests);
        _time.Advance(_options.StallSettle);
        _engine.ConsumerAlive();
        Assert.Single(_out.Requests);
    }

    /// <summary>Scenario 1 in the engine: a restored partition skips every decided record however many came after a waiting one.</summary>
    [Fact]
    public void Restore_FromSnapshot_DecidedRecordsSkippedUndecidedHandled()
    {
        _engine.OnCommand(0, 0, Cmd("waiting", agent: "ghost", deadline: _time.GetUtcNow().AddHours(1)));
        Online("a", "c1", 1);
        for (var i = 1; i <= 500; i++)
        {
            _engine.OnCommand(0, i, Cmd("done" + i));
            _engine.OnResponse(Response(_out.Requests[^1], "{}"));
        }

        _out.AckAll();
        var (commits, snapshots, _) = _engine.Revoke([0]);
        Assert.Empty(commits); // pinned at the waiting command, where consumption started

        var snapshot = Assert.Single(snapshots);
        Assert.Equal(0L, Assert.Single(snapshot.Undecided).Offset);

        var output = new FakeOutput();
        var next = NewEngine(output);
        next.Assign([0]);
        next.Restore(0, snapshot, committed: 0, decidedSince: []);
        Online("a", "c1", 1, next);
        next.OnCommand(0, 0, Cmd("waiting", agent: "ghost", deadline: _time.GetUtcNow().AddHours(1)));
        for (var i = 1; i <= 500; i++) next.OnCommand(0, i, Cmd("done" + i));
        next.OnCommand(0, 501, Cmd("new"));

        Assert.Equal(["new"], output.Requests.Select(r => r.CommandId));
        Assert.Empty(output.Results);
        Assert.Equal(1, next.WaitingCount);
        Assert.Equal(0, next.Watermark(0));
    }

    [Fact]
    public void Restore_InFlightToTheSameSession_SentThereAgainWithTheSameId()
    {
        Online("a", "c1", 1);
        _engine.OnCommand(0, 0, Cmd("x", action: "restart-service", payload: "{\"name\":\"ssh\"}"));
        var snapshots = new List<PartitionSnapshot>();
        _engine.TakeSnapshots(snapshots, TimeSpan.Zero);
        var u = Assert.Single(Assert.Single(snapshots).Undecided);
        Assert.Equal((1L, "c1"), (u.SentTo, u.SentToConnector));

        var output = new FakeOutput();
        var next = NewEngine(output);
        next.Assign([0]);
        next.Restore(0, snapshots[0], committed: 0, decidedSince: []);
        Online("a", "c1", 1, next);
        next.OnCommand(0, 0, Cmd("x", action: "restart-service", payload: "{\"name\":\"ssh\"}"));
        Assert.Equal(_out.Requests[0].RequestId, Assert.Single(output.Requests).RequestId);
    }

    [Fact]
    public void Restore_InFlightToAnEndedSession_SideEffectingOutcomeUnknownAfterGrace()
    {
        Online("a", "c1", 1);
        _engine.OnCommand(0, 0, Cmd("x", action: "restart-service", payload: "{\"name\":\"ssh\"}"));
        var snapshots = new List<PartitionSnapshot>();
        _engine.TakeSnapshots(snapshots, TimeSpan.Zero);

        var output = new FakeOutput();
        var next = NewEngine(output);
        next.Assign([0]);
        next.Restore(0, snapshots[0], committed: 0, decidedSince: []);
        Online("a", "c2", 7, next);
        next.OnCommand(0, 0, Cmd("x", action: "restart-service", payload: "{\"name\":\"ssh\"}"));
        Assert.Empty(output.Requests);
        _time.Advance(_options.SessionEndedGrace + TimeSpan.FromMilliseconds(1));
        next.ConsumerAlive();
        next.Tick();
        Assert.Equal(CommandStatus.OutcomeUnknown, Assert.Single(output.Results).Result.Status);
    }

    [Fact]
    public void Response_ReadBeforeItsCommandAfterTakeover_DecidesWithoutSending()
    {
        var requestId = RequestIds.Derive(0, 0, 4);
        _engine.OnResponse(new ConnectorResponse("x", "a", "c1", requestId, ConnectorResponseKind.Response, "{\"status\":\"ok\"}", _time.GetUtcNow()));
        Assert.Empty(_out.Late);
        Online("a", "c1", 1);
        _engine.OnCommand(0, 4, Cmd("x"));

        Assert.Empty(_out.Requests);
        Assert.Equal(CommandStatus.Ok, Assert.Single(_out.Results).Result.Status);
    }

    [Fact]
    public void Unreadable_Record_RejectedAndCommitMoves()
    {
        _engine.OnUnreadableCommand(0, 0, "unreadable:t:0:0", "a", "", "not Avro");
        var r = Assert.Single(_out.Results).Result;
        Assert.Equal((CommandStatus.Rejected, "not Avro", (long?)null), (r.Status, r.Error, r.RequestId));
        _out.AckAll();
        var commits = new List<(int, long)>();
        _engine.TakeCommits(commits);
        Assert.Equal([(0, 1L)], commits);
    }

    [Fact]
    public void Command_CreatedTimeAtTheEndOfTheCalendar_RejectedNotOverflow()
    {
        _engine.OnCommand(0, 0, new AgentCommand("x", "a", "get-server-info", null, null, new DateTimeOffset(9999, 12, 31, 0, 0, 0, TimeSpan.Zero)));
        var r = Assert.Single(_out.Results).Result;
        Assert.Equal(CommandStatus.Rejected, r.Status);
        Assert.Contains("created_time", r.Error, StringComparison.Ordinal);
    }

    private static ConnectorResponse Response(ConnectorRequest r, string json) =>
        new(r.CommandId, r.AgentId, r.ConnectorId, r.RequestId, ConnectorResponseKind.Response, json, DateTimeOffset.UtcNow);

    private static ConnectorResponse Report(ConnectorRequest r, ConnectorResponseKind kind) =>
        new(r.CommandId, r.AgentId, r.ConnectorId, r.RequestId, kind, null, DateTimeOffset.UtcNow);

    private sealed class FakeOutput : IDispatchOutput
    {
        private readonly List<Action<bool, string?>> _acks = [];
        public List<ConnectorRequest> Requests { get; } = [];
        public List<(CommandResult Result, Action<bool, string?> Ack)> Results { get; } = [];
        public List<ConnectorResponse> Late { get; } = [];
        public void SendRequest(ConnectorRequest request) => Requests.Add(request);
        public void PublishResult(CommandResult result, Action<bool, string?> acknowledged)
        {
            Results.Add((result, acknowledged));
            _acks.Add(acknowledged);
        }

        public void PublishLate(ConnectorResponse response) => Late.Add(response);

        public void AckAll()
        {
            foreach (var a in _acks) a(true, null);
            _acks.Clear();
        }
    }
}

internal sealed class FakeTime : TimeProvider
{
    private DateTimeOffset _now = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private long _ticks;
    public override DateTimeOffset GetUtcNow() => _now;
    public override long GetTimestamp() => _ticks;
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public void Advance(TimeSpan by)
    {
        _now += by;
        _ticks += by.Ticks;
    }
}

internal sealed class TestMeterFactory : IMeterFactory
{
    public Meter Create(MeterOptions options) => new(options);
    public void Dispose() { }
}
