using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.AgentSimulator.Responses;
using StreamPipeline.Dispatcher.Commands;
using StreamPipeline.Dispatcher.Dispatching;
using StreamPipeline.Dispatcher.Tests.Dispatching;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Testing;
using Xunit.Abstractions;

namespace StreamPipeline.Dispatcher.Tests.EndToEnd;

/// <summary>
/// Commands end to end, nothing played by the test but the other systems: a command produced to Kafka (Confluent.Kafka,
/// Avro through the embedded registry), a dispatcher, an edge connector, a simulated agent over real wss, and the result
/// read back from the results topic. Every test checks the two guarantees: exactly one terminal result per command on
/// the results topic, and no command executed twice on an agent (the simulator's execution counter per request id).
/// Each test runs three times: with agents that keep their response cache across reconnects, with agents that lose it on
/// every restart (each reconnect), and with agents that handle requests concurrently and cache an answer only once its
/// work is done, the weakest agent the protocol allows.
/// </summary>
public sealed class CommandEndToEndTests(DispatcherFixture fx, ITestOutputHelper output) : IClassFixture<DispatcherFixture>
{
    private static readonly TimeSpan ResultsTimeout = TimeSpan.FromSeconds(90);

    public static TheoryData<RequestCacheMode> CacheModes => new(Enum.GetValues<RequestCacheMode>());

    [Theory]
    [MemberData(nameof(CacheModes))]
    public async Task EveryAction_RoundTripsThroughKafka_OneResultEachRunOnce(RequestCacheMode mode)
    {
        fx.Kafka.Describe(output);
        await using var world = await CommandWorld.StartAsync(fx, output, mode);
        var connector = await world.StartConnectorAsync("edge-a");
        world.FrontDoor.RouteTo(connector.AgentPort);
        var dispatcher = await world.Bed.StartDispatcherAsync("d1");
        var fleet = await world.StartFleetAsync(2);
        const string Agent = "sim-000001";

        var commands = await world.SendAsync(
        [
            TestBed.Command(Agent, "get-server-info"),
            TestBed.Command(Agent, "get-services"),
            TestBed.Command(Agent, "get-service", "{\"name\":\"ssh\"}"),
            TestBed.Command(Agent, "get-service-log", "{\"name\":\"ssh\"}"),
            TestBed.Command(Agent, "restart-service", "{\"name\":\"ssh\"}"),
            TestBed.Command(Agent, "get-processes"),
            TestBed.Command(Agent, "get-process", "{\"pid\":1234}"),
            TestBed.Command(Agent, "get-process", "{\"pid\":\"1234\"}"),
            TestBed.Command(Agent, "update-agent-config", "{\"metricsInterval\":10,\"watchlist\":[\"nginx\",\"db\"]}"),
            TestBed.Command("sim-000002", "restart-service", "{\"name\":\"no-such-service\"}"),
        ]);

        var results = await world.WaitForResultsAsync(commands, ResultsTimeout, [dispatcher]);
        world.AssertExactlyOnce(commands, [fleet], allOk: false);

        JsonElement Data(int i)
        {
            var result = results[commands[i].CommandId];
            Assert.True(result.Status == CommandStatus.Ok, $"{commands[i].Action}: {result.Status} {result.Error}");
            Assert.Equal("edge-a", result.ConnectorId);
            Assert.NotNull(result.DispatchedTime);
            Assert.True(result.CompletedTime >= result.DispatchedTime);
            var root = JsonDocument.Parse(result.ResponseJson!).RootElement;
            Assert.Equal("ok", root.GetProperty("status").GetString());
            return root.TryGetProperty("data", out var data) ? data : root;
        }

        var info = Data(0);
        Assert.False(string.IsNullOrEmpty(info.GetProperty("hostname").GetString()));
        Assert.True(info.GetProperty("cpuThreads").GetInt32() >= info.GetProperty("cpuCores").GetInt32());
        foreach (var field in new[] { "ipAddress", "os", "osVersion", "kernel", "architecture", "cpuModel" }) Assert.True(info.TryGetProperty(field, out _), field);

        var services = Data(1).EnumerateArray().ToList();
        Assert.Contains(services, s => s.GetProperty("name").GetString() == "ssh");
        Assert.All(services, s => Assert.True(s.TryGetProperty("activeState", out _) && s.TryGetProperty("subState", out _)));

        var service = Data(2);
        foreach (var field in new[] { "mainPID", "cpuUsagePercent", "memoryUsage", "startTime", "exitTime" }) Assert.True(service.TryGetProperty(field, out _), field);

        var log = Data(3).EnumerateArray().ToList();
        Assert.Equal(1000, log.Count);
        Assert.All(log, line => Assert.False(string.IsNullOrEmpty(line.GetProperty("log").GetString())));
        output.WriteLine($"get-service-log: {log.Count} lines, {results[commands[3].CommandId].ResponseJson!.Length:N0} chars of JSON");

        Data(4);
        var processes = Data(5).EnumerateArray().ToList();
        Assert.Contains(processes, p => p.GetProperty("pid").GetInt32() == 1234);
        foreach (var i in new[] { 6, 7 })
        {
            var process = Data(i);
            Assert.Equal(1234, process.GetProperty("pid").GetInt32());
            foreach (var field in new[] { "cmdline", "nice", "numThreads", "uptimeSeconds" }) Assert.True(process.TryGetProperty(field, out _), field);
        }

        // The int and the string pid are two commands: two request ids, each run once.
        Assert.NotEqual(results[commands[6].CommandId].RequestId, results[commands[7].CommandId].RequestId);
        Assert.Equal(2, fleet.ExecutionCount(Agent, "get-process"));

        Data(8);
        var agent = fleet.FindAgent(Agent)!;
        Assert.Equal(TimeSpan.FromSeconds(10), agent.MetricsInterval);
        Assert.Equal(new[] { "nginx", "db" }, agent.Watchlist);

        var refused = results[commands[9].CommandId];
        Assert.Equal(CommandStatus.Error, refused.Status);
        Assert.Contains("could not be found", refused.Error, StringComparison.Ordinal);
        Assert.Equal(1, fleet.ExecutionCount("sim-000002", refused.RequestId!.Value));
    }

