using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.AgentSimulator.Tests.TestServer;
using StreamPipeline.Testing;

namespace StreamPipeline.AgentSimulator.Tests.Fleet;

public sealed class SimulatedFleetTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public void TokenFor_SeedAndAgentId_IsLowercaseHexSha256OfSeedColonId()
    {
        var expected = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("dev:sim-000001"))).ToLowerInvariant();

        var token = SimulatedFleet.TokenFor("dev", "sim-000001");

        Assert.Equal(expected, token);
        Assert.Equal(64, token.Length);
        Assert.Equal(token.ToLowerInvariant(), token);
    }

    [Fact]
    public void AgentIdFor_Number_IsPrefixAndSixDigits()
    {
        Assert.Equal("sim-000042", SimulatedFleet.AgentIdFor("sim-", 42));
        Assert.Equal("x-100000", SimulatedFleet.AgentIdFor("x-", 100_000));
    }

    [Fact]
    public async Task Start_AgentConnects_SendsAuthenticateRequestWithProtocolShape()
    {
        await using var server = await TestAgentServer.StartAsync();
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using var fleet = SimulatedFleet.Start(SimulatorTestOptions.For(server));

        var session = await server.SessionAsync("sim-000001");

        var auth = session.FirstFrame!.Value;
        Assert.Equal(["type", "id", "action", "payload", "timestamp"], auth.EnumerateObject().Select(p => p.Name));
        Assert.Equal("request", auth.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Number, auth.GetProperty("id").ValueKind);
        Assert.True(auth.GetProperty("id").GetInt64() > 0);
        Assert.Equal("authenticate", auth.GetProperty("action").GetString());
        var payload = auth.GetProperty("payload");
        Assert.Equal(["agent_id", "token"], payload.EnumerateObject().Select(p => p.Name));
        Assert.Equal("sim-000001", payload.GetProperty("agent_id").GetString());
        Assert.Equal(SimulatedFleet.TokenFor(SimulatorTestOptions.Seed, "sim-000001"), payload.GetProperty("token").GetString());
        var timestamp = auth.GetProperty("timestamp").GetInt64();
        Assert.InRange(timestamp, before - 1000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1000);
        await fleet.WaitAllAuthenticatedAsync(Deadline);
        Assert.True(fleet.Agents[0].IsAuthenticated);
        Assert.Equal(1, fleet.Stats.Authenticated);
    }

    [Fact]
    public async Task Start_TokensOverride_SendsTheOverriddenToken()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(server);
        options.TokenSeed = null;
        options.Tokens = id => "token-of-" + id;
        await using var fleet = SimulatedFleet.Start(options);

        var session = await server.SessionAsync("sim-000001");

        Assert.Equal("token-of-sim-000001", session.Token);
    }

    [Fact]
    public async Task Start_200AgentsOverTwoLocalAddresses_AllAuthenticateFromBothAddresses()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(server, agents: 200);
        options.LocalAddresses = ["127.0.0.1..127.0.0.2"];
        options.MetricsInterval = TimeSpan.FromSeconds(5);
        await using var fleet = SimulatedFleet.Start(options);

        await fleet.WaitAllAuthenticatedAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(200, fleet.Stats.Authenticated);
        var byAddress = server.Connections.Where(c => c.Authenticated).GroupBy(c => c.RemoteAddress!.MapToIPv4()).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(100, byAddress[IPAddress.Parse("127.0.0.1")]);
        Assert.Equal(100, byAddress[IPAddress.Parse("127.0.0.2")]);
        Assert.Equal(IPAddress.Parse("127.0.0.2"), fleet.Agents[1].LocalAddress);
    }

    [Fact]
    public async Task ReconnectAllAsync_AllAuthenticated_EveryAgentReauthenticatesAndRateIsMeasured()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(server, agents: 50);
        options.MetricsInterval = TimeSpan.FromSeconds(5);
        await using var fleet = SimulatedFleet.Start(options);
        await fleet.WaitAllAuthenticatedAsync(Deadline);

        var storm = await fleet.ReconnectAllAsync(Deadline);

        Assert.True(storm.Completed, storm.ToString());
        Assert.Equal(50, storm.Reauthenticated);
        Assert.True(storm.ConnectionsPerSecond > 0);
        Assert.Equal(100, fleet.Stats.Authentications);
        Assert.All(fleet.Agents, a => Assert.Equal(2, a.Connects));
        Assert.Equal(50, server.Connections.Count(c => c.IsClosed));
    }

    [Fact]
    public async Task StopAsync_ConnectedAgents_ClosesEverySocketWithNormalClosure()
    {
        await using var server = await TestAgentServer.StartAsync();
        var fleet = SimulatedFleet.Start(SimulatorTestOptions.For(server, agents: 3));
        await fleet.WaitAllAuthenticatedAsync(Deadline);

        await fleet.StopAsync();

        await Eventually.TrueAsync(() => server.Connections.All(c => c.IsClosed), Deadline, "every server connection closed");
        Assert.All(server.Connections, c => Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, c.ClientCloseStatus));
        Assert.All(fleet.Agents, a => Assert.Equal(AgentSimulator.Agent.AgentState.Stopped, a.State));
        Assert.Equal(0, fleet.Stats.Connected);
        Assert.Equal(0, fleet.Stats.Reconnects);
    }

    [Fact]
    public void Start_InvalidOptions_ThrowsNamingEverySetting()
    {
        var options = new SimulatorOptions { AgentCount = 0, TokenSeed = null, MetricsInterval = TimeSpan.FromSeconds(3601) };

        var error = Assert.Throws<ArgumentException>(() => SimulatedFleet.Start(options));

        Assert.Contains("Simulator:AgentCount", error.Message);
        Assert.Contains("Simulator:TokenSeed", error.Message);
        Assert.Contains("Simulator:MetricsInterval", error.Message);
    }
}
