using System.Text.Json.Nodes;
using Avro.Generic;
using Confluent.SchemaRegistry;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.AgentSimulator.Responses;
using StreamPipeline.Dispatcher.Dispatching;
using StreamPipeline.Dispatcher.Tests.Dispatching;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Protocol;
using StreamPipeline.Testing;
using StreamPipeline.Testing.EdgeConnector;
using Xunit.Abstractions;

namespace StreamPipeline.Dispatcher.Tests.EndToEnd;

/// <summary>
/// Commands through production events (issue 8), each scenario end to end: two dispatchers and two edge connectors
/// (unless the scenario needs one), simulated agents over wss, results counted per command id on the results topic and
/// executions counted per request id by the simulator.
/// </summary>
public sealed class LifecycleTests(DispatcherFixture fx, ITestOutputHelper output) : IClassFixture<DispatcherFixture>
{
    private static readonly TimeSpan ResultsTimeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Scenario 1. A command for an offline agent (deadline 1 h) pins its partition's commit; 500 commands after it
    /// finish. A restart and a rebalance must not reopen them: the new owner knows them finished from the state recorded
    /// with its partition, not from the last N result keys (N = 10 here), so none is re-sent, even to an agent whose
    /// cache holds only 5 answers.
    /// </summary>
    [Fact]
    public async Task WaitingCommandPinsCommit_DispatcherRestartedAndAdded_FinishedCommandsNotReopened()
    {
        await using var world = await CommandWorld.StartAsync(fx, output);
        var a = await world.StartConnectorAsync("edge-a");
        await world.StartConnectorAsync("edge-b");
        world.FrontDoor.RouteTo(a.AgentPort);
        var settings = new Dictionary<string, string?> { ["Dispatcher:ResultsTailRecords"] = "10" };
        var d1 = await world.Bed.StartDispatcherAsync("d1", settings);
        var fleet = await world.StartFleetAsync(1, configure: o => o.RequestCacheCapacity = 5);
        const int Partition = 0;

        var waiting = TestBed.Command("sim-000002", "get-server-info", deadline: DateTimeOffset.UtcNow.AddHours(1));
        await world.Bed.SendAsync(waiting, Partition);
        (string Action, string? Payload)[] mix = [("get-server-info", null), ("get-process", "{\"pid\":1234}"), ("restart-service", "{\"name\":\"ssh\"}"), ("get-services", null)];
        var finished = Enumerable.Range(0, 500).Select(i => TestBed.Command("sim-000001", mix[i % mix.Length].Action, mix[i % mix.Length].Payload)).ToList();
        foreach (var c in finished) await world.Bed.SendAsync(c, Partition);
        await WaitForResultsAsync(world, finished);
        Assert.Equal(500, fleet.Agents[0].TotalExecutions);

        await world.Bed.StopDispatcherAsync(d1);
        d1 = await world.Bed.StartDispatcherAsync("d1", settings);
        var d2 = await world.Bed.StartDispatcherAsync("d2", settings);
        await WaitEachOwnsOnePartitionAsync(d1, d2);
        // Read after everything else on the partition: once it is answered, every earlier record was read again.
        var marker = TestBed.Command("sim-000001", "get-server-info");
        await world.Bed.SendAsync(marker, Partition);
        await WaitForResultsAsync(world, [marker]);

        Assert.Equal(0, world.Bed.ResultCount(waiting.CommandId));
        var ghost = await world.StartFleetAsync(1, first: 2);
        var all = finished.Append(waiting).Append(marker).ToList();
        await WaitForResultsAsync(world, [waiting]);
        world.AssertExactlyOnce(all, [fleet, ghost]);
        Assert.Equal(501, fleet.Agents[0].TotalExecutions);
        Assert.All(finished, c => Assert.Equal(1, world.Bed.RequestCount(c.CommandId)));
    }

