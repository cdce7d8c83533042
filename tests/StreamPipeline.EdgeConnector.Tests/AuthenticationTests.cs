using System.Net.WebSockets;
using System.Text.Json;
using StreamPipeline.AgentSimulator;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.Testing.EdgeConnector;
using Xunit.Abstractions;

namespace StreamPipeline.EdgeConnector.Tests;

/// <summary>agent-protocol.md sections 1 and 6: authenticate first, the reply shape, failures close with policy violation.</summary>
public sealed class AuthenticationTests(ConnectorStackFixture stack, ITestOutputHelper output) : IClassFixture<ConnectorStackFixture>
{
    [Fact]
    public async Task Authenticate_ValidToken_ReplyCarriesStatusAtTopLevelAndInPayload()
    {
        stack.Describe(output);
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        using var agent = await RawAgent.ConnectAsync(connector);

        await agent.SendAsync(RawAgent.AuthFrame("sim-000001", SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, "sim-000001"), id: 77));
        using var reply = JsonDocument.Parse((await agent.ReceiveAsync())!);

        Assert.Equal("response", reply.RootElement.GetProperty("type").GetString());
        Assert.Equal(77, reply.RootElement.GetProperty("id").GetInt64());
        Assert.Equal("authenticate", reply.RootElement.GetProperty("action").GetString());
        Assert.Equal("ok", reply.RootElement.GetProperty("status").GetString());
        Assert.Equal("ok", reply.RootElement.GetProperty("payload").GetProperty("status").GetString());
        Assert.True(reply.RootElement.GetProperty("timestamp").GetInt64() > 0);
        Assert.Equal(WebSocketState.Open, agent.Socket.State);
    }

    [Theory]
    [InlineData("sim-000001", "wrong-token")]
    [InlineData("no-such-agent", "whatever")]
    public async Task Authenticate_BadCredentials_ErrorReplyThenPolicyViolation(string agentId, string token)
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        using var agent = await RawAgent.ConnectAsync(connector);

        await agent.SendAsync(RawAgent.AuthFrame(agentId, token, id: 5));
        using var reply = JsonDocument.Parse((await agent.ReceiveAsync())!);
        var close = await agent.ReceiveCloseAsync();

        Assert.Equal("error", reply.RootElement.GetProperty("status").GetString());
        Assert.Equal("error", reply.RootElement.GetProperty("payload").GetProperty("status").GetString());
        Assert.Equal(5, reply.RootElement.GetProperty("id").GetInt64());
        Assert.False(string.IsNullOrEmpty(reply.RootElement.GetProperty("message").GetString()));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, close.Status);
    }

    [Fact]
    public async Task Authenticate_MetricsBeforeAuthentication_RefusedAndClosed()
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        using var agent = await RawAgent.ConnectAsync(connector);

        await agent.SendAsync(RawAgent.MetricsFrame());
        using var reply = JsonDocument.Parse((await agent.ReceiveAsync())!);
        var close = await agent.ReceiveCloseAsync();

        Assert.Equal("error", reply.RootElement.GetProperty("status").GetString());
        Assert.Contains("authenticate", reply.RootElement.GetProperty("message").GetString());
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, close.Status);
    }

    [Fact]
    public async Task Authenticate_NothingSent_ClosedAfterTimeout()
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url,
            settings: new Dictionary<string, string?> { ["EdgeConnector:AuthenticationTimeout"] = "00:00:01" });
        using var agent = await RawAgent.ConnectAsync(connector);

        var close = await agent.ReceiveCloseAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, close.Status);
        Assert.Contains("authentication timeout", close.Reason);
    }

    [Fact]
    public async Task Authenticate_RepeatedFailuresFromOneAddress_Throttled()
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url,
            settings: new Dictionary<string, string?> { ["EdgeConnector:AuthFailuresPerMinutePerAddress"] = "2" });
        for (var i = 0; i < 2; i++)
        {
            using var bad = await RawAgent.ConnectAsync(connector);
            await bad.SendAsync(RawAgent.AuthFrame("sim-000001", "wrong"));
            await bad.ReceiveCloseAsync();
        }

        // Even the right token is refused while the address is throttled.
        using var agent = await RawAgent.ConnectAsync(connector);
        await agent.SendAsync(RawAgent.AuthFrame("sim-000001", SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, "sim-000001")));
        using var reply = JsonDocument.Parse((await agent.ReceiveAsync())!);

        Assert.Equal("error", reply.RootElement.GetProperty("status").GetString());
        Assert.Contains("too many failed", reply.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Authenticate_TokenRevokedWhileRunning_RefusedWithoutRestart()
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        Assert.True(EdgeConnector.Authentication.TokenStore.Revoke(connector.TokenStorePath, "sim-000003"));
        var store = (EdgeConnector.Authentication.TokenStore)connector.App.Services.GetService(typeof(EdgeConnector.Authentication.TokenStore))!;
        await StreamPipeline.Testing.Eventually.TrueAsync(
            () => store.Check("sim-000003", SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, "sim-000003")) == EdgeConnector.Authentication.TokenCheck.Revoked,
            TimeSpan.FromSeconds(10), "the token store to reload");

        using var agent = await RawAgent.ConnectAsync(connector);
        await agent.SendAsync(RawAgent.AuthFrame("sim-000003", SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, "sim-000003")));
        using var reply = JsonDocument.Parse((await agent.ReceiveAsync())!);

        Assert.Equal("error", reply.RootElement.GetProperty("status").GetString());
        Assert.Contains("revoked", reply.RootElement.GetProperty("message").GetString());
    }
}
