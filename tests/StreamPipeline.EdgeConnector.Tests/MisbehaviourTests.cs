using System.Net.WebSockets;
using System.Text;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.AgentSimulator.Misbehaviour;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.Protocol;
using StreamPipeline.Testing;
using StreamPipeline.Testing.EdgeConnector;
using Xunit.Abstractions;

namespace StreamPipeline.EdgeConnector.Tests;

/// <summary>
/// Every misbehaving mode of the simulator against a real connector, with half the fleet behaving: each bad agent is
/// answered as specified, the connector stays healthy, and the good agents' metrics keep flowing.
/// </summary>
public sealed class MisbehaviourTests(ConnectorStackFixture stack, ITestOutputHelper output) : IClassFixture<ConnectorStackFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(AgentMisbehaviour.MalformedJson)]
    [InlineData(AgentMisbehaviour.WrongTypes)]
    [InlineData(AgentMisbehaviour.OversizedFrames)]
    [InlineData(AgentMisbehaviour.Flood)]
    [InlineData(AgentMisbehaviour.NeverAuthenticate)]
    [InlineData(AgentMisbehaviour.MetricsBeforeAuthentication)]
    [InlineData(AgentMisbehaviour.SlowReader)]
    [InlineData(AgentMisbehaviour.BadToken)]
    public async Task Misbehaviour_HalfTheFleet_AnsweredAsSpecifiedGoodAgentsUnaffected(AgentMisbehaviour mode)
    {
        stack.Describe(output);
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url, settings: new Dictionary<string, string?>
        {
            ["EdgeConnector:MaxFrameBytes"] = "65536",
            ["EdgeConnector:AuthenticationTimeout"] = "00:00:01",
            ["EdgeConnector:MaxInvalidFramesPerMinute"] = "10",
        });
        var options = connector.Fleet(8, TimeSpan.FromMilliseconds(300));
        options.Misbehaviour = mode;
        options.MisbehaviourFraction = 0.5;
        options.AuthFailureReconnectDelay = TimeSpan.FromSeconds(30);
        options.OversizedFrameBytes = 200_000;
        await using var fleet = SimulatedFleet.Start(options);
        var good = fleet.Agents.Where(a => a.Misbehaviour == AgentMisbehaviour.None).Select(a => a.AgentId).ToHashSet();
        var bad = fleet.Agents.Where(a => a.Misbehaviour == mode).ToList();
        Assert.Equal(4, good.Count);
        Assert.Equal(4, bad.Count);

        // The good half keeps flowing: at least 5 samples each reach Kafka through this connector.
        var records = stack.ReadUntil(PipelineTopics.Metrics, read => good.All(id => Count(read, connector.ConnectorId, id) >= 5), Deadline);
        Assert.All(good, id => Assert.True(Count(records, connector.ConnectorId, id) >= 5, $"{id} did not get 5 samples through"));

        switch (mode)
        {
            case AgentMisbehaviour.MalformedJson or AgentMisbehaviour.WrongTypes:
                var reason = mode == AgentMisbehaviour.MalformedJson ? "malformed_json" : "wrong_type";
                var dead = stack.ReadUntil(PipelineTopics.MetricsDeadLetter,
                    read => bad.All(a => read.Any(r => Header(r, "connector_id") == connector.ConnectorId && r.Message.Key == a.AgentId)), Deadline);
                Assert.All(bad, a => Assert.Contains(dead, r => r.Message.Key == a.AgentId && Header(r, "reason") == reason));
                Assert.All(bad, a => Assert.Equal(0, Count(records, connector.ConnectorId, a.AgentId)));
                break;
            case AgentMisbehaviour.OversizedFrames:
                await Eventually.TrueAsync(() => bad.All(a => a.LastCloseStatus == WebSocketCloseStatus.MessageTooBig), Deadline, "oversized senders closed with 1009");
                break;
            case AgentMisbehaviour.Flood:
                await Eventually.TrueAsync(() => bad.All(a => a.LastCloseStatus == WebSocketCloseStatus.PolicyViolation), Deadline, "flooders closed with 1008");
                Assert.All(bad, a => Assert.Contains("too many messages", a.LastCloseReason));
                break;
            case AgentMisbehaviour.NeverAuthenticate or AgentMisbehaviour.MetricsBeforeAuthentication:
                await Eventually.TrueAsync(() => bad.All(a => a.LastCloseStatus == WebSocketCloseStatus.PolicyViolation), Deadline, "unauthenticated agents closed with 1008");
                Assert.All(bad, a => Assert.Equal(0, Count(records, connector.ConnectorId, a.AgentId)));
                break;
            case AgentMisbehaviour.BadToken:
                await Eventually.TrueAsync(() => bad.All(a => a.AuthFailures > 0), Deadline, "bad tokens refused");
                Assert.All(bad, a => Assert.Equal(0, Count(records, connector.ConnectorId, a.AgentId)));
                break;
            case AgentMisbehaviour.SlowReader:
                // Slow readers send valid metrics; not reading our frames must not stall anyone else.
                Assert.All(bad, a => Assert.True(Count(records, connector.ConnectorId, a.AgentId) >= 1, $"{a.AgentId} sent nothing"));
                break;
        }

        using var http = new HttpClient();
        Assert.True((await http.GetAsync(new Uri(connector.OpsUrl, "healthz"))).IsSuccessStatusCode);
        Assert.True((await http.GetAsync(new Uri(connector.OpsUrl, "readyz"))).IsSuccessStatusCode);
    }

    private static int Count(List<Confluent.Kafka.ConsumeResult<string, byte[]>> read, string connectorId, string agentId) =>
        read.Count(r => r.Message.Key == agentId && Decode(r.Message.Value).ConnectorId == connectorId);

    private static string? Header(Confluent.Kafka.ConsumeResult<string, byte[]> r, string name) =>
        r.Message.Headers.TryGetLastBytes(name, out var v) ? Encoding.UTF8.GetString(v) : null;

    private static MetricsSample Decode(byte[] value)
    {
        var s = new MetricsSample();
        MetricsAvroReader.Read(value, s);
        return s;
    }
}