    /// <summary>
    /// Scenario 2. A restart-service written to the agent's connection when it drops is not sent again: its result is
    /// OUTCOME_UNKNOWN. A read-only command in the same position is re-sent (counted in dispatcher_resends_total) and ends
    /// ok. Under every cache mode at once: one agent of each.
    /// </summary>
    [Fact]
    public async Task WrittenWhenConnectionDrops_SideEffectingOutcomeUnknownReadOnlyResent()
    {
        // Three agents, one per cache mode (kept, lost on reconnect, cached on completion).
        await using var world = await CommandWorld.StartAsync(fx, output, cacheMode: null);
        var a = await world.StartConnectorAsync("edge-a");
        var b = await world.StartConnectorAsync("edge-b");
        var d1 = await world.Bed.StartDispatcherAsync("d1");
        var d2 = await world.Bed.StartDispatcherAsync("d2");
        world.FrontDoor.RouteTo(a.AgentPort);
        var fleet = await world.StartFleetAsync(3, responseDelay: TimeSpan.FromSeconds(2));
        await WaitEachOwnsOnePartitionAsync(d1, d2);
        var agents = fleet.Agents;
        Assert.Equal(Enum.GetValues<RequestCacheMode>().Length, agents.Select(x => x.CacheMode).Distinct().Count());

        var commands = await world.SendAsync(agents.SelectMany(x => new[]
        {
            TestBed.Command(x.AgentId, "restart-service", "{\"name\":\"ssh\"}"),
            TestBed.Command(x.AgentId, "get-server-info"),
        }));
        foreach (var c in commands) await world.Bed.WaitForRequestAsync(c.CommandId);
        await Eventually.TrueAsync(() => agents.All(x => x.TotalExecutions >= 1), TimeSpan.FromSeconds(30), "every agent running its restart");
        world.FrontDoor.Refuse();
        foreach (var agent in agents) agent.DropConnection();
        await Eventually.TrueAsync(() => agents.All(x => !x.IsAuthenticated), TimeSpan.FromSeconds(30), "every agent offline");
        world.FrontDoor.RouteTo(b.AgentPort);

        var results = await world.WaitForResultsAsync(commands, ResultsTimeout, [d1, d2]);
        world.AssertExactlyOnce(commands, [fleet], allOk: false);
        foreach (var c in commands)
        {
            var r = results[c.CommandId];
            if (c.Action == "restart-service")
            {
                Assert.True(r.Status == CommandStatus.OutcomeUnknown, $"{c.Action} on {c.AgentId}: {r.Status} {r.Error}");
                Assert.Contains("may have run", r.Error, StringComparison.Ordinal);
                Assert.Equal(1, world.Bed.RequestCount(c.CommandId));
            }
            else
            {
                Assert.True(r.Status == CommandStatus.Ok, $"{c.Action} on {c.AgentId}: {r.Status} {r.Error}");
                Assert.Equal("edge-b", r.ConnectorId);
            }
        }

        // In one process both dispatchers' /metrics show the meter of both (same meter name): read one.
        var resends = await TestBed.MetricAsync(d1, "dispatcher_resends_total");
        output.WriteLine($"dispatcher_resends_total: {resends}");
        Assert.True(resends >= agents.Count, $"{resends} re-sends counted for {agents.Count} read-only commands sent again");
    }

    /// <summary>Scenario 2, the cap: a read-only command whose connection drops every time it runs is re-sent at most Dispatcher:MaxResends times.</summary>
    [Fact]
    public async Task ReadOnlyAndConnectionDropsEveryTime_ResentUpToTheCapThenOutcomeUnknown()
    {
        await using var world = await CommandWorld.StartAsync(fx, output, RequestCacheMode.LostOnReconnect);
        var a = await world.StartConnectorAsync("edge-a");
        await world.StartConnectorAsync("edge-b");
        var d1 = await world.Bed.StartDispatcherAsync("d1");
        var d2 = await world.Bed.StartDispatcherAsync("d2");
        world.FrontDoor.RouteTo(a.AgentPort);
        var fleet = await world.StartFleetAsync(1, responseDelay: TimeSpan.FromSeconds(1.5));
        await WaitEachOwnsOnePartitionAsync(d1, d2);
        var agent = fleet.Agents[0];
        var command = TestBed.Command(agent.AgentId, "get-services", deadline: DateTimeOffset.UtcNow.AddSeconds(60));
        await world.Bed.SendAsync(command);
        var (request, _) = await world.Bed.WaitForRequestAsync(command.CommandId);

        for (var run = 1; run <= CommandWorld.MaxResends + 3 && world.Bed.ResultCount(command.CommandId) == 0; run++)
        {
            var expected = run;
            try
            {
                await Eventually.TrueAsync(() => agent.ExecutionCount(request.RequestId) >= expected || world.Bed.ResultCount(command.CommandId) > 0,
                    TimeSpan.FromSeconds(20), $"run {run} of the request");
            }
            catch (TimeoutException)
            {
                break;
            }

            if (world.Bed.ResultCount(command.CommandId) > 0) break;
            agent.DropConnection();
        }

        var result = await world.Bed.WaitForResultAsync(command.CommandId, timeoutSeconds: 60);
        output.WriteLine($"{result.Status} after {agent.ExecutionCount(request.RequestId)} runs: {result.Error}");
        Assert.Equal(CommandStatus.OutcomeUnknown, result.Status);
        Assert.Equal(1 + CommandWorld.MaxResends, agent.ExecutionCount(request.RequestId));
        // In one process both dispatchers' /metrics show the meter of both (same meter name): read one.
        var resends = await TestBed.MetricAsync(d1, "dispatcher_resends_total", "agent_disconnected");
        output.WriteLine($"re-sends: {resends} after agent_disconnected, {await TestBed.MetricAsync(d1, "dispatcher_resends_total")} in all");
        Assert.Equal(CommandWorld.MaxResends, resends);
        await world.WaitForResultsAsync([command], ResultsTimeout, [d1, d2]);
        Assert.Equal(1, world.Bed.ResultCount(command.CommandId));
    }

