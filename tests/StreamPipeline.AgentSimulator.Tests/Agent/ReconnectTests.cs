using System.Net.WebSockets;
using StreamPipeline.AgentSimulator.Agent;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.AgentSimulator.Tests.TestServer;
using StreamPipeline.Testing;

namespace StreamPipeline.AgentSimulator.Tests.Agent;

public sealed class ReconnectTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Reconnect_ServerClosesConnection_AgentReconnectsAndAuthenticatesAgain()
    {
        await using var server = await TestAgentServer.StartAsync();
        await using var fleet = SimulatedFleet.Start(SimulatorTestOptions.For(server));
        var first = await server.SessionAsync("sim-000001");

        await first.CloseAsync(WebSocketCloseStatus.InternalServerError, "boom");

        var second = await server.SessionAsync("sim-000001", newerThan: first);
        var agent = fleet.Agents[0];
        await Eventually.TrueAsync(() => agent.IsAuthenticated, Deadline, "the agent authenticated again");
        Assert.Equal(2, agent.Connects);
        Assert.Equal(1, agent.Reconnects);
        Assert.Equal(WebSocketCloseStatus.InternalServerError, agent.LastCloseStatus);
        Assert.Equal("boom", agent.LastCloseReason);
        await Eventually.TrueAsync(() => second.MetricsFrames.Count > 0, Deadline, "metrics on the new session");
    }

    [Fact]
    public async Task Reconnect_ServerAbortsSocket_AgentReconnects()
    {
        await using var server = await TestAgentServer.StartAsync();
        await using var fleet = SimulatedFleet.Start(SimulatorTestOptions.For(server));
        var first = await server.SessionAsync("sim-000001");

        first.Abort();

        await server.SessionAsync("sim-000001", newerThan: first);
        Assert.True(fleet.Stats.ConnectionsLost >= 1);
    }

    [Fact]
    public async Task Reconnect_GoingAwayWithReplacedReason_CountsTheReplacementAndReconnectsPromptly()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(server);
        options.MinReconnectDelay = TimeSpan.FromSeconds(30);
        options.MaxReconnectDelay = TimeSpan.FromSeconds(30);
        await using var fleet = SimulatedFleet.Start(options);
        var first = await server.SessionAsync("sim-000001");

        await first.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "session replaced by a newer session");

        // 1001 reconnects within GoingAwayReconnectJitter (100 ms here), not after the 30 s backoff.
        await server.SessionAsync("sim-000001", TimeSpan.FromSeconds(10), newerThan: first);
        Assert.Equal(1, fleet.Agents[0].ReplacedSessions);
        Assert.Equal(1, fleet.Stats.ReplacedSessions);
    }

    [Fact]
    public async Task Authenticate_ErrorReply_CountsTheFailureAndRetriesAfterTheAuthBackoff()
    {
        var refusals = 0;
        await using var server = await TestAgentServer.StartAsync((_, _) => Interlocked.Increment(ref refusals) <= 2 ? "unknown agent or bad token" : null);
        await using var fleet = SimulatedFleet.Start(SimulatorTestOptions.For(server));

        await fleet.WaitAllAuthenticatedAsync(Deadline);

        var agent = fleet.Agents[0];
        Assert.Equal(2, agent.AuthFailures);
        Assert.Equal(2, fleet.Stats.AuthFailures);
        Assert.Equal("unknown agent or bad token", agent.LastAuthenticationError);
        Assert.Equal(3, agent.Connects);
    }

    [Fact]
    public async Task Authenticate_RevokedToken_AgentStopsForGood()
    {
        await using var server = await TestAgentServer.StartAsync((id, _) => id == "sim-000002" ? "token revoked" : null);
        await using var fleet = SimulatedFleet.Start(SimulatorTestOptions.For(server, agents: 2));

        await fleet.WaitAllAuthenticatedAsync(Deadline);
        var revoked = fleet.Agents[1];
        await Eventually.TrueAsync(() => revoked.State == AgentState.Stopped, Deadline, "the revoked agent stopped");

        Assert.Equal(1, fleet.Stats.RevokedAgents);
        Assert.Equal(1, fleet.ExpectedAuthenticated);
        Assert.Equal(1, revoked.Connects);
        Assert.Equal(1, server.Connections.Count(c => c.AgentId == "sim-000002"));
    }

    [Fact]
    public async Task Authenticate_NoReply_TimesOutAndReconnects()
    {
        await using var server = await TestAgentServer.StartAsync();
        server.AnswerAuthentication = false;
        var options = SimulatorTestOptions.For(server);
        options.AuthenticationTimeout = TimeSpan.FromMilliseconds(300);
        await using var fleet = SimulatedFleet.Start(options);

        await Eventually.TrueAsync(() => fleet.Stats.AuthTimeouts >= 2, Deadline, "two authentication timeouts");

        Assert.True(server.Connections.Count >= 2);
        Assert.Equal(0, fleet.Stats.Authenticated);
    }

    [Fact]
    public async Task Reconnect_ServerDown_BacksOffExponentially()
    {
        var options = new SimulatorOptions
        {
            ServerUrl = new Uri("wss://127.0.0.1:1/agent"),
            AcceptAnyServerCertificate = true,
            TokenSeed = "x",
            ConnectRatePerSecond = 0,
            MinReconnectDelay = TimeSpan.FromMilliseconds(100),
            MaxReconnectDelay = TimeSpan.FromSeconds(10),
        };
        await using var fleet = SimulatedFleet.Start(options);

        await Eventually.TrueAsync(() => fleet.Stats.ConnectFailures >= 4, Deadline, "four failed attempts");

        // 50-100, 100-200, 200-400 ms: four attempts take at least 350 ms, and the fifth waits 400-800 ms more.
        Assert.InRange(fleet.Stats.ConnectFailures, 4, 5);
        Assert.Equal(AgentState.WaitingToReconnect, fleet.Agents[0].State);
    }
}
