using System.Collections.Concurrent;
using System.Text.Json;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.AgentSimulator.Tests.TestServer;
using StreamPipeline.Testing;

namespace StreamPipeline.AgentSimulator.Tests.Metrics;

public sealed class MetricsFrameTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static readonly string[] PayloadKeys =
    [
        "cpuUsagePercent", "ramUsagePercent", "ramUsedGB", "uptimeSeconds", "normalizedLoad",
        "diskReadSpeedMBps", "diskWriteSpeedMBps", "diskUsage", "networkInterfaces",
    ];

    [Fact]
    public async Task Metrics_AfterAuthentication_HaveTheExactProtocolShapeAndTypes()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(server, agents: 3);
        options.MetricsInterval = TimeSpan.FromMilliseconds(100);
        await using var fleet = SimulatedFleet.Start(options);
        await fleet.WaitAllAuthenticatedAsync(Deadline);
        var sessions = new List<ServerConnection>();
        foreach (var agent in fleet.Agents)
        {
            var session = await server.SessionAsync(agent.AgentId);
            await Eventually.TrueAsync(() => session.MetricsFrames.Count >= 4, Deadline, $"4 metrics frames from {agent.AgentId}");
            sessions.Add(session);
        }

        foreach (var session in sessions)
        {
            long previousUptime = -1;
            long previousTimestamp = 0;
            foreach (var frame in session.MetricsFrames.Take(4))
            {
                using var document = JsonDocument.Parse(frame);
                var root = document.RootElement;
                Assert.Equal(["type", "action", "payload", "timestamp"], root.EnumerateObject().Select(p => p.Name));
                Assert.Equal("event", root.GetProperty("type").GetString());
                Assert.Equal("metrics", root.GetProperty("action").GetString());
                var timestamp = AssertInteger(root.GetProperty("timestamp"));
                Assert.True(timestamp >= previousTimestamp);
                previousTimestamp = timestamp;

                var payload = root.GetProperty("payload");
                Assert.Equal(PayloadKeys, payload.EnumerateObject().Select(p => p.Name));
                AssertPercent(payload.GetProperty("cpuUsagePercent"));
                AssertPercent(payload.GetProperty("ramUsagePercent"));
                Assert.True(AssertFloat(payload.GetProperty("ramUsedGB")) > 0);
                var uptime = AssertInteger(payload.GetProperty("uptimeSeconds"));
                Assert.True(uptime >= previousUptime, "uptimeSeconds never goes back");
                previousUptime = uptime;

                var load = payload.GetProperty("normalizedLoad");
                Assert.Equal(["1m", "5m", "15m"], load.EnumerateObject().Select(p => p.Name));
                foreach (var window in load.EnumerateObject())
                {
                    Assert.True(AssertFloat(window.Value) >= 0);
                }

                Assert.True(AssertFloat(payload.GetProperty("diskReadSpeedMBps")) >= 0);
                Assert.True(AssertFloat(payload.GetProperty("diskWriteSpeedMBps")) >= 0);

                var disks = payload.GetProperty("diskUsage");
                Assert.InRange(disks.GetArrayLength(), 1, 4);
                foreach (var disk in disks.EnumerateArray())
                {
                    Assert.Equal(["device", "mountpoint", "fstype", "totalGB", "usedGB", "usagePercent"], disk.EnumerateObject().Select(p => p.Name));
                    Assert.StartsWith("/dev/", disk.GetProperty("device").GetString());
                    Assert.StartsWith("/", disk.GetProperty("mountpoint").GetString());
                    Assert.False(string.IsNullOrEmpty(disk.GetProperty("fstype").GetString()));
                    var total = AssertFloat(disk.GetProperty("totalGB"));
                    var used = AssertFloat(disk.GetProperty("usedGB"));
                    Assert.InRange(used, 0, total);
                    AssertPercent(disk.GetProperty("usagePercent"));
                }

                var nics = payload.GetProperty("networkInterfaces");
                Assert.InRange(nics.GetArrayLength(), 1, 3);
                foreach (var nic in nics.EnumerateArray())
                {
                    Assert.Equal(["name", "mac", "ipv4", "ipv6", "uploadSpeedMbps", "downloadSpeedMbps"], nic.EnumerateObject().Select(p => p.Name));
                    Assert.Matches("^([0-9a-f]{2}:){5}[0-9a-f]{2}$", nic.GetProperty("mac").GetString());
                    Assert.True(System.Net.IPAddress.TryParse(nic.GetProperty("ipv4").GetString(), out _));
                    Assert.StartsWith("fe80::", nic.GetProperty("ipv6").GetString());
                    Assert.True(AssertFloat(nic.GetProperty("uploadSpeedMbps")) >= 0);
                    Assert.True(AssertFloat(nic.GetProperty("downloadSpeedMbps")) >= 0);
                }
            }
        }

        // Values move between samples (a random walk), and differ between agents.
        var cpuSeries = sessions[0].MetricsFrames.Take(4).Select(f => JsonDocument.Parse(f).RootElement.GetProperty("payload").GetProperty("cpuUsagePercent").GetDouble()).ToList();
        Assert.True(cpuSeries.Distinct().Count() > 1, "cpuUsagePercent varies");
    }

    [Fact]
    public async Task OnMetricsSent_EveryFrame_IsExactlyWhatTheServerReceived()
    {
        await using var server = await TestAgentServer.StartAsync();
        var sent = new ConcurrentQueue<(string AgentId, byte[] Frame)>();
        var options = SimulatorTestOptions.For(server, agents: 2);
        options.MetricsInterval = TimeSpan.FromMilliseconds(100);
        options.OnMetricsSent = (agentId, frame) => sent.Enqueue((agentId, frame));
        var fleet = SimulatedFleet.Start(options);
        await fleet.WaitAllAuthenticatedAsync(Deadline);
        await Eventually.TrueAsync(() => sent.Count >= 10, Deadline, "10 metrics frames sent");

        await fleet.StopAsync();

        foreach (var agent in fleet.Agents)
        {
            var session = server.Connections.Single(c => c.AgentId == agent.AgentId);
            await session.Closed.WaitAsync(Deadline);
            var received = session.MetricsFrames.Select(Convert.ToBase64String).ToList();
            var mine = sent.Where(s => s.AgentId == agent.AgentId).Select(s => Convert.ToBase64String(s.Frame)).ToList();
            Assert.Equal(mine, received);
            Assert.Equal(agent.MetricsSent, mine.Count);
        }
    }

    [Fact]
    public async Task Metrics_StartedTogether_AreSpreadByARandomPhase()
    {
        await using var server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(server, agents: 20);
        options.MetricsInterval = TimeSpan.FromSeconds(2);
        await using var fleet = SimulatedFleet.Start(options);
        await fleet.WaitAllAuthenticatedAsync(Deadline);
        var sessions = new List<ServerConnection>();
        foreach (var agent in fleet.Agents)
        {
            sessions.Add(await server.SessionAsync(agent.AgentId));
        }

        await Eventually.TrueAsync(() => sessions.All(s => s.MetricsFrames.Count >= 1), Deadline, "a first metrics frame from every agent");

        var firstTimestamps = sessions.Select(s => JsonDocument.Parse(s.MetricsFrames.First()).RootElement.GetProperty("timestamp").GetInt64()).ToList();
        Assert.True(firstTimestamps.Max() - firstTimestamps.Min() > 300, "first sends spread over the interval");
    }

    private static void AssertPercent(JsonElement value) => Assert.InRange(AssertFloat(value), 0, 100);

    private static double AssertFloat(JsonElement value)
    {
        Assert.Equal(JsonValueKind.Number, value.ValueKind);
        Assert.Contains('.', value.GetRawText());
        return value.GetDouble();
    }

    private static long AssertInteger(JsonElement value)
    {
        Assert.Equal(JsonValueKind.Number, value.ValueKind);
        Assert.DoesNotContain('.', value.GetRawText());
        return value.GetInt64();
    }
}