    /// <summary>Scenario 3. The agent moves to a connector whose clock is 60 s behind: its newer session still owns it.</summary>
    [Fact]
    public async Task AgentMovesToConnectorWithClockBehind_NewSessionOwnsIt()
    {
        await using var world = await CommandWorld.StartAsync(fx, output);
        var a = await world.StartConnectorAsync("edge-a");
        var b = await world.StartConnectorAsync("edge-b", services: s => s.AddSingleton<TimeProvider>(new SkewedClock(TimeSpan.FromSeconds(-60))));
        var d1 = await world.Bed.StartDispatcherAsync("d1");
        var d2 = await world.Bed.StartDispatcherAsync("d2");
        world.FrontDoor.RouteTo(a.AgentPort);
        var fleet = await world.StartFleetAsync(2);
        var first = await world.SendAsync(fleet.Agents.Select(x => TestBed.Command(x.AgentId, "get-server-info")));
        await world.WaitForResultsAsync(first, ResultsTimeout, [d1, d2]);

        world.FrontDoor.RouteTo(b.AgentPort);
        foreach (var agent in fleet.Agents) agent.DropConnection();
        await Eventually.TrueAsync(() => world.FrontDoor.OpenTo(b.AgentPort) == 2 && fleet.Agents.All(x => x.IsAuthenticated), TimeSpan.FromSeconds(30), "both agents on edge-b");
        var moved = await world.SendAsync(fleet.Agents.Select(x => TestBed.Command(x.AgentId, "get-services", deadline: DateTimeOffset.UtcNow.AddSeconds(30))));

        var results = await world.WaitForResultsAsync(moved, ResultsTimeout, [d1, d2]);
        world.AssertExactlyOnce(first.Concat(moved).ToList(), [fleet]);
        Assert.All(moved, c => Assert.Equal("edge-b", results[c.CommandId].ConnectorId));
    }

    /// <summary>
    /// Scenario 4. d1's consume loop stalls for 40 s (past max.poll.interval.ms, 10 s here) while its timer runs on; d2
    /// takes its partition over. d1 must publish nothing for it: one result per command.
    /// </summary>
    [Fact]
    public async Task ConsumeLoopStalledPastGroupTimeout_StalledDispatcherPublishesNothingForLostPartitions()
    {
        await using var world = await CommandWorld.StartAsync(fx, output);
        var a = await world.StartConnectorAsync("edge-a");
        await world.StartConnectorAsync("edge-b");
        var settings = new Dictionary<string, string?>
        {
            ["Kafka:Client:max.poll.interval.ms"] = "10000",
            ["Dispatcher:ActionTimeouts:get-services"] = "00:00:32",
        };
        var d1 = await world.Bed.StartDispatcherAsync("d1", settings);
        var d2 = await world.Bed.StartDispatcherAsync("d2", settings);
        world.FrontDoor.RouteTo(a.AgentPort);
        var slow = await world.StartFleetAsync(1, first: 1, responseDelay: TimeSpan.FromSeconds(60));
        await WaitEachOwnsOnePartitionAsync(d1, d2);
        var partition = Worker(d1).Engine!.OwnedPartitions().Single();

        // Both are decided by a timer while d1's consume loop is stalled, after d2 took the partition over (10 s after
        // max.poll.interval.ms on the embedded mock, whose rebalance waits out the leaver): an expiry at 34 s and a timeout at 32 s.
        var start = DateTimeOffset.UtcNow;
        var offline = TestBed.Command("sim-000010", "get-server-info", deadline: start.AddSeconds(34));
        var inFlight = TestBed.Command("sim-000001", "get-services");
        await world.Bed.SendAsync(offline, partition);
        await world.Bed.SendAsync(inFlight, partition);
        await world.Bed.WaitForRequestAsync(inFlight.CommandId);
        Worker(d1).FreezeConsumeLoop(TimeSpan.FromSeconds(40));
        // The group gives d1's partition to d2 once d1's consume loop exceeds max.poll.interval.ms.
        await Eventually.TrueAsync(() => Worker(d2).Engine!.OwnedPartitions().Count == 2, TimeSpan.FromSeconds(30), "d2 to take d1's partition over");
        output.WriteLine($"d2 owns both partitions at +{(DateTimeOffset.UtcNow - start).TotalSeconds:0.0} s");

        await world.Bed.WaitForResultAsync(offline.CommandId, timeoutSeconds: 60);
        await world.Bed.WaitForResultAsync(inFlight.CommandId, timeoutSeconds: 60);
        var marker = TestBed.Command("sim-000001", "get-server-info", deadline: DateTimeOffset.UtcNow.AddSeconds(60));
        await world.Bed.SendAsync(marker, partition);
        await world.WaitForResultsAsync([offline, inFlight, marker], ResultsTimeout, [d1, d2]);

        foreach (var c in new[] { offline, inFlight })
        {
            var results = world.Bed.PublishedResults.Where(r => r.CommandId == c.CommandId).ToList();
            output.WriteLine($"{c.AgentId} {c.Action}: {string.Join("; ", results.Select(r => $"{r.Status} at +{(r.CompletedTime - start).TotalSeconds:0.0} s {r.Error}"))}");
            Assert.Single(results);
        }

        Assert.Equal(CommandStatus.Expired, world.Bed.PublishedResults.Single(r => r.CommandId == offline.CommandId).Status);
        Assert.True(slow.Agents[0].ExecutionCount(world.Bed.SentRequests.First(r => r.Request.CommandId == inFlight.CommandId).Request.RequestId) <= 1);
    }

