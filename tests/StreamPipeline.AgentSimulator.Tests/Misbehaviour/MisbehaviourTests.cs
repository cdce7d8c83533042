using System.Text.Json;
using StreamPipeline.AgentSimulator.Agent;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.AgentSimulator.Misbehaviour;
using StreamPipeline.AgentSimulator.Tests.TestServer;
using StreamPipeline.Testing;

namespace StreamPipeline.AgentSimulator.Tests.Misbehaviour;

public sealed class MisbehaviourTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task MalformedJson_AfterAuthentication_SendsMetricsThatDoNotParse()
    {
        await using var server = await TestAgentServer.StartAsync();
        await using var fleet = SimulatedFleet.Start(Options(server, AgentMisbehaviour.MalformedJson));
        var session = await server.SessionAsync("sim-000001");

        await Eventually.TrueAsync(() => session.MalformedFrames >= 2, Deadline, "two malformed frames");

        Assert.Empty(session.MetricsFrames);
        Assert.StartsWith("{\"type\":\"event\",\"action\":\"metrics\"", System.Text.Encoding.UTF8.GetString(session.Frames.Last()));
    }

    [Fact]
    public async Task WrongTypes_AfterAuthentication_SendsNumbersAsStrings()
    {
        await using var server = await TestAgentServer.StartAsync();
        await using var fleet = SimulatedFleet.Start(Options(server, AgentMisbehaviour.WrongTypes));
        var session = await server.SessionAsync("sim-000001");

        await Eventually.TrueAsync(() => session.MetricsFrames.Count >= 1, Deadline, "a metrics frame");

        var payload = JsonDocument.Parse(session.MetricsFrames.First()).RootElement.GetProperty("payload");
        Assert.Equal(JsonValueKind.String, payload.GetProperty("cpuUsagePercent").ValueKind);
        Assert.Equal(JsonValueKind.String, payload.GetProperty("uptimeSeconds").ValueKind);
        Assert.Equal(JsonValueKind.Number, payload.GetProperty("ramUsagePercent").ValueKind);
    }

    [Fact]
    public async Task OversizedFrames_AfterAuthentication_SendsFramesOfTheConfiguredSize()
    {
        await using var server = await TestAgentServer.StartAsync();
        await using var fleet = SimulatedFleet.Start(Options(server, AgentMisbehaviour.OversizedFrames));
        var session = await server.SessionAsync("sim-000001");

        await Eventually.TrueAsync(() => session.MetricsFrames.Count >= 1, Deadline, "an oversized metrics frame");

        Assert.True(session.LargestFrame >= 2 * 1024 * 1024, $"largest frame {session.LargestFrame} bytes");
        var payload = JsonDocument.Parse(session.MetricsFrames.First()).RootElement.GetProperty("payload");
        Assert.Equal(JsonValueKind.Number, payload.GetProperty("cpuUsagePercent").ValueKind);
    }

    [Fact]
    public async Task Flood_AfterAuthentication_SendsFarFasterThanTheInterval()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = Options(server, AgentMisbehaviour.Flood);
        options.MetricsInterval = TimeSpan.FromSeconds(60);
        await using var fleet = SimulatedFleet.Start(options);
        var session = await server.SessionAsync("sim-000001");

        await Eventually.TrueAsync(() => session.MetricsFrames.Count >= 500, Deadline, "500 metrics frames despite a 60 s interval");
    }

    [Fact]
    public async Task NeverAuthenticate_SocketOpen_SendsNothingAndReconnectsWhenClosed()
    {
        await using var server = await TestAgentServer.StartAsync();
        await using var fleet = SimulatedFleet.Start(Options(server, AgentMisbehaviour.NeverAuthenticate));
        await Eventually.TrueAsync(() => server.Connections.Count == 1, Deadline, "a connection");
        var connection = server.Connections.Single();

        // Proving silence needs a quiet period: metrics are due every 100 ms, so 1 s would show some.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Empty(connection.Frames);
        Assert.Equal(AgentState.ConnectedUnauthenticated, fleet.Agents[0].State);
        Assert.Equal(0, fleet.ExpectedAuthenticated);

        await connection.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, "authentication timeout");
        await Eventually.TrueAsync(() => server.Connections.Count == 2, Deadline, "a new connection");
        Assert.Equal(0, fleet.Stats.AuthFailures);
    }

    [Fact]
    public async Task MetricsBeforeAuthentication_SocketOpen_FirstFrameIsMetrics()
    {
        await using var server = await TestAgentServer.StartAsync();
        await using var fleet = SimulatedFleet.Start(Options(server, AgentMisbehaviour.MetricsBeforeAuthentication));

        await Eventually.TrueAsync(() => server.Connections.Any(c => c.FirstFrame is not null), Deadline, "a first frame");

        var first = server.Connections.First(c => c.FirstFrame is not null).FirstFrame!.Value;
        Assert.Equal("event", first.GetProperty("type").GetString());
        Assert.Equal("metrics", first.GetProperty("action").GetString());
        await Eventually.TrueAsync(() => server.Connections.Count >= 2, Deadline, "a reconnect after the server closed with 1008");
        Assert.All(server.Connections, c => Assert.False(c.Authenticated));
    }

    [Fact]
    public async Task SlowReader_AfterAuthentication_AnswersNothingButKeepsSendingMetrics()
    {
        await using var server = await TestAgentServer.StartAsync();
        await using var fleet = SimulatedFleet.Start(Options(server, AgentMisbehaviour.SlowReader));
        var session = await server.SessionAsync("sim-000001");
        var metricsBefore = session.MetricsFrames.Count;

        await session.SendAsync("""{"type":"request","id":1,"action":"get-server-info","payload":null,"timestamp":1}""");

        await Eventually.TrueAsync(() => session.MetricsFrames.Count >= metricsBefore + 5, Deadline, "metrics keep flowing");
        Assert.False(await session.AnyResponseWithinAsync(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(0, fleet.Stats.RequestsReceived);
    }

    [Fact]
    public async Task BadToken_Authenticate_SendsAWrongTokenAndCountsRefusals()
    {
        var expected = SimulatedFleet.TokenFor(SimulatorTestOptions.Seed, "sim-000001");
        await using var server = await TestAgentServer.StartAsync((id, token) => token == SimulatedFleet.TokenFor(SimulatorTestOptions.Seed, id) ? null : "bad token");
        await using var fleet = SimulatedFleet.Start(Options(server, AgentMisbehaviour.BadToken));

        await Eventually.TrueAsync(() => fleet.Stats.AuthFailures >= 2, Deadline, "two refused authentications");

        Assert.All(server.Connections.Where(c => c.Token is not null), c => Assert.NotEqual(expected, c.Token));
        Assert.Equal(0, fleet.Stats.Authenticated);
        Assert.Equal("bad token", fleet.Agents[0].LastAuthenticationError);
    }

    [Fact]
    public async Task MisbehaviourFraction_Quarter_OnlyThatShareMisbehaves()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = Options(server, AgentMisbehaviour.WrongTypes);
        options.AgentCount = 8;
        options.MisbehaviourFraction = 0.25;
        await using var fleet = SimulatedFleet.Start(options);

        await fleet.WaitAllAuthenticatedAsync(Deadline);

        Assert.Equal(2, fleet.Agents.Count(a => a.Misbehaviour == AgentMisbehaviour.WrongTypes));
        Assert.Equal(6, fleet.Agents.Count(a => a.Misbehaviour == AgentMisbehaviour.None));
    }

    private static SimulatorOptions Options(TestAgentServer server, AgentMisbehaviour mode)
    {
        var options = SimulatorTestOptions.For(server);
        options.Misbehaviour = mode;
        options.MetricsInterval = TimeSpan.FromMilliseconds(100);
        return options;
    }
}