    /// <summary>
    /// Regression: the connector counted the agent's answers against its event rate limit (5/s, bursts of 20), so of
    /// 40 commands sent to one agent at once all 40 ran but 18 answers were dropped and ended TIMEOUT.
    /// </summary>
    [Theory]
    [MemberData(nameof(CacheModes))]
    public async Task BurstToOneAgent_AnswersNotRateLimitedAsEvents_AllOkRunOnce(RequestCacheMode mode)
    {
        await using var world = await CommandWorld.StartAsync(fx, output, mode);
        var connector = await world.StartConnectorAsync("edge-a");
        world.FrontDoor.RouteTo(connector.AgentPort);
        var dispatcher = await world.Bed.StartDispatcherAsync("d1");
        var fleet = await world.StartFleetAsync(1);

        var commands = await world.SendAsync(Enumerable.Range(0, 40).Select(_ => TestBed.Command("sim-000001", "get-server-info")));

        await world.WaitForResultsAsync(commands, ResultsTimeout, [dispatcher]);
        world.AssertExactlyOnce(commands, [fleet]);
        Assert.Equal(0, fleet.FindAgent("sim-000001")!.Reconnects);
    }

    /// <remarks>Every cache mode at once: the agents take the modes in turn (<see cref="CommandWorld.CacheMode"/> null).</remarks>
    [Fact]
    public async Task TwoDispatchersTwoConnectors_BatchAcrossAgents_OneResultEachRunOnce()
    {
        await using var world = await CommandWorld.StartAsync(fx, output, cacheMode: null);
        var a = await world.StartConnectorAsync("edge-a");
        var b = await world.StartConnectorAsync("edge-b");
        var d1 = await world.Bed.StartDispatcherAsync("d1");
        var d2 = await world.Bed.StartDispatcherAsync("d2");
        world.FrontDoor.RouteTo(a.AgentPort);
        var onA = await world.StartFleetAsync(4, first: 1);
        world.FrontDoor.RouteTo(b.AgentPort);
        var onB = await world.StartFleetAsync(4, first: 5);
        await WaitBothOwnPartitionsAsync(d1, d2);

        var commands = await world.SendAsync(Batch(Enumerable.Range(1, 8).Select(n => SimulatedFleet.AgentIdFor("sim-", n)), perAgent: 6));

        var results = await world.WaitForResultsAsync(commands, ResultsTimeout, [d1, d2]);
        world.AssertExactlyOnce(commands, [onA, onB]);
        Assert.All(commands, c => Assert.Equal(int.Parse(c.AgentId[4..], System.Globalization.CultureInfo.InvariantCulture) <= 4 ? "edge-a" : "edge-b", results[c.CommandId].ConnectorId));
        Assert.Equal(0, onA.Agents.Concat(onB.Agents).Sum(x => x.CachedReplies));
    }