    /// <summary>
    /// Scenario 6. Answers between Kafka's default record limit (1,000,000 B) and the frame limit (1 MiB) come back ok,
    /// whole: a 999,900 B log from sim-000001 and a 1,010,000 B one from sim-000002, in one world.
    /// </summary>
    [Fact]
    public async Task AnswerNearTheRecordLimit_OkWithTheWholeAnswer()
    {
        await using var world = await CommandWorld.StartAsync(fx, output);
        var a = await world.StartConnectorAsync("edge-a");
        await world.StartConnectorAsync("edge-b");
        var d1 = await world.Bed.StartDispatcherAsync("d1");
        var d2 = await world.Bed.StartDispatcherAsync("d2");
        world.FrontDoor.RouteTo(a.AgentPort);
        int[] sizes = [999_900, 1_010_000];
        var fleets = new List<AgentSimulator.Fleet.SimulatedFleet>();
        for (var n = 0; n < sizes.Length; n++)
        {
            var bytes = sizes[n];
            fleets.Add(await world.StartFleetAsync(1, first: n + 1, configure: o => o.ServiceLogBytes = bytes));
        }

        var commands = sizes.Select((_, n) => TestBed.Command(SimulatedFleet.AgentIdFor("sim-", n + 1), "get-service-log", "{\"name\":\"ssh\"}",
            deadline: DateTimeOffset.UtcNow.AddSeconds(30))).ToList();
        var results = await world.WaitForResultsAsync(await world.SendAsync(commands), ResultsTimeout, [d1, d2]);

        world.AssertExactlyOnce(commands, fleets);
        for (var n = 0; n < sizes.Length; n++)
        {
            Assert.Equal(sizes[n], System.Text.Encoding.UTF8.GetByteCount(results[commands[n].CommandId].ResponseJson!));
        }
    }

    /// <summary>
    /// Scenario 6. A result the dispatchers cannot produce (their producer is held to 1,000,000 B here) becomes an ERROR
    /// result that says why, and the partition's commit moves on: after a restart nothing is sent again.
    /// </summary>
    [Fact]
    public async Task ResultLargerThanTheProducerTakes_ErrorResultSaysWhyAndCommitMoves()
    {
        await using var world = await CommandWorld.StartAsync(fx, output);
        var a = await world.StartConnectorAsync("edge-a");
        await world.StartConnectorAsync("edge-b");
        var settings = new Dictionary<string, string?> { ["Kafka:Client:message.max.bytes"] = "1000000" };
        var d1 = await world.Bed.StartDispatcherAsync("d1", settings);
        var d2 = await world.Bed.StartDispatcherAsync("d2", settings);
        world.FrontDoor.RouteTo(a.AgentPort);
        var fleet = await world.StartFleetAsync(1, configure: o => o.ServiceLogBytes = 1_010_000);

        var big = TestBed.Command("sim-000001", "get-service-log", "{\"name\":\"ssh\"}", deadline: DateTimeOffset.UtcNow.AddSeconds(30));
        var after = TestBed.Command("sim-000001", "get-server-info");
        await world.SendAsync([big, after]);
        var results = await world.WaitForResultsAsync([big, after], ResultsTimeout, [d1, d2]);
        var result = results[big.CommandId];
        output.WriteLine($"{result.Status}: {result.Error}");
        Assert.Equal(CommandStatus.Error, result.Status);
        Assert.Contains("could not be published", result.Error, StringComparison.Ordinal);
        Assert.Null(result.ResponseJson);

        await world.Bed.StopDispatcherAsync(d1);
        await world.Bed.StopDispatcherAsync(d2);
        var d3 = await world.Bed.StartDispatcherAsync("d3", settings);
        var marker = TestBed.Command("sim-000001", "get-server-info");
        await world.SendAsync([marker]);
        await world.WaitForResultsAsync([marker], ResultsTimeout, [d3]);
        world.AssertExactlyOnce([big, after, marker], [fleet], allOk: false);
        Assert.Equal(1, world.Bed.RequestCount(big.CommandId));
    }

