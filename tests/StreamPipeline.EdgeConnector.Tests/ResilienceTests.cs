using System.Net.WebSockets;
using StreamPipeline.AgentSimulator;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.Protocol;
using StreamPipeline.Testing;
using StreamPipeline.Testing.EdgeConnector;
using Xunit.Abstractions;

namespace StreamPipeline.EdgeConnector.Tests;

/// <summary>
/// Kafka outage under load, and graceful drain. Runs alone (no other test class in parallel): it measures this
/// process's heap, which tests running beside it would inflate (regression: flaky "heap grew" failure in CI).
/// </summary>
[Collection(ResilienceCollection.Name)]
public sealed class ResilienceTests(ConnectorStackFixture stack, ITestOutputHelper output) : IClassFixture<ConnectorStackFixture>
{
    [Fact]
    public async Task KafkaOutage_AllBrokersDown30Seconds_EveryAcceptedMetricInKafkaAfterRecovery()
    {
        stack.Describe(output);
        var cluster = stack.Kafka.Embedded;
        Assert.True(cluster is not null || stack.Kafka.Description.Contains("Testcontainers", StringComparison.Ordinal));
        if (cluster is null) return; // Broker outages are injected through the embedded mock only.

        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url, agents: 100,
            settings: new Dictionary<string, string?> { ["EdgeConnector:MaxInFlightRecords"] = "500" });
        var sent = 0;
        var options = connector.Fleet(100, TimeSpan.FromMilliseconds(500));
        options.OnMetricsSent = (_, _) => Interlocked.Increment(ref sent);
        await using var fleet = SimulatedFleet.Start(options);
        await fleet.WaitAllAuthenticatedAsync(TimeSpan.FromSeconds(60));
        await Eventually.TrueAsync(() => Volatile.Read(ref sent) > 200, TimeSpan.FromSeconds(30), "metrics flowing");

        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        for (var b = 1; b <= cluster.BrokerCount; b++) cluster.SetBrokerDown(b);
        var maxInFlight = 0;
        var outage = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < outage)
        {
            maxInFlight = Math.Max(maxInFlight, connector.Publisher.InFlight);
            await Task.Delay(100);
        }

        var memoryDuring = GC.GetTotalMemory(forceFullCollection: true);
        for (var b = 1; b <= cluster.BrokerCount; b++) cluster.SetBrokerUp(b);
        await Task.Delay(TimeSpan.FromSeconds(3));
        await fleet.StopAsync();
        var accepted = Volatile.Read(ref sent);
        output.WriteLine($"sent {accepted}, max in flight during outage {maxInFlight}, managed heap {memoryBefore / 1024} KiB -> {memoryDuring / 1024} KiB");

        // Backpressure: never more records in flight than the bound, and the heap did not grow with the outage.
        Assert.InRange(maxInFlight, 1, 500);
        Assert.True(memoryDuring - memoryBefore < 64L * 1024 * 1024, $"heap grew by {(memoryDuring - memoryBefore) / 1024} KiB during the outage");
        await Eventually.TrueAsync(() => connector.Publisher.InFlight == 0, TimeSpan.FromSeconds(60), "every record acknowledged after recovery");
        Assert.Equal(0, connector.Publisher.Failed);

        // Every frame the connector read is in Kafka: acknowledged + still unread by the connector = sent.
        var acknowledged = connector.Publisher.Acknowledged;
        var inKafka = stack.ReadUntil(PipelineTopics.Metrics, read => Ours(read, connector.ConnectorId) >= acknowledged, TimeSpan.FromSeconds(60))
            .Where(r => Decode(r.Message.Value).ConnectorId == connector.ConnectorId)
            .Select(r => (r.Message.Key, Decode(r.Message.Value).AgentTimeMs))
            .ToList();
        output.WriteLine($"acknowledged {acknowledged}, in Kafka {inKafka.Count}");
        Assert.True(acknowledged > 200);
        Assert.InRange(acknowledged, 1, accepted);
        Assert.Equal(connector.Publisher.Produced, acknowledged);
        Assert.Equal(acknowledged, inKafka.Count);
        Assert.Equal(inKafka.Count, inKafka.Distinct().Count());
    }

    [Fact]
    public async Task KafkaOutage_AgentsConnectAndLeaveWhileBrokersDown_EveryPresenceEventArrivesUnderTheBound()
    {
        var cluster = stack.Kafka.Embedded;
        Assert.True(cluster is not null || stack.Kafka.Description.Contains("Testcontainers", StringComparison.Ordinal));
        if (cluster is null) return; // Broker outages are injected through the embedded mock only.

        const int Agents = 150, Bound = 100;
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url, agents: Agents,
            settings: new Dictionary<string, string?> { ["EdgeConnector:MaxInFlightRecords"] = Bound.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        for (var b = 1; b <= cluster.BrokerCount; b++) cluster.SetBrokerDown(b);
        var agents = new List<RawAgent>();
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(1, Agents), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            {
                var id = $"sim-{i:D6}";
                var a = await RawAgent.ConnectAsync(connector);
                lock (agents) agents.Add(a);
                await a.SendAsync(RawAgent.AuthFrame(id, SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, id)));
                await a.ReceiveAsync();
            });

            // Regression (issue 9): presence bypassed the bound and was dropped once the producer queue was full. Now the
            // CONNECTED events alone fill the bound, and the rest wait for Kafka.
            await Eventually.TrueAsync(() => connector.Publisher.InFlight == Bound, TimeSpan.FromSeconds(30), "presence events to fill the in-flight bound");
            Assert.Equal(Bound, connector.Publisher.InFlight);
        }
        finally
        {
            foreach (var a in agents) a.Socket.Abort();
            foreach (var a in agents) a.Dispose();
        }

        Assert.InRange(connector.Publisher.InFlight, 0, Bound);
        for (var b = 1; b <= cluster.BrokerCount; b++) cluster.SetBrokerUp(b);
        var presence = stack.ReadUntil(PipelineTopics.Presence,
                read => read.Select(r => AgentPresenceAvroReader.Read(r.Message.Value, out _)).Count(p => p.ConnectorId == connector.ConnectorId) >= 2 * Agents,
                TimeSpan.FromSeconds(60))
            .Select(r => AgentPresenceAvroReader.Read(r.Message.Value, out _))
            .Where(p => p.ConnectorId == connector.ConnectorId)
            .ToList();

        Assert.Equal(Agents, presence.Count(p => p.Status == PresenceStatus.Connected));
        Assert.Equal(Agents, presence.Count(p => p.Status == PresenceStatus.Disconnected));
        Assert.Equal(Agents, presence.Select(p => p.AgentId).Distinct().Count());
        Assert.Equal(0, connector.Publisher.Failed);
    }

    /// <summary>
    /// Issue 9 item 5: brokers down while the fleet reconnects, and every presence event of every session arrives. The
    /// issue names 10,000 agents; the suite runs 1,000 (2,000 sessions, 4,000 events through a bound of 100, well under a
    /// minute here). <c>STREAMPIPELINE_TEST_RECONNECT_AGENTS=10000</c> runs the figure (docs/benchmarks.md): agents
    /// connect in waves of at most <see cref="ConcurrentAgents"/> so that both ends of every socket fit in this one
    /// process's 20,000 file descriptors.
    /// </summary>
    [Fact]
    public async Task KafkaOutage_FleetReconnectsWhileBrokersDown_EveryPresenceEventOfEverySessionArrives()
    {
        var cluster = stack.Kafka.Embedded;
        Assert.True(cluster is not null || stack.Kafka.Description.Contains("Testcontainers", StringComparison.Ordinal));
        if (cluster is null) return; // Broker outages are injected through the embedded mock only.

        const int Bound = 100;
        var agents = int.TryParse(Environment.GetEnvironmentVariable("STREAMPIPELINE_TEST_RECONNECT_AGENTS"), out var told) && told > 0 ? told : 1_000;
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url, agents: agents,
            settings: new Dictionary<string, string?>
            {
                ["EdgeConnector:MaxInFlightRecords"] = Bound.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["EdgeConnector:AdmissionsPerSecond"] = "100000",
            });
        for (var b = 1; b <= cluster.BrokerCount; b++) cluster.SetBrokerDown(b);

        // Two sessions per agent, both ended, all while Kafka is away: the first connection drops, the agent reconnects.
        var started = System.Diagnostics.Stopwatch.StartNew();
        for (var wave = 0; wave < 2; wave++) await ConnectAllThenDropAsync(connector, agents);
        output.WriteLine($"{2 * agents} sessions opened and dropped with every broker down in {started.Elapsed.TotalSeconds:0.0} s");
        Assert.InRange(connector.Publisher.InFlight, 0, Bound);

        for (var b = 1; b <= cluster.BrokerCount; b++) cluster.SetBrokerUp(b);
        var presence = stack.ReadUntil(PipelineTopics.Presence,
                read => read.Select(r => AgentPresenceAvroReader.Read(r.Message.Value, out _)).Count(p => p.ConnectorId == connector.ConnectorId) >= 4 * agents,
                TimeSpan.FromSeconds(120 + agents / 50))
            .Select(r => AgentPresenceAvroReader.Read(r.Message.Value, out _))
            .Where(p => p.ConnectorId == connector.ConnectorId)
            .ToList();
        output.WriteLine($"{presence.Count} presence events of {4 * agents} expected, {started.Elapsed.TotalSeconds:0.0} s after the first connection");

        Assert.Equal(4 * agents, presence.Count);
        Assert.Equal(0, connector.Publisher.Failed);
        foreach (var agent in presence.GroupBy(p => p.AgentId))
        {
            // Per agent one partition, in produce order: each session's CONNECTED before its DISCONNECTED.
            var sessions = agent.GroupBy(p => p.SessionId).ToList();
            Assert.Equal(2, sessions.Count);
            foreach (var session in sessions)
                Assert.Equal([PresenceStatus.Connected, PresenceStatus.Disconnected], session.Select(p => p.Status).ToArray());
            Assert.Equal(2, agent.Select(p => p.Epoch).Distinct().Count());
        }

        Assert.Equal(agents, presence.Select(p => p.AgentId).Distinct().Count());
    }

    private const int ConcurrentAgents = 2_500;

    private static async Task ConnectAllThenDropAsync(ConnectorHost connector, int count)
    {
        for (var first = 1; first <= count; first += ConcurrentAgents)
            await ConnectThenDropAsync(connector, first, Math.Min(ConcurrentAgents, count - first + 1));
    }

    private static async Task ConnectThenDropAsync(ConnectorHost connector, int first, int count)
    {
        var agents = new List<RawAgent>();
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(first, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            {
                var id = $"sim-{i:D6}";
                var a = await RawAgent.ConnectAsync(connector);
                lock (agents) agents.Add(a);
                await a.SendAsync(RawAgent.AuthFrame(id, SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, id)));
                Assert.Contains("\"ok\"", await a.ReceiveAsync(TimeSpan.FromSeconds(60)), StringComparison.Ordinal);
            });
        }
        finally
        {
            foreach (var a in agents) a.Socket.Abort();
            foreach (var a in agents) a.Dispose();
        }
    }

    private static int Ours(List<Confluent.Kafka.ConsumeResult<string, byte[]>> read, string connectorId) =>
        read.Count(r => Decode(r.Message.Value).ConnectorId == connectorId);

    private static MetricsSample Decode(byte[] value)
    {
        var s = new MetricsSample();
        MetricsAvroReader.Read(value, s);
        return s;
    }

    [Fact]
    public async Task Drain_ConnectorStops_AgentsToldGoingAwayAndDisconnectsPublished()
    {
        var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        var agents = new List<RawAgent>();
        for (var i = 20; i < 25; i++)
        {
            var id = $"sim-{i:D6}";
            var a = await RawAgent.ConnectAsync(connector);
            await a.SendAsync(RawAgent.AuthFrame(id, SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, id)));
            await a.ReceiveAsync();
            agents.Add(a);
        }

        var closes = agents.Select(a => a.ReceiveCloseAsync(TimeSpan.FromSeconds(30))).ToArray();
        await connector.DisposeAsync();
        var results = await Task.WhenAll(closes);

        Assert.All(results, r => Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, r.Status));
        Assert.All(results, r => Assert.Contains("draining", r.Reason));
        var disconnects = stack.ReadUntil(PipelineTopics.Presence,
                read => read.Select(r => AgentPresenceAvroReader.Read(r.Message.Value, out _))
                    .Count(p => p.ConnectorId == connector.ConnectorId && p.Status == PresenceStatus.Disconnected) >= 5,
                TimeSpan.FromSeconds(30))
            .Select(r => AgentPresenceAvroReader.Read(r.Message.Value, out _))
            .Where(p => p.ConnectorId == connector.ConnectorId && p.Status == PresenceStatus.Disconnected)
            .ToList();
        Assert.Equal(5, disconnects.Count);
        Assert.All(disconnects, d => Assert.Contains("draining", d.Reason));
        foreach (var a in agents) a.Dispose();
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ResilienceCollection
{
    public const string Name = "resilience (runs alone)";
}