    /// <remarks>Every cache mode at once: the agents take the modes in turn (<see cref="CommandWorld.CacheMode"/> null).</remarks>
    [Fact]
    public async Task AgentMovesToOtherConnector_CommandsPendingAndInFlight_NoneLostNoneRunTwice()
    {
        await using var world = await CommandWorld.StartAsync(fx, output, cacheMode: null);
        var a = await world.StartConnectorAsync("edge-a");
        var b = await world.StartConnectorAsync("edge-b");
        var d1 = await world.Bed.StartDispatcherAsync("d1");
        var d2 = await world.Bed.StartDispatcherAsync("d2");
        world.FrontDoor.RouteTo(a.AgentPort);
        // Each executed request takes the agent 1.5 s: long enough to pull its connection out from under it.
        var fleet = await world.StartFleetAsync(4, responseDelay: TimeSpan.FromMilliseconds(1500));
        await WaitBothOwnPartitionsAsync(d1, d2);
        var agents = fleet.Agents;

        // In flight: every agent has started running its first command when its connection drops.
        var inFlight = await world.SendAsync(agents.Select(x => TestBed.Command(x.AgentId, "get-server-info")));
        await Eventually.TrueAsync(() => agents.All(x => x.TotalExecutions == 1), TimeSpan.FromSeconds(30), "every agent to be running its first command");
        world.FrontDoor.Refuse();
        foreach (var agent in agents) agent.DropConnection();
        await Eventually.TrueAsync(() => agents.All(x => !x.IsAuthenticated), TimeSpan.FromSeconds(30), "every agent offline");

        // Pending: sent while the agents are offline; they wait in the dispatchers for the agents to come back.
        var pending = await world.SendAsync(agents.SelectMany(x => new[]
        {
            TestBed.Command(x.AgentId, "get-process", "{\"pid\":\"1234\"}"),
            TestBed.Command(x.AgentId, "restart-service", "{\"name\":\"ssh\"}"),
        }));
        await Eventually.TrueAsync(() => Engine(d1).WaitingCount + Engine(d2).WaitingCount == inFlight.Count + pending.Count,
            TimeSpan.FromSeconds(30), "every command waiting for its agent");

        world.FrontDoor.RouteTo(b.AgentPort);
        var all = inFlight.Concat(pending).ToList();
        var results = await world.WaitForResultsAsync(all, ResultsTimeout, [d1, d2]);

        world.AssertExactlyOnce(all, [fleet]);
        Assert.All(all, c => Assert.Equal("edge-b", results[c.CommandId].ConnectorId));
        // The first commands were re-sent with their ids and answered from the agents' caches, not run again (an agent
        // that lost its cache in the restart, or had not cached the answer yet, ran the read again: allowed for
        // read-only actions, checked above).
        Assert.All(agents.Where(x => x.CacheMode == RequestCacheMode.KeptAcrossReconnects),
            x => Assert.True(x.CachedReplies >= 1, $"{x.AgentId} answered {x.CachedReplies} requests from its cache"));
        Assert.Equal(0, world.FrontDoor.OpenTo(a.AgentPort));
    }