    /// <summary>
    /// Scenario 7. Records from other teams that decode with a compatible but different schema (a field missing, a time
    /// out of range) or not at all get a REJECTED result each; every dispatcher keeps running.
    /// </summary>
    [Fact]
    public async Task OtherTeamsBadRecords_RejectedAndDispatchersKeepRunning()
    {
        await using var world = await CommandWorld.StartAsync(fx, output);
        var a = await world.StartConnectorAsync("edge-a");
        await world.StartConnectorAsync("edge-b");
        var d1 = await world.Bed.StartDispatcherAsync("d1");
        var d2 = await world.Bed.StartDispatcherAsync("d2");
        world.FrontDoor.RouteTo(a.AgentPort);
        var fleet = await world.StartFleetAsync(1);
        await WaitEachOwnsOnePartitionAsync(d1, d2);
        var first = TestBed.Command("sim-000001", "get-server-info");
        await world.SendAsync([first]);
        await world.WaitForResultsAsync([first], ResultsTimeout, [d1, d2]);

        var subject = world.Bed.Commands + "-value";
        var noAction = Variant(schema => schema["fields"]!.AsArray().Remove(schema["fields"]!.AsArray().First(f => (string)f!["name"]! == "action")));
        var plainDeadline = Variant(schema => schema["fields"]!.AsArray().First(f => (string)f!["name"]! == "deadline")!["type"] = new JsonArray("null", "long"));
        // In this order each is BACKWARD compatible with the one before (the registry's default check).
        var plainDeadlineId = await world.Bed.Registry.RegisterSchemaAsync(subject, new Schema(plainDeadline.ToString(), SchemaType.Avro));
        var noActionId = await world.Bed.Registry.RegisterSchemaAsync(subject, new Schema(noAction.ToString(), SchemaType.Avro));
        var now = DateTimeOffset.UtcNow;

        var missing = Record(noAction, ("command_id", "bad-no-action"), ("agent_id", "sim-000001"), ("payload_json", null), ("deadline", null),
            ("created_time", now.UtcDateTime), ("requested_by", "team-x"));
        var farDeadline = Record(plainDeadline, ("command_id", "bad-deadline"), ("agent_id", "sim-000001"), ("action", "get-server-info"),
            ("payload_json", null), ("deadline", 1_000_000_000_000_000_000L), ("created_time", now.UtcDateTime), ("requested_by", "team-x"));
        var bad = new List<string> { "bad-no-action", "bad-deadline", "bad-created" };
        await world.Bed.ProduceRawAsync(world.Bed.Commands, 0, "sim-000001", Frame(noActionId, noAction, missing));
        await world.Bed.ProduceRawAsync(world.Bed.Commands, 1, "sim-000001", Frame(plainDeadlineId, plainDeadline, farDeadline));
        await world.Bed.SendAsync(new AgentCommand("bad-created", "sim-000001", "get-server-info", null, null, new DateTimeOffset(9999, 12, 31, 0, 0, 0, TimeSpan.Zero), "team-x"), 0);
        var garbageOffset = await world.Bed.ProduceRawAsync(world.Bed.Commands, 1, "sim-000001", "not an Avro record"u8.ToArray());
        var garbageId = $"unreadable:{world.Bed.Commands}:1:{garbageOffset}";
        bad.Add(garbageId);

        var markers = new List<AgentCommand>();
        for (var p = 0; p < TestBed.CommandPartitions; p++)
        {
            var marker = TestBed.Command("sim-000001", "get-server-info");
            await world.Bed.SendAsync(marker, p);
            markers.Add(marker);
        }

        await world.WaitForResultsAsync(markers, ResultsTimeout, [d1, d2]);
        world.AssertExactlyOnce(markers.Append(first).ToList(), [fleet]);
        foreach (var id in bad)
        {
            var results = world.Bed.PublishedResults.Where(r => r.CommandId == id).ToList();
            Assert.True(results.Count == 1, $"{id}: {results.Count} results");
            output.WriteLine($"{id}: {results[0].Status} {results[0].Error}");
            Assert.Equal(CommandStatus.Rejected, results[0].Status);
            Assert.False(string.IsNullOrEmpty(results[0].Error));
            Assert.Null(results[0].RequestId);
        }

        Assert.True(Worker(d1).IsReady && Worker(d2).IsReady);
    }

