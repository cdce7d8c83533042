using StreamPipeline.Testing;
using System.Text.Json;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.AgentSimulator.Responses;
using StreamPipeline.AgentSimulator.Tests.TestServer;

namespace StreamPipeline.AgentSimulator.Tests.Responses;

/// <summary>The weaker agents the protocol allows (cache lost on restart, cache on completion with concurrent handling) and the answer shapes tests need.</summary>
public sealed class CacheModeTests
{
    [Fact]
    public async Task LostOnReconnect_RepeatedIdAfterReconnect_RunsAgain()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(server);
        options.RequestCacheMode = RequestCacheMode.LostOnReconnect;
        await using var fleet = SimulatedFleet.Start(options);
        var agent = fleet.Agents[0];
        var session = await server.SessionAsync(agent.AgentId);
        await session.RequestAsync(600, "restart-service", """{"name":"cron"}""");
        Assert.Equal("ok", (await session.RequestAsync(600, "restart-service", """{"name":"cron"}""")).Status);
        Assert.Equal(1, agent.ExecutionCount(600));

        await session.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.EndpointUnavailable, "connector draining");
        var next = await server.SessionAsync(agent.AgentId, newerThan: session);
        await next.RequestAsync(600, "restart-service", """{"name":"cron"}""");

        Assert.Equal(2, agent.ExecutionCount(600));
        Assert.Equal(2, agent.ExecutionCount("restart-service"));
    }

    [Fact]
    public async Task OnCompletionConcurrent_SameIdWhileRunning_RunsTwiceThenCached()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(server);
        options.RequestCacheMode = RequestCacheMode.OnCompletionConcurrent;
        options.ResponseDelay = TimeSpan.FromMilliseconds(600);
        await using var fleet = SimulatedFleet.Start(options);
        var agent = fleet.Agents[0];
        var session = await server.SessionAsync(agent.AgentId);
        const string Request = """{"type":"request","id":700,"action":"restart-service","payload":{"name":"ssh"},"timestamp":1}""";

        await session.SendAsync(Request);
        await session.SendAsync(Request);
        await session.NextResponseAsync(700);
        await session.NextResponseAsync(700);
        Assert.Equal(2, agent.ExecutionCount(700));

        await session.RequestAsync(700, "restart-service", """{"name":"ssh"}""");
        Assert.Equal(2, agent.ExecutionCount(700));
        Assert.Equal(1, agent.CachedReplies);
    }

    [Fact]
    public async Task OnCompletionConcurrent_SlowRequest_DoesNotHoldBackTheNext()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(server);
        options.RequestCacheMode = RequestCacheMode.OnCompletionConcurrent;
        // Longer than the test: handled one after another, request 2 could not start before request 1 answered.
        options.ResponseDelay = TimeSpan.FromMinutes(10);
        await using var fleet = SimulatedFleet.Start(options);
        var agent = fleet.Agents[0];
        var session = await server.SessionAsync(agent.AgentId);

        await session.SendAsync("""{"type":"request","id":1,"action":"get-services","payload":null,"timestamp":1}""");
        await session.SendAsync("""{"type":"request","id":2,"action":"get-server-info","payload":null,"timestamp":1}""");

        await Eventually.TrueAsync(() => agent.ExecutionCount(1) == 1 && agent.ExecutionCount(2) == 1, TimeSpan.FromSeconds(30),
            "both requests running at once");
        Assert.False(agent.HasCachedResponse(1));
    }

    [Fact]
    public async Task MixRequestCacheModes_FourAgents_EachModeInTurnByNumber()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(server, agents: 4);
        options.RequestCacheMode = RequestCacheMode.LostOnReconnect;
        options.MixRequestCacheModes = true;
        await using var fleet = SimulatedFleet.Start(options);

        Assert.Equal(
            [RequestCacheMode.KeptAcrossReconnects, RequestCacheMode.LostOnReconnect, RequestCacheMode.OnCompletionConcurrent, RequestCacheMode.KeptAcrossReconnects],
            fleet.Agents.Select(a => a.CacheMode));
    }

    [Fact]
    public async Task ErrorRepliesTopLevel_UnknownService_StatusAndMessageOnTheEnvelope()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(server);
        options.ErrorReplies = ErrorReplyShape.TopLevel;
        await using var fleet = SimulatedFleet.Start(options);
        var session = await server.SessionAsync(fleet.Agents[0].AgentId);

        var error = await session.RequestAsync(5, "restart-service", """{"name":"no-such"}""");
        var ok = await session.RequestAsync(6, "get-server-info");

        Assert.Equal(["type", "id", "action", "status", "message", "timestamp"], error.Root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("error", error.Root.GetProperty("status").GetString());
        Assert.Contains("could not be found", error.Root.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("ok", ok.Status);
    }

    [Theory]
    [InlineData(999_900)]
    [InlineData(1_010_000)]
    public async Task ServiceLogBytes_Set_PayloadHasExactlyThatSize(int bytes)
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(server);
        options.ServiceLogBytes = bytes;
        options.MaxIncomingMessageBytes = 2 * 1024 * 1024;
        await using var fleet = SimulatedFleet.Start(options);
        var session = await server.SessionAsync(fleet.Agents[0].AgentId);

        var log = await session.RequestAsync(9, "get-service-log", """{"name":"ssh"}""");

        Assert.Equal(bytes, System.Text.Encoding.UTF8.GetByteCount(log.Payload.GetRawText()));
        Assert.Equal(50, log.Payload.GetProperty("data").GetArrayLength());
    }
}
