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
    private readonly CommandEngine _engine;

    public CommandEngineTests()
    {
        var options = new DispatcherOptions { MaxPendingPerPartition = 3 };
        options.ActionTimeouts["get-server-info"] = TimeSpan.FromSeconds(10);
        _engine = new CommandEngine(options, _out, new DispatcherMetrics(new TestMeterFactory()), _time, NullLogger.Instance);
        _engine.Assign([0]);
    }

    private AgentCommand Cmd(string id, string agent = "a", string action = "get-server-info", DateTimeOffset? deadline = null) =>
        new(id, agent, action, null, deadline, _time.GetUtcNow(), "t");

    private void Online(string agent, string connector, long epoch) => _engine.OnPresence(new AgentPresence
    {
        AgentId = agent, ConnectorId = connector, SessionId = connector + epoch, Epoch = epoch, Status = PresenceStatus.Connected,
    });

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
        var (commits, dropped) = _engine.Revoke([0]);
        Assert.Equal([(0, 1L)], commits);
        Assert.Equal(1, dropped);
        Assert.Equal(0, _engine.InFlightCount);
    }

    private static ConnectorResponse Response(ConnectorRequest r, string json) =>
        new(r.CommandId, r.AgentId, r.ConnectorId, r.RequestId, ConnectorResponseKind.Response, json, DateTimeOffset.UtcNow);

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
    public override DateTimeOffset GetUtcNow() => _now;
    public void Advance(TimeSpan by) => _now += by;
}

internal sealed class TestMeterFactory : IMeterFactory
{
    public Meter Create(MeterOptions options) => new(options);
    public void Dispose() { }
}