    /// <summary>Scenario 8. The brokers are down for 12 s while a connector starts: its relay recovers and a command then succeeds.</summary>
    [Fact]
    public async Task BrokersDownAtConnectorStart_RelayRecovers_CommandOk()
    {
        if (fx.Kafka.Embedded is not { } kafka)
        {
            output.WriteLine("skipped: needs the embedded Kafka mock (broker fault injection)");
            return;
        }

        await using var world = await CommandWorld.StartAsync(fx, output);
        var d1 = await world.Bed.StartDispatcherAsync("d1");
        var d2 = await world.Bed.StartDispatcherAsync("d2");
        await WaitEachOwnsOnePartitionAsync(d1, d2);
        for (var broker = 1; broker <= kafka.BrokerCount; broker++) kafka.SetBrokerDown(broker);
        ConnectorHost a, b;
        try
        {
            a = await world.StartConnectorAsync("edge-a", waitReady: false);
            b = await world.StartConnectorAsync("edge-b", waitReady: false);
            await Task.Delay(TimeSpan.FromSeconds(12));
        }
        finally
        {
            for (var broker = 1; broker <= kafka.BrokerCount; broker++) kafka.SetBrokerUp(broker);
        }

        await a.WaitReadyAsync(TimeSpan.FromSeconds(60));
        await b.WaitReadyAsync(TimeSpan.FromSeconds(60));
        world.FrontDoor.RouteTo(a.AgentPort);
        var fleet = await world.StartFleetAsync(2);
        var commands = await world.SendAsync(fleet.Agents.Select(x => TestBed.Command(x.AgentId, "get-server-info", deadline: DateTimeOffset.UtcNow.AddSeconds(30))));

        var results = await world.WaitForResultsAsync(commands, ResultsTimeout, [d1, d2]);
        world.AssertExactlyOnce(commands, [fleet]);
        Assert.All(commands, c => Assert.Equal("edge-a", results[c.CommandId].ConnectorId));
    }

    /// <summary>Scenario 8. Commands that waited for their agents are sent the moment the agents connect to a connector that just started.</summary>
    [Fact]
    public async Task CommandSentTheMomentTheAgentConnectsToANewConnector_Ok()
    {
        await using var world = await CommandWorld.StartAsync(fx, output);
        var d1 = await world.Bed.StartDispatcherAsync("d1");
        var d2 = await world.Bed.StartDispatcherAsync("d2");
        var commands = await world.SendAsync(Enumerable.Range(1, 4).Select(n => TestBed.Command(SimulatedFleet.AgentIdFor("sim-", n), "get-server-info", deadline: DateTimeOffset.UtcNow.AddSeconds(60))));
        await Eventually.TrueAsync(() => Worker(d1).Engine?.WaitingCount + Worker(d2).Engine?.WaitingCount == commands.Count, TimeSpan.FromSeconds(30), "every command waiting");

        var a = await world.StartConnectorAsync("edge-a");
        world.FrontDoor.RouteTo(a.AgentPort);
        var fleet = await world.StartFleetAsync(2, first: 1, waitAuthenticated: false);
        var b = await world.StartConnectorAsync("edge-b");
        world.FrontDoor.RouteTo(b.AgentPort);
        var other = await world.StartFleetAsync(2, first: 3, waitAuthenticated: false);

        await world.WaitForResultsAsync(commands, ResultsTimeout, [d1, d2]);
        world.AssertExactlyOnce(commands, [fleet, other]);
    }