    /// <remarks>Every cache mode at once: the agents take the modes in turn (<see cref="CommandWorld.CacheMode"/> null).</remarks>
    [Fact]
    public async Task ConnectorKilledMidCommand_AgentsReconnectElsewhere_NoneLostNoneRunTwice()
    {
        await using var world = await CommandWorld.StartAsync(fx, output, cacheMode: null);
        var a = await world.StartConnectorAsync("edge-a");
        var b = await world.StartConnectorAsync("edge-b");
        var d1 = await world.Bed.StartDispatcherAsync("d1");
        var d2 = await world.Bed.StartDispatcherAsync("d2");
        world.FrontDoor.RouteTo(a.AgentPort);
        // 3 s per executed request: edge-a is gone well before the first answers are due.
        var fleet = await world.StartFleetAsync(4, responseDelay: TimeSpan.FromSeconds(3));
        await WaitBothOwnPartitionsAsync(d1, d2);
        var agents = fleet.Agents;

        // Two commands per agent: the first running on the agent, the second queued behind it, when edge-a dies.
        var commands = await world.SendAsync(agents.SelectMany(x => new[]
        {
            TestBed.Command(x.AgentId, "get-service", "{\"name\":\"ssh\"}"),
            TestBed.Command(x.AgentId, "update-agent-config", "{\"metricsInterval\":30,\"watchlist\":[\"nginx\"]}"),
        }));
        await Eventually.TrueAsync(() => agents.All(x => x.TotalExecutions >= 1), TimeSpan.FromSeconds(30), "every agent to be running a command");
        world.FrontDoor.RouteTo(b.AgentPort);
        await world.KillConnectorAsync(a);

        var results = await world.WaitForResultsAsync(commands, ResultsTimeout, [d1, d2]);
        world.AssertExactlyOnce(commands, [fleet], allOk: false);
        foreach (var c in commands)
        {
            var r = results[c.CommandId];
            if (CommandWorld.IsSideEffecting(c.Action))
            {
                // Written to edge-a, which died before the agent answered: it may have run, so it is not sent again.
                Assert.True(r.Status is CommandStatus.OutcomeUnknown or CommandStatus.Timeout or CommandStatus.Ok, $"{c.Action}: {r.Status} {r.Error}");
            }
            else
            {
                Assert.True(r.Status == CommandStatus.Ok, $"{c.Action}: {r.Status} {r.Error}");
                Assert.Equal("edge-b", r.ConnectorId);
            }
        }

        Assert.All(agents.Where(x => x.CacheMode == RequestCacheMode.KeptAcrossReconnects),
            x => Assert.True(x.CachedReplies >= 1, $"{x.AgentId} answered {x.CachedReplies} requests from its cache"));
    }

