using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using StreamPipeline.AgentSimulator;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.Protocol;
using StreamPipeline.Testing;
using StreamPipeline.Testing.EdgeConnector;
using Xunit.Abstractions;

namespace StreamPipeline.EdgeConnector.Tests;

/// <summary>Simulator -> connector -> Kafka: what the agents sent is what Kafka holds, field by field.</summary>
public sealed class MetricsPipelineTests(ConnectorStackFixture stack, ITestOutputHelper output) : IClassFixture<ConnectorStackFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Metrics_SimulatedFleet_EveryFieldOfEverySampleReachesKafka()
    {
        stack.Describe(output);
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        var sent = new ConcurrentQueue<(string AgentId, byte[] Frame)>();
        var options = connector.Fleet(5, TimeSpan.FromMilliseconds(300));
        options.OnMetricsSent = (agent, frame) => sent.Enqueue((agent, frame));
        await using (var fleet = SimulatedFleet.Start(options))
        {
            await fleet.WaitAllAuthenticatedAsync(Deadline);
            await Eventually.TrueAsync(() => sent.Count >= 40, Deadline, "40 metrics frames sent");
            await fleet.StopAsync();
        }

        var expected = sent.ToArray();
        var records = stack.ReadUntil(PipelineTopics.Metrics,
            read => read.Count(r => Decode(r.Message.Value).ConnectorId == connector.ConnectorId) >= expected.Length, Deadline)
            .Where(r => Decode(r.Message.Value).ConnectorId == connector.ConnectorId)
            .ToList();

        Assert.Equal(expected.Length, records.Count);
        var byKey = records.ToDictionary(r => (r.Message.Key, Decode(r.Message.Value).AgentTimeMs));
        foreach (var (agentId, frame) in expected)
        {
            using var json = JsonDocument.Parse(frame);
            var timestamp = json.RootElement.GetProperty("timestamp").GetInt64();
            Assert.True(byKey.TryGetValue((agentId, timestamp), out var record), $"no Kafka record for {agentId} at {timestamp}");
            var s = Decode(record.Message.Value);
            var p = json.RootElement.GetProperty("payload");
            Assert.Equal(agentId, s.AgentId);
            Assert.Equal(connector.ConnectorId, s.ConnectorId);
            Assert.False(string.IsNullOrEmpty(s.SessionId));
            Assert.InRange(s.ReceivedTimeMs, timestamp - 60_000, timestamp + 60_000);
            Assert.Equal(p.GetProperty("cpuUsagePercent").GetDouble(), s.CpuUsagePercent);
            Assert.Equal(p.GetProperty("ramUsagePercent").GetDouble(), s.RamUsagePercent);
            Assert.Equal(p.GetProperty("ramUsedGB").GetDouble(), s.RamUsedGb);
            Assert.Equal(p.GetProperty("uptimeSeconds").GetInt64(), s.UptimeSeconds);
            Assert.Equal(p.GetProperty("normalizedLoad").GetProperty("1m").GetDouble(), s.Load1m);
            Assert.Equal(p.GetProperty("normalizedLoad").GetProperty("5m").GetDouble(), s.Load5m);
            Assert.Equal(p.GetProperty("normalizedLoad").GetProperty("15m").GetDouble(), s.Load15m);
            Assert.Equal(p.GetProperty("diskReadSpeedMBps").GetDouble(), s.DiskReadSpeedMbps);
            Assert.Equal(p.GetProperty("diskWriteSpeedMBps").GetDouble(), s.DiskWriteSpeedMbps);
            var disks = p.GetProperty("diskUsage").EnumerateArray().ToArray();
            Assert.Equal(disks.Length, s.Disks.Count);
            for (var i = 0; i < disks.Length; i++)
            {
                Assert.Equal(disks[i].GetProperty("device").GetString(), s.Disks[i].Device.Value);
                Assert.Equal(disks[i].GetProperty("mountpoint").GetString(), s.Disks[i].Mountpoint.Value);
                Assert.Equal(disks[i].GetProperty("fstype").GetString(), s.Disks[i].Fstype.Value);
                Assert.Equal(disks[i].GetProperty("totalGB").GetDouble(), s.Disks[i].TotalGb);
                Assert.Equal(disks[i].GetProperty("usedGB").GetDouble(), s.Disks[i].UsedGb);
                Assert.Equal(disks[i].GetProperty("usagePercent").GetDouble(), s.Disks[i].UsagePercent);
            }

            var nics = p.GetProperty("networkInterfaces").EnumerateArray().ToArray();
            Assert.Equal(nics.Length, s.NetworkInterfaces.Count);
            for (var i = 0; i < nics.Length; i++)
            {
                Assert.Equal(nics[i].GetProperty("name").GetString(), s.NetworkInterfaces[i].Name.Value);
                Assert.Equal(nics[i].GetProperty("mac").GetString(), s.NetworkInterfaces[i].Mac.Value);
                Assert.Equal(nics[i].GetProperty("ipv4").GetString(), s.NetworkInterfaces[i].Ipv4.Value);
                Assert.Equal(nics[i].GetProperty("uploadSpeedMbps").GetDouble(), s.NetworkInterfaces[i].UploadSpeedMbps);
                Assert.Equal(nics[i].GetProperty("downloadSpeedMbps").GetDouble(), s.NetworkInterfaces[i].DownloadSpeedMbps);
            }
        }
    }

    [Fact]
    public async Task Session_SameAgentAuthenticatesTwice_OldSessionClosedAndPresenceRecorded()
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        var token = SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, "sim-000007");
        using var first = await RawAgent.ConnectAsync(connector);
        await first.SendAsync(RawAgent.AuthFrame("sim-000007", token));
        Assert.Contains("\"ok\"", await first.ReceiveAsync());
        using var second = await RawAgent.ConnectAsync(connector);
        await second.SendAsync(RawAgent.AuthFrame("sim-000007", token));
        Assert.Contains("\"ok\"", await second.ReceiveAsync());

        var close = await first.ReceiveCloseAsync();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, close.Status);
        Assert.Contains("replaced by a newer session", close.Reason);
        Assert.Equal(WebSocketState.Open, second.Socket.State);

        var presence = stack.ReadUntil(PipelineTopics.Presence,
                read => Events(read, connector.ConnectorId).Count >= 3, Deadline)
            .Where(r => r.Message.Key == "sim-000007")
            .Select(r => AgentPresenceAvroReader.Read(r.Message.Value, out _))
            .Where(p => p.ConnectorId == connector.ConnectorId)
            .ToList();
        // The first session's DISCONNECTED lands after the second's CONNECTED, so the presence watch may re-announce the
        // second session ("still connected"); such a refresh keeps its connected time, and must belong to the live session.
        var refreshes = presence.Where(p => p.Status == PresenceStatus.Connected && p.EventTimeMs != p.ConnectedTimeMs).ToList();
        Assert.All(refreshes, r => Assert.Equal(presence[1].SessionId, r.SessionId));
        presence = presence.Except(refreshes).ToList();
        Assert.Equal(3, presence.Count);
        Assert.Equal(PresenceStatus.Connected, presence[0].Status);
        Assert.Equal(PresenceStatus.Connected, presence[1].Status);
        Assert.NotEqual(presence[0].SessionId, presence[1].SessionId);
        Assert.True(presence[1].Epoch >= presence[0].Epoch);
        var gone = presence[2];
        Assert.Equal(PresenceStatus.Disconnected, gone.Status);
        Assert.Equal(presence[0].SessionId, gone.SessionId);
        Assert.Contains("replaced", gone.Reason);
        Assert.Equal("127.0.0.1", gone.RemoteAddress);
    }

    [Theory]
    [InlineData("not json at all", "malformed_json")]
    [InlineData("""{"type":"event","action":"metrics","timestamp":1,"payload":{"cpuUsagePercent":"high","ramUsagePercent":1,"ramUsedGB":1,"uptimeSeconds":1}}""", "wrong_type")]
    [InlineData("""{"type":"event","action":"metrics","timestamp":1,"payload":{"ramUsagePercent":1,"ramUsedGB":1,"uptimeSeconds":1}}""", "missing_field")]
    [InlineData("""{"type":"event","action":"launch-rockets","timestamp":1,"payload":{}}""", "unknown_action")]
    public async Task Metrics_InvalidFrame_DeadLetteredWithReasonAndConnectionStaysUp(string frame, string reason)
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url);
        using var agent = await RawAgent.ConnectAsync(connector);
        await agent.SendAsync(RawAgent.AuthFrame("sim-000002", SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, "sim-000002")));
        await agent.ReceiveAsync();

        await agent.SendAsync(frame);
        await agent.SendAsync(RawAgent.MetricsFrame(cpu: 33.25));

        var dead = stack.ReadUntil(PipelineTopics.MetricsDeadLetter, read => read.Any(r => Header(r, "connector_id") == connector.ConnectorId), Deadline)
            .Single(r => Header(r, "connector_id") == connector.ConnectorId);
        Assert.Equal(reason, Header(dead, "reason"));
        Assert.Equal(frame, Encoding.UTF8.GetString(dead.Message.Value));
        Assert.Equal("sim-000002", Header(dead, "agent_id"));
        Assert.False(string.IsNullOrEmpty(Header(dead, "error")));

        // The valid frame after it still went through, on the same connection.
        var good = stack.ReadUntil(PipelineTopics.Metrics, read => read.Any(r => Decode(r.Message.Value).ConnectorId == connector.ConnectorId), Deadline)
            .Single(r => Decode(r.Message.Value).ConnectorId == connector.ConnectorId);
        Assert.Equal(33.25, Decode(good.Message.Value).CpuUsagePercent);
        Assert.Equal(WebSocketState.Open, agent.Socket.State);
    }

    [Fact]
    public async Task Frame_LargerThanLimit_ClosedWithMessageTooBigOthersUnaffected()
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url,
            settings: new Dictionary<string, string?> { ["EdgeConnector:MaxFrameBytes"] = "65536" });
        using var good = await RawAgent.ConnectAsync(connector);
        await good.SendAsync(RawAgent.AuthFrame("sim-000010", SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, "sim-000010")));
        await good.ReceiveAsync();
        using var bad = await RawAgent.ConnectAsync(connector);
        await bad.SendAsync(RawAgent.AuthFrame("sim-000011", SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, "sim-000011")));
        await bad.ReceiveAsync();

        var huge = Encoding.UTF8.GetBytes("{\"type\":\"event\",\"action\":\"metrics\",\"payload\":{\"x\":\"" + new string('a', 200_000) + "\"}}");
        try { await bad.SendBytesAsync(huge); } catch (WebSocketException) { }
        var close = await bad.ReceiveCloseAsync();
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, close.Status);

        await good.SendAsync(RawAgent.MetricsFrame(cpu: 71.5));
        var records = stack.ReadUntil(PipelineTopics.Metrics, read => read.Any(r => Decode(r.Message.Value).ConnectorId == connector.ConnectorId), Deadline);
        Assert.Contains(records, r => r.Message.Key == "sim-000010" && Decode(r.Message.Value).CpuUsagePercent == 71.5);
        Assert.Equal(WebSocketState.Open, good.Socket.State);
    }

    [Fact]
    public async Task Flood_AgentFarOverItsRate_ClosedWithPolicyViolation()
    {
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url,
            settings: new Dictionary<string, string?> { ["EdgeConnector:AgentMessagesPerSecond"] = "2", ["EdgeConnector:MaxInvalidFramesPerMinute"] = "10" });
        using var agent = await RawAgent.ConnectAsync(connector);
        await agent.SendAsync(RawAgent.AuthFrame("sim-000012", SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, "sim-000012")));
        await agent.ReceiveAsync();

        try
        {
            for (var i = 0; i < 200 && agent.Socket.State == WebSocketState.Open; i++) await agent.SendAsync(RawAgent.MetricsFrame());
        }
        catch (WebSocketException) { }

        var close = await agent.ReceiveCloseAsync();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, close.Status);
        Assert.Contains("too many messages", close.Reason);
    }

    // Regression: answers to the backend's own requests used to count against the agent's message rate, so a burst of
    // commands to one agent ended in dropped answers and a 1008 close. The answers are to requests this connector really
    // relayed: answers to ids it never sent are invalid frames (issue 9 item 2, HostileAgentTests).
    [Fact]
    public async Task Responses_ManyMoreThanTheEventRate_NeitherRateLimitedNorClosed()
    {
        const int requests = 50;
        await using var connector = await ConnectorHost.StartAsync(stack.Kafka.BootstrapServers, stack.Registry.Url,
            settings: new Dictionary<string, string?> { ["EdgeConnector:AgentMessagesPerSecond"] = "1", ["EdgeConnector:MaxInvalidFramesPerMinute"] = "5" });
        using var agent = await RawAgent.ConnectAsync(connector);
        await agent.SendAsync(RawAgent.AuthFrame("sim-000013", SimulatedFleet.TokenFor(ConnectorFiles.DefaultTokenSeed, "sim-000013")));
        await agent.ReceiveAsync();

        using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = stack.Registry.Url.ToString() });
        await SendRequestsAsync(registry, connector.ConnectorId, "sim-000013", requests);
        for (var i = 0; i < requests; i++)
        {
            using var request = JsonDocument.Parse(await agent.ReceiveAsync(Deadline) ?? throw new Xunit.Sdk.XunitException("socket closed"));
            var id = request.RootElement.GetProperty("id").GetInt64();
            await agent.SendAsync($$"""{"type":"response","id":{{id}},"action":"get-services","payload":{"status":"ok","data":[]},"timestamp":1}""");
        }

        await agent.SendAsync(RawAgent.MetricsFrame(cpu: 44.5));

        var records = stack.ReadUntil(PipelineTopics.Metrics, read => read.Any(r => Decode(r.Message.Value).ConnectorId == connector.ConnectorId), Deadline);
        Assert.Contains(records, r => r.Message.Key == "sim-000013" && Decode(r.Message.Value).CpuUsagePercent == 44.5);
        Assert.Equal(WebSocketState.Open, agent.Socket.State);
        var deserializer = ContractSerdes.Deserializer(registry, ContractCodec.ToConnectorResponse);
        var answered = new HashSet<long>();
        stack.ReadUntil(PipelineTopics.ConnectorResponses, read =>
        {
            answered.Clear();
            foreach (var r in read)
            {
                var report = deserializer.DeserializeAsync(r.Message.Value, false, default).GetAwaiter().GetResult();
                if (report.ConnectorId == connector.ConnectorId && report.Kind == ConnectorResponseKind.Response) answered.Add(report.RequestId);
            }

            return answered.Count >= requests;
        }, Deadline);
        Assert.Equal(requests, answered.Count);
    }

    /// <summary>Produces what a dispatcher would: requests routed to the connector's partition of connector-requests.</summary>
    private async Task SendRequestsAsync(ISchemaRegistryClient registry, string connectorId, string agentId, int count)
    {
        var serializer = ContractSerdes.Serializer<ConnectorRequest>(registry, ContractCodec.ToRecord);
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = stack.Kafka.BootstrapServers }).Build();
        var partition = ConnectorPartitioner.PartitionFor(connectorId, PipelineTopics.All(1).Single(t => t.Name == PipelineTopics.ConnectorRequests).Partitions);
        var context = new SerializationContext(MessageComponentType.Value, PipelineTopics.ConnectorRequests);
        for (var i = 1; i <= count; i++)
        {
            var request = new ConnectorRequest($"cmd-{i}", agentId, connectorId, "get-services", 1000 + i, null, 0, 30_000, DateTimeOffset.UtcNow);
            var value = await serializer.SerializeAsync(request, context);
            await producer.ProduceAsync(new TopicPartition(PipelineTopics.ConnectorRequests, partition), new Message<string, byte[]> { Key = request.CommandId, Value = value });
        }
    }

    private static List<Protocol.AgentPresence> Events(List<Confluent.Kafka.ConsumeResult<string, byte[]>> read, string connectorId) =>
        read.Select(r => AgentPresenceAvroReader.Read(r.Message.Value, out _)).Where(p => p.ConnectorId == connectorId).ToList();

    private static string? Header(Confluent.Kafka.ConsumeResult<string, byte[]> r, string name) =>
        r.Message.Headers.TryGetLastBytes(name, out var v) ? Encoding.UTF8.GetString(v) : null;

    private static MetricsSample Decode(byte[] value)
    {
        var sample = new MetricsSample();
        MetricsAvroReader.Read(value, sample);
        return sample;
    }
}