    /// <summary>
    /// Scenario 9. An error answer is an ERROR result with the agent's message, whether the agent puts it in the payload
    /// (sim-000001) or on the envelope (sim-000002): one world, an agent of each shape.
    /// </summary>
    [Fact]
    public async Task ErrorAnswerInEitherShape_ErrorWithTheAgentsMessage()
    {
        await using var world = await CommandWorld.StartAsync(fx, output);
        var a = await world.StartConnectorAsync("edge-a");
        await world.StartConnectorAsync("edge-b");
        var d1 = await world.Bed.StartDispatcherAsync("d1");
        var d2 = await world.Bed.StartDispatcherAsync("d2");
        world.FrontDoor.RouteTo(a.AgentPort);
        var inPayload = await world.StartFleetAsync(1, first: 1, configure: o => o.ErrorReplies = ErrorReplyShape.InPayload);
        var topLevel = await world.StartFleetAsync(1, first: 2, configure: o => o.ErrorReplies = ErrorReplyShape.TopLevel);

        var commands = new List<AgentCommand>();
        foreach (var agent in new[] { "sim-000001", "sim-000002" })
        {
            commands.Add(TestBed.Command(agent, "restart-service", "{\"name\":\"no-such-service\"}"));
            commands.Add(TestBed.Command(agent, "get-server-info"));
        }

        var results = await world.WaitForResultsAsync(await world.SendAsync(commands), ResultsTimeout, [d1, d2]);

        world.AssertExactlyOnce(commands, [inPayload, topLevel], allOk: false);
        foreach (var c in commands)
        {
            var r = results[c.CommandId];
            output.WriteLine($"{c.AgentId} {c.Action}: {r.Status} {r.Error} {r.ResponseJson}");
            if (c.Action == "restart-service")
            {
                Assert.Equal(CommandStatus.Error, r.Status);
                Assert.Contains("could not be found", r.Error, StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal(CommandStatus.Ok, r.Status);
            }
        }
    }

    /// <summary>
    /// Scenario 10. Two agents with one id (a cloned machine) on two connectors: the newest session wins everywhere, the
    /// older is closed by its connector (counted), and the commands running on the older one are not run on the newer.
    /// </summary>
    [Fact]
    public async Task TwoAgentsOneId_NewestWinsOlderClosedInFlightNotRunOnBoth()
    {
        await using var world = await CommandWorld.StartAsync(fx, output);
        var a = await world.StartConnectorAsync("edge-a");
        var b = await world.StartConnectorAsync("edge-b");
        var d1 = await world.Bed.StartDispatcherAsync("d1");
        var d2 = await world.Bed.StartDispatcherAsync("d2");
        world.FrontDoor.RouteTo(a.AgentPort);
        // The original stays away once replaced, so the test sees one replacement, not two clones taking turns.
        var original = await world.StartFleetAsync(1, responseDelay: TimeSpan.FromSeconds(3),
            configure: o => (o.MinReconnectDelay, o.MaxReconnectDelay) = (TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5)));
        var running = await world.SendAsync([
            TestBed.Command("sim-000001", "restart-service", "{\"name\":\"ssh\"}"),
            TestBed.Command("sim-000001", "get-server-info"),
        ]);
        await Eventually.TrueAsync(() => original.Agents[0].TotalExecutions >= 1, TimeSpan.FromSeconds(30), "the original running its restart");

        world.FrontDoor.RouteTo(b.AgentPort);
        var clone = await world.StartFleetAsync(1);
        await Eventually.TrueAsync(() => !original.Agents[0].IsAuthenticated, TimeSpan.FromSeconds(30), "the original's session closed");
        output.WriteLine($"original closed: {original.Agents[0].LastCloseStatus} {original.Agents[0].LastCloseReason}");

        var results = await world.WaitForResultsAsync(running, ResultsTimeout, [d1, d2]);
        foreach (var c in running)
        {
            var r = results[c.CommandId];
            output.WriteLine($"{c.Action}: {r.Status} {r.Error}");
            Assert.Equal(0, clone.Agents[0].ExecutionCount(r.RequestId!.Value));
        }

        Assert.Equal(CommandStatus.OutcomeUnknown, results[running[0].CommandId].Status);
        var after = TestBed.Command("sim-000001", "get-services");
        var afterResults = await world.WaitForResultsAsync(await world.SendAsync([after]), ResultsTimeout, [d1, d2]);
        Assert.Equal(("edge-b", CommandStatus.Ok), (afterResults[after.CommandId].ConnectorId, afterResults[after.CommandId].Status));
        world.AssertExactlyOnce(running.Append(after).ToList(), [original, clone], allOk: false);
        Assert.True(await TestBed.MetricAsync(a.App, "edge_sessions_replaced_total", "other_connector") >= 1, "edge-a did not count the session it closed");
    }

    /// <summary>
    /// Scenario 5. The presence history as retention leaves it (the CONNECTED of a long-lived session deleted) and as
    /// compaction leaves it (only the last record per key: here a late DISCONNECTED of an older session, re-asserted by
    /// the newer session's connector): a dispatcher rebuilt from either still routes to the live session.
    /// </summary>
    [Fact]
    public async Task PresenceAfterRetentionOrCompaction_LiveSessionStillRoutable()
    {
        await using var world = await CommandWorld.StartAsync(fx, output);
        var refresh = new Dictionary<string, string?> { ["EdgeConnector:PresenceRefreshInterval"] = "00:00:02" };
        var a = await world.StartConnectorAsync("edge-a", refresh);
        var b = await world.StartConnectorAsync("edge-b", refresh);
        var d1 = await world.Bed.StartDispatcherAsync("d1");
        world.FrontDoor.RouteTo(a.AgentPort);
        var original = await world.StartFleetAsync(1, configure: o => (o.MinReconnectDelay, o.MaxReconnectDelay) = (TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5)));
        world.FrontDoor.RouteTo(b.AgentPort);
        var clone = await world.StartFleetAsync(1);
        // However the original's session ends (replaced, or its agent stopping), its DISCONNECTED comes after the clone's CONNECTED.
        await original.StopAsync();

