using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.Protocol;
using StreamPipeline.Testing;
using StreamPipeline.Testing.EdgeConnector;
using Xunit.Abstractions;

namespace StreamPipeline.EdgeConnector.Tests;

/// <summary>
/// Issue 9: agents that try to get around the limits, leak secrets into our topics and logs, or keep a session after
/// their token was revoked. Each test names the hole it closes.
/// </summary>
public sealed class HostileAgentTests(ConnectorStackFixture stack, ITestOutputHelper output) : IClassFixture<ConnectorStackFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task RepeatedEnvelopeKey_200RetypedMetricsFramesInOneSecond_NothingStoredAndClosed1008()
    {
        stack.Describe(output);
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        const string id = "sim-000011";
        using (var agent = await AuthenticatedAsync(connector, id))
        {
            // Regression: a second "type" made a metrics event a response: published, yet exempt from the event rate.
            var retyped = RawAgent.MetricsFrame(cpu: 1.5)[..^1] + ",\"type\":\"response\"}";
            var started = DateTime.UtcNow;
            for (var i = 0; i < 200 && agent.Socket.State == WebSocketState.Open; i++) await agent.SendAsync(retyped);
            output.WriteLine($"sent in {(DateTime.UtcNow - started).TotalMilliseconds:F0} ms");
            var close = await agent.ReceiveCloseAsync();
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, close.Status);
            Assert.Contains("too many invalid frames", close.Reason);
        }

        // A marker through a new session: once it is in Kafka, everything the first session could have stored is too.
        using var again = await AuthenticatedAsync(connector, id);
        await again.SendAsync(RawAgent.MetricsFrame(cpu: 77.7));
        var records = stack.ReadUntil(PipelineTopics.Metrics, read => Ours(read, connector, id).Any(s => s.CpuUsagePercent == 77.7), Deadline);
        var stored = Ours(records, connector, id);
        Assert.Equal(77.7, Assert.Single(stored).CpuUsagePercent);

        var dead = stack.ReadUntil(PipelineTopics.MetricsDeadLetter, read => DeadLetters(read, connector, id).Count(r => Header(r, "reason") == "duplicate_field") > 30, Deadline);
        Assert.True(DeadLetters(dead, connector, id).Count(r => Header(r, "reason") == "duplicate_field") > 30);
    }

    [Fact]
    public async Task UnsolicitedResponses_Flood_StrikesClose1008AndLogsRateLimited()
    {
        var logs = new CapturedLogs();
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url, logs: logs);
        const string id = "sim-000012";
        using var agent = await AuthenticatedAsync(connector, id);

        // Regression: answers to ids we never sent were ignored without a strike, with one warning each.
        for (var i = 1; i <= 100 && agent.Socket.State == WebSocketState.Open; i++)
            await agent.SendAsync("{\"type\":\"response\",\"id\":" + (9_000_000 + i) + ",\"payload\":{\"status\":\"ok\"}}");
        var close = await agent.ReceiveCloseAsync();

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, close.Status);
        Assert.Contains("too many invalid frames", close.Reason);
        var warnings = logs.Lines.Where(l => l.EventId == 1305 && l.Message.Contains(id, StringComparison.Ordinal)).ToList();
        foreach (var w in warnings) output.WriteLine(w.Message);
        Assert.InRange(warnings.Count, 1, 5); // EdgeConnector:FrameLogsPerSessionPerMinute, default 5
        Assert.All(warnings, w => Assert.Contains("unknown_response_id", w.Message));
    }

    [Theory]
    [InlineData("revoke", "token revoked")]
    [InlineData("reissue", "token replaced")]
    public async Task TokenChangedWhileConnected_LiveSessionClosed1008WithinSeconds(string change, string reason)
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        using var target = await AuthenticatedAsync(connector, "sim-000013");
        using var neighbour = await AuthenticatedAsync(connector, "sim-000014");

        var started = DateTime.UtcNow;
        if (change == "revoke") Assert.True(EdgeConnector.Authentication.TokenStore.Revoke(connector.TokenStorePath, "sim-000013"));
        else EdgeConnector.Authentication.TokenStore.Issue(connector.TokenStorePath, "sim-000013");
        var close = await target.ReceiveCloseAsync(TimeSpan.FromSeconds(20));
        var took = DateTime.UtcNow - started;
        output.WriteLine($"{change}: closed after {took.TotalSeconds:F1} s: {close.Status} {close.Reason}");

        // Regression: revocation only changed future logins; the live session went on.
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, close.Status);
        Assert.Contains(reason, close.Reason);
        Assert.True(took < TimeSpan.FromSeconds(10), $"took {took}");
        Assert.Equal(WebSocketState.Open, neighbour.Socket.State);
    }

    [Fact]
    public async Task SecondAuthenticate_OnOpenSession_RefusedAndTokenNeverDeadLettered()
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        const string id = "sim-000015";
        var token = SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, id);
        using var agent = await AuthenticatedAsync(connector, id);

        await agent.SendAsync(RawAgent.AuthFrame(id, token, id: 2));
        await agent.SendAsync(RawAgent.AuthFrame(id, token, id: 3)[..^1] + ",\"type\":\"request\"}"); // malformed, token inside
        await agent.SendAsync("""{"type":"event","action":"metrics","payload":{"cpuUsagePercent":"marker"}}""");
        var dead = stack.ReadUntil(PipelineTopics.MetricsDeadLetter, read => DeadLetters(read, connector, id).Any(r => Header(r, "reason") == "wrong_type"), Deadline);
        var ours = DeadLetters(dead, connector, id);

        // Regression: the second authenticate was dead-lettered raw, token included.
        var again = Assert.Single(ours, r => Header(r, "reason") == "repeated_authenticate");
        Assert.Empty(again.Message.Value);
        Assert.NotNull(Header(again, "redacted"));
        Assert.Equal(3, ours.Count);
        Assert.All(ours, r => Assert.DoesNotContain(token, Encoding.UTF8.GetString(r.Message.Value), StringComparison.Ordinal));
        Assert.Contains("marker", Encoding.UTF8.GetString(Assert.Single(ours, r => Header(r, "reason") == "wrong_type").Message.Value));
    }

    [Fact]
    public async Task AgentIdWithNewline_AuthenticationFails_LoggedOnOneLineEscaped()
    {
        var logs = new CapturedLogs();
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url, logs: logs);
        using var agent = await RawAgent.ConnectAsync(connector);

        await agent.SendAsync("""{"type":"request","action":"authenticate","payload":{"agent_id":"evil\n12:00:00.000 info: Agent admin connected","token":"x"}}""");
        await agent.ReceiveCloseAsync();

        var line = await Eventually.ReturnsAsync(() => Task.FromResult(logs.Lines.FirstOrDefault(l => l.EventId == 1301 && l.Message.Contains("evil", StringComparison.Ordinal))),
            l => l.Message is not null, TimeSpan.FromSeconds(10), "the authentication failure to be logged");
        output.WriteLine(line.Message);
        Assert.DoesNotContain('\n', line.Message);
        Assert.Contains("evil\\u000a12:00:00.000", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FirstFrame_LargerThanUnauthenticatedLimit_Closed1009BeforeParsing()
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        using var agent = await RawAgent.ConnectAsync(connector);

        // Regression: the first frame of an unauthenticated peer could be 1 MiB (EdgeConnector:MaxFrameBytes).
        await agent.SendAsync(RawAgent.AuthFrame("sim-000001", new string('x', 5000)));
        var close = await agent.ReceiveCloseAsync();

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, close.Status);
        Assert.Contains("first frame larger than 4096 bytes", close.Reason);
    }

    [Fact]
    public async Task OpsEndpoints_OnlyOnTheOpsPortAndNotReadyWhileDraining()
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true };
        using var http = new HttpClient(handler);
        var agentPort = new Uri($"https://127.0.0.1:{connector.AgentPort}/");

        // Regression: /metrics, /healthz and /readyz were also served on the agent port.
        foreach (var path in new[] { "healthz", "readyz", "metrics" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(agentPort, path))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(connector.OpsUrl, path))).StatusCode);
        }

        Assert.Contains("# TYPE", await http.GetStringAsync(new Uri(connector.OpsUrl, "metrics")));
        connector.App.Services.GetRequiredService<EdgeConnector.Sessions.AdmissionControl>().StartDraining();
        var ready = await http.GetAsync(new Uri(connector.OpsUrl, "readyz"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(connector.OpsUrl, "healthz"))).StatusCode);
    }

    private static async Task<RawAgent> AuthenticatedAsync(ConnectorHost connector, string id)
    {
        var agent = await RawAgent.ConnectAsync(connector);
        await agent.SendAsync(RawAgent.AuthFrame(id, SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, id)));
        using var reply = JsonDocument.Parse((await agent.ReceiveAsync())!);
        Assert.Equal("ok", reply.RootElement.GetProperty("status").GetString());
        return agent;
    }

    private static List<MetricsSample> Ours(List<Confluent.Kafka.ConsumeResult<string, byte[]>> read, ConnectorHost connector, string id) =>
        read.Where(r => r.Message.Key == id).Select(r => Decode(r.Message.Value)).Where(s => s.ConnectorId == connector.ConnectorId).ToList();

    private static List<Confluent.Kafka.ConsumeResult<string, byte[]>> DeadLetters(List<Confluent.Kafka.ConsumeResult<string, byte[]>> read, ConnectorHost connector, string id) =>
        read.Where(r => r.Message.Key == id && Header(r, "connector_id") == connector.ConnectorId).ToList();

    private static string? Header(Confluent.Kafka.ConsumeResult<string, byte[]> r, string name) =>
        r.Message.Headers.TryGetLastBytes(name, out var v) ? Encoding.UTF8.GetString(v) : null;

    private static MetricsSample Decode(byte[] value)
    {
        var s = new MetricsSample();
        MetricsAvroReader.Read(value, s);
        return s;
    }
}