    /// <remarks>Every cache mode at once: the agents take the modes in turn (<see cref="CommandWorld.CacheMode"/> null).</remarks>
    [Fact]
    public async Task DispatcherKilledAndRestarted_CommandsTakenOver_NoneLostNoneRunTwice()
    {
        await using var world = await CommandWorld.StartAsync(fx, output, cacheMode: null);
        var a = await world.StartConnectorAsync("edge-a");
        var b = await world.StartConnectorAsync("edge-b");
        var d1 = await world.Bed.StartDispatcherAsync("d1");
        var d2 = await world.Bed.StartDispatcherAsync("d2");
        world.FrontDoor.RouteTo(a.AgentPort);
        var onA = await world.StartFleetAsync(3, first: 1, responseDelay: TimeSpan.FromMilliseconds(1500));
        world.FrontDoor.RouteTo(b.AgentPort);
        var onB = await world.StartFleetAsync(3, first: 4, responseDelay: TimeSpan.FromMilliseconds(1500));
        await WaitBothOwnPartitionsAsync(d1, d2);
        var agents = onA.Agents.Concat(onB.Agents).ToList();

        // Three per agent: with 1.5 s each, d1 dies while some of its commands run and others are still queued.
        var commands = await world.SendAsync(Batch(agents.Select(x => x.AgentId), perAgent: 3));
        await Eventually.TrueAsync(() => agents.All(x => x.TotalExecutions >= 1), TimeSpan.FromSeconds(30), "every agent to be running a command");
        var d1Held = Engine(d1).InFlightCount + Engine(d1).WaitingCount;
        var d1Partition = d1.Services.GetRequiredService<DispatcherWorker>().Engine!.OwnedPartitions().Single();
        var resultsAtKill = world.Bed.PublishedResults.Count;
        output.WriteLine($"killing d1 holding {d1Held} commands; d2 holds {Engine(d2).InFlightCount + Engine(d2).WaitingCount}");
        Assert.True(d1Held > 0, "d1 held no command when killed: the test would prove nothing");
        await world.Bed.StopDispatcherAsync(d1, kill: true);
        var d1Again = await world.Bed.StartDispatcherAsync("d1", waitReady: false);

        var results = await world.WaitForResultsAsync(commands, ResultsTimeout, [d1Again, d2]);
        world.AssertExactlyOnce(commands, [onA, onB]);
        var resent = commands.Sum(c => world.Bed.RequestCount(c.CommandId)) - commands.Count;
        // Results of d1's partition decided after the kill came from its next owner (the request id names the partition).
        var takenOver = world.Bed.PublishedResults.Skip(resultsAtKill).Count(r => r.RequestId is { } id && RequestIds.Decompose(id).Partition == d1Partition);
        output.WriteLine($"{takenOver} commands of d1's partition decided by its next owner, {resent} requests re-sent, {agents.Sum(x => x.CachedReplies)} answered from the agents' caches");
        Assert.True(takenOver >= 1, "nothing of d1's partition was decided after the kill: the takeover was not exercised");
        Assert.All(results.Values, r => Assert.NotNull(r.RequestId));
    }

    private static CommandEngineView Engine(WebApplication dispatcher) => new(dispatcher.Services.GetRequiredService<DispatcherWorker>());

    /// <summary>Both dispatchers have joined the group and own a commands partition each, so the tests route through both.</summary>
    private static async Task WaitBothOwnPartitionsAsync(WebApplication d1, WebApplication d2) =>
        await Eventually.TrueAsync(
            () => d1.Services.GetRequiredService<DispatcherWorker>().Engine?.OwnedPartitions().Count == 1
                  && d2.Services.GetRequiredService<DispatcherWorker>().Engine?.OwnedPartitions().Count == 1,
            TimeSpan.FromSeconds(60), "each dispatcher to own one commands partition");

    /// <summary>A mix of the protocol's actions, <paramref name="perAgent"/> per agent, interleaved across agents.</summary>
    private static List<AgentCommand> Batch(IEnumerable<string> agentIds, int perAgent)
    {
        (string Action, string? Payload)[] mix =
        [
            ("get-server-info", null),
            ("get-process", "{\"pid\":1234}"),
            ("get-service", "{\"name\":\"ssh\"}"),
            ("restart-service", "{\"name\":\"ssh\"}"),
            ("get-services", null),
            ("update-agent-config", "{\"metricsInterval\":30,\"watchlist\":[\"nginx\"]}"),
        ];
        var ids = agentIds.ToList();
        var commands = new List<AgentCommand>();
        for (var i = 0; i < perAgent; i++)
        {
            foreach (var id in ids) commands.Add(TestBed.Command(id, mix[i % mix.Length].Action, mix[i % mix.Length].Payload));
        }

        return commands;
    }

    private readonly struct CommandEngineView(DispatcherWorker worker)
    {
        public int InFlightCount => worker.Engine?.InFlightCount ?? 0;
        public int WaitingCount => worker.Engine?.WaitingCount ?? 0;
    }
}