        List<(string? Key, byte[] Value, int Partition, long Offset)> history = [];
        try
        {
            await Eventually.TrueAsync(() =>
            {
                history = world.Bed.ReadAll(world.Bed.Presence, 2);
                var records = history.Select(r => AgentPresenceAvroReader.Read(r.Value, out _)).ToList();
                var lastOfA = records.FindLastIndex(p => p.ConnectorId == "edge-a");
                return lastOfA >= 0 && records.Skip(lastOfA + 1).Count(p => p.ConnectorId == "edge-b" && p.Status == PresenceStatus.Connected) >= 2;
            }, TimeSpan.FromSeconds(20), "edge-b to re-publish its session after edge-a's last record");
        }
        catch (TimeoutException e)
        {
            output.WriteLine(e.Message);
        }

        foreach (var r in history)
        {
            var p = AgentPresenceAvroReader.Read(r.Value, out _);
            output.WriteLine($"[{r.Partition}]@{r.Offset} key {r.Key}: {p.Status} {p.ConnectorId} {p.SessionId[..8]} ({p.Reason})");
        }

        var firstOfB = history.FindIndex(r => AgentPresenceAvroReader.Read(r.Value, out _) is { ConnectorId: "edge-b", Status: PresenceStatus.Connected });
        Assert.True(firstOfB >= 0);
        var retention = history.Where((r, i) => r.Partition != history[firstOfB].Partition || i > firstOfB).ToList();
        var compaction = history.GroupBy(r => (r.Partition, r.Key)).Select(g => g.Last()).OrderBy(r => r.Offset).ToList();
        await world.Bed.StopDispatcherAsync(d1);

        foreach (var (name, records) in new[] { ("retention", retention), ("compaction", compaction) })
        {
            var topic = $"{world.Bed.Presence}-{name}";
            await fx.Kafka.Topics.EnsureTopicsAsync([new(topic, 2, 1)], CancellationToken.None);
            foreach (var r in records) await world.Bed.ProduceRawAsync(topic, r.Partition, r.Key, r.Value);
            var d = await world.Bed.StartDispatcherAsync("d-" + name, new Dictionary<string, string?> { ["Dispatcher:PresenceTopic"] = topic });
            var command = TestBed.Command("sim-000001", "get-server-info", deadline: DateTimeOffset.UtcNow.AddSeconds(20));
            var results = await world.WaitForResultsAsync(await world.SendAsync([command]), ResultsTimeout, [d]);
            output.WriteLine($"{name} ({records.Count} records): {results[command.CommandId].Status} via {results[command.CommandId].ConnectorId}");
            Assert.Equal((CommandStatus.Ok, "edge-b"), (results[command.CommandId].Status, results[command.CommandId].ConnectorId));
            await world.Bed.StopDispatcherAsync(d);
        }
    }

    private static DispatcherWorker Worker(WebApplication dispatcher) => dispatcher.Services.GetRequiredService<DispatcherWorker>();

    private static async Task WaitEachOwnsOnePartitionAsync(WebApplication d1, WebApplication d2) =>
        await Eventually.TrueAsync(
            () => Worker(d1).Engine?.OwnedPartitions().Count == 1 && Worker(d2).Engine?.OwnedPartitions().Count == 1,
            TimeSpan.FromSeconds(60), "each dispatcher to own one commands partition");

    private static async Task WaitForResultsAsync(CommandWorld world, IReadOnlyCollection<AgentCommand> commands)
    {
        var ids = commands.Select(c => c.CommandId).ToHashSet(StringComparer.Ordinal);
        await Eventually.ReturnsAsync(() => Task.FromResult(world.Bed.PublishedResults.Select(r => r.CommandId).Where(ids.Contains).Distinct().Count()),
            n => n == ids.Count, ResultsTimeout, $"results of {ids.Count} commands");
    }

    /// <summary>agent-command.avsc changed the way another team's copy might be.</summary>
    private static JsonNode Variant(Action<JsonNode> change)
    {
        var schema = JsonNode.Parse(ContractCodec.AgentCommandSchema.ToString())!;
        change(schema);
        return schema;
    }

    private static GenericRecord Record(JsonNode schemaJson, params (string Field, object? Value)[] values)
    {
        var record = new GenericRecord((Avro.RecordSchema)Avro.Schema.Parse(schemaJson.ToString()));
        foreach (var (field, value) in values) record.Add(field, value);
        return record;
    }

    /// <summary>Confluent framing (<see cref="ConfluentWireFormat"/>), then the Avro binary.</summary>
    private static byte[] Frame(int schemaId, JsonNode schemaJson, GenericRecord record)
    {
        using var stream = new MemoryStream();
        Span<byte> header = stackalloc byte[ConfluentWireFormat.HeaderSize];
        ConfluentWireFormat.WriteHeader(header, schemaId);
        stream.Write(header);
        new GenericDatumWriter<GenericRecord>(Avro.Schema.Parse(schemaJson.ToString())).Write(record, new Avro.IO.BinaryEncoder(stream));
        return stream.ToArray();
    }

    /// <summary>The system clock shifted: a connector whose NTP is off.</summary>
    private sealed class SkewedClock(TimeSpan offset) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + offset;
    }
}
