using System.Text.Json;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.AgentSimulator.Tests.TestServer;
using StreamPipeline.Testing;

namespace StreamPipeline.AgentSimulator.Tests.Responses;

public sealed class RequestTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private TestAgentServer _server = null!;
    private SimulatedFleet _fleet = null!;
    private ServerConnection _session = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAgentServer.StartAsync();
        var options = SimulatorTestOptions.For(_server);
        options.MetricsInterval = TimeSpan.FromSeconds(30);
        _fleet = SimulatedFleet.Start(options);
        _session = await _server.SessionAsync("sim-000001");
    }

    public async Task DisposeAsync()
    {
        await _fleet.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task GetServerInfo_NullPayload_ReturnsEveryHostField()
    {
        var response = await _session.RequestAsync(11, "get-server-info");

        AssertEnvelope(response, 11, "get-server-info");
        var data = Ok(response);
        Assert.Equal(["hostname", "ipAddress", "os", "osVersion", "kernel", "architecture", "cpuModel", "cpuCores", "cpuThreads"], data.EnumerateObject().Select(p => p.Name));
        foreach (var name in new[] { "hostname", "ipAddress", "os", "osVersion", "kernel", "architecture", "cpuModel" })
        {
            Assert.False(string.IsNullOrEmpty(data.GetProperty(name).GetString()));
        }

        var cores = data.GetProperty("cpuCores").GetInt32();
        var threads = data.GetProperty("cpuThreads").GetInt32();
        Assert.True(cores >= 1 && threads >= cores);
    }

    [Fact]
    public async Task GetServices_NoPayload_ReturnsNameAndStates()
    {
        var data = Ok(await _session.RequestAsync(12, "get-services"));

        Assert.True(data.GetArrayLength() >= 5);
        foreach (var service in data.EnumerateArray())
        {
            Assert.Equal(["name", "activeState", "subState"], service.EnumerateObject().Select(p => p.Name));
        }

        Assert.Contains(data.EnumerateArray(), s => s.GetProperty("name").GetString() == "ssh" && s.GetProperty("subState").GetString() == "running");
    }

    [Fact]
    public async Task GetService_KnownName_ReturnsDetails()
    {
        var data = Ok(await _session.RequestAsync(13, "get-service", """{"name":"ssh"}"""));

        Assert.Equal("ssh", data.GetProperty("name").GetString());
        Assert.Equal(1234, data.GetProperty("mainPID").GetInt32());
        Assert.Contains('.', data.GetProperty("cpuUsagePercent").GetRawText());
        Assert.True(data.GetProperty("memoryUsage").GetDouble() > 0);
        Assert.True(DateTimeOffset.TryParse(data.GetProperty("startTime").GetString(), out _));
        Assert.Equal(JsonValueKind.Null, data.GetProperty("exitTime").ValueKind);
        Assert.False(string.IsNullOrEmpty(data.GetProperty("restartPolicy").GetString()));
    }

    [Theory]
    [InlineData("get-service")]
    [InlineData("get-service-log")]
    [InlineData("restart-service")]
    public async Task ServiceAction_UnknownService_ReturnsError(string action)
    {
        var response = await _session.RequestAsync(14, action, """{"name":"no-such-unit"}""");

        AssertEnvelope(response, 14, action);
        Assert.Equal("error", response.Status);
        Assert.Contains("no-such-unit", response.Payload.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"name":""}""")]
    [InlineData("""{"name":7}""")]
    [InlineData("null")]
    public async Task GetService_MissingName_ReturnsError(string payload)
    {
        var response = await _session.RequestAsync(15, "get-service", payload);

        Assert.Equal("error", response.Status);
    }

    [Fact]
    public async Task GetServiceLog_KnownService_ReturnsConfiguredNumberOfLogLines()
    {
        var data = Ok(await _session.RequestAsync(16, "get-service-log", """{"name":"ssh"}"""));

        Assert.Equal(50, data.GetArrayLength());
        foreach (var line in data.EnumerateArray())
        {
            Assert.Equal(["log"], line.EnumerateObject().Select(p => p.Name));
            var text = line.GetProperty("log").GetString()!;
            Assert.True(DateTimeOffset.TryParse(text.Split(' ')[0], out _), text);
            Assert.Contains("sshd[1234]:", text);
        }
    }

    [Fact]
    public async Task RestartService_KnownService_ReturnsOkAndRestartsIt()
    {
        var before = Ok(await _session.RequestAsync(17, "get-service", """{"name":"cron"}"""));

        var response = await _session.RequestAsync(18, "restart-service", """{"name":"cron.service"}""");

        AssertEnvelope(response, 18, "restart-service");
        Assert.Equal(["status"], response.Payload.EnumerateObject().Select(p => p.Name));
        Assert.Equal("ok", response.Status);
        var after = Ok(await _session.RequestAsync(19, "get-service", """{"name":"cron"}"""));
        Assert.NotEqual(before.GetProperty("mainPID").GetInt32(), after.GetProperty("mainPID").GetInt32());
        Assert.Equal(before.GetProperty("restarts").GetInt32() + 1, after.GetProperty("restarts").GetInt32());
    }

    [Fact]
    public async Task GetProcesses_NoPayload_ReturnsProcessSummaries()
    {
        var data = Ok(await _session.RequestAsync(20, "get-processes"));

        Assert.True(data.GetArrayLength() >= 5);
        foreach (var process in data.EnumerateArray())
        {
            Assert.Equal(["pid", "name", "user", "status", "cpuPercent", "memoryPercent"], process.EnumerateObject().Select(p => p.Name));
            Assert.Equal(JsonValueKind.Number, process.GetProperty("pid").ValueKind);
            Assert.Contains('.', process.GetProperty("cpuPercent").GetRawText());
            Assert.Contains('.', process.GetProperty("memoryPercent").GetRawText());
        }

        Assert.Contains(data.EnumerateArray(), p => p.GetProperty("pid").GetInt32() == 1);
    }

    [Theory]
    [InlineData("1234", 1234)]
    [InlineData("\"1234\"", 1234)]
    [InlineData("\" 42 \"", 42)]
    [InlineData("\"+42\"", 42)]
    [InlineData("\"\\t1_234\\n\"", 1234)]
    public async Task GetProcess_PidCastLikePythonInt_ReturnsDetails(string pidJson, int expectedPid)
    {
        var response = await _session.RequestAsync(21, "get-process", $$"""{"pid":{{pidJson}}}""");

        AssertEnvelope(response, 21, "get-process");
        var data = Ok(response);
        Assert.Equal(expectedPid, data.GetProperty("pid").GetInt32());
        Assert.Equal(JsonValueKind.Array, data.GetProperty("cmdline").ValueKind);
        Assert.Equal(JsonValueKind.Number, data.GetProperty("nice").ValueKind);
        Assert.True(data.GetProperty("numThreads").GetInt32() >= 1);
        Assert.DoesNotContain('.', data.GetProperty("uptimeSeconds").GetRawText());
    }

    [Theory]
    [InlineData("\"12a\"", "invalid literal for int() with base 10: '12a'")]
    [InlineData("12.5", "invalid literal for int() with base 10: '12.5'")]
    [InlineData("null", "not 'NoneType'")]
    [InlineData("\"\"", "invalid literal")]
    [InlineData("\"1__2\"", "invalid literal")]
    [InlineData("\"0x10\"", "invalid literal")]
    [InlineData("true", "not 'bool'")]
    [InlineData("[1]", "not 'list'")]
    [InlineData("99999999", "process PID not found (pid=99999999)")]
    public async Task GetProcess_PidRejectedByPythonInt_ReturnsError(string pidJson, string message)
    {
        var response = await _session.RequestAsync(22, "get-process", $$"""{"pid":{{pidJson}}}""");

        Assert.Equal("error", response.Status);
        Assert.Contains(message, response.Payload.GetProperty("message").GetString());
    }

    [Fact]
    public async Task GetProcess_NoPid_ReturnsError()
    {
        var response = await _session.RequestAsync(23, "get-process", "{}");

        Assert.Equal("error", response.Status);
    }

    [Theory]
    [InlineData("""{"metricsInterval":0}""")]
    [InlineData("""{"metricsInterval":3600}""")]
    [InlineData("""{"metricsInterval":10,"watchlist":["nginx","db"]}""")]
    [InlineData("""{"watchlist":[]}""")]
    public async Task UpdateAgentConfig_ValidPayload_ReturnsOk(string payload)
    {
        var response = await _session.RequestAsync(24, "update-agent-config", payload);

        AssertEnvelope(response, 24, "update-agent-config");
        Assert.Equal(["status"], response.Payload.EnumerateObject().Select(p => p.Name));
        Assert.Equal("ok", response.Status);
    }

    [Theory]
    [InlineData("""{"metricsInterval":-1}""")]
    [InlineData("""{"metricsInterval":3601}""")]
    [InlineData("""{"metricsInterval":10.5}""")]
    [InlineData("""{"metricsInterval":10.0}""")]
    [InlineData("""{"metricsInterval":"10"}""")]
    [InlineData("""{"metricsInterval":true}""")]
    [InlineData("""{"metricsInterval":null}""")]
    [InlineData("""{"metricsInterval":10,"watchlist":["nginx",3]}""")]
    [InlineData("""{"watchlist":"nginx"}""")]
    [InlineData("null")]
    public async Task UpdateAgentConfig_InvalidPayload_ReturnsErrorAndChangesNothing(string payload)
    {
        var agent = _fleet.Agents[0];

        var response = await _session.RequestAsync(25, "update-agent-config", payload);

        Assert.Equal("error", response.Status);
        Assert.False(string.IsNullOrEmpty(response.Payload.GetProperty("message").GetString()));
        Assert.Equal(TimeSpan.FromSeconds(30), agent.MetricsInterval);
        Assert.Empty(agent.Watchlist);
    }

    [Fact]
    public async Task UpdateAgentConfig_NewInterval_IsAppliedToTheMetricsCadence()
    {
        var agent = _fleet.Agents[0];
        var before = _session.MetricsFrames.Count;

        Assert.Equal("ok", (await _session.RequestAsync(26, "update-agent-config", """{"metricsInterval":1,"watchlist":["nginx"]}""")).Status);

        Assert.Equal(TimeSpan.FromSeconds(1), agent.MetricsInterval);
        Assert.Equal(["nginx"], agent.Watchlist);
        await Eventually.TrueAsync(() => _session.MetricsFrames.Count >= before + 2, Deadline, "two metrics frames at the new 1 s interval");

        Assert.Equal("ok", (await _session.RequestAsync(27, "update-agent-config", """{"metricsInterval":0}""")).Status);
        Assert.Equal(TimeSpan.Zero, agent.MetricsInterval);
        var paused = agent.MetricsSent;
        Assert.Equal("ok", (await _session.RequestAsync(28, "update-agent-config", """{"metricsInterval":1}""")).Status);
        await Eventually.TrueAsync(() => agent.MetricsSent > paused, Deadline, "metrics resume after a pause");
    }

    [Fact]
    public async Task UnknownAction_AnyPayload_ReturnsError()
    {
        var response = await _session.RequestAsync(29, "format-disk", """{"device":"/dev/sda"}""");

        AssertEnvelope(response, 29, "format-disk");
        Assert.Equal("error", response.Status);
        Assert.Contains("format-disk", response.Payload.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Request_RepeatedId_ReturnsTheCachedResponseWithoutExecutingAgain()
    {
        var agent = _fleet.Agents[0];

        var first = await _session.RequestAsync(500, "restart-service", """{"name":"nginx-or-ssh"}""");
        var restart = await _session.RequestAsync(501, "restart-service", """{"name":"ssh"}""");
        var repeated = await _session.RequestAsync(501, "restart-service", """{"name":"ssh"}""");
        var sameIdOtherAction = await _session.RequestAsync(501, "get-server-info");

        Assert.Equal("error", first.Status);
        Assert.Equal(restart.Raw, repeated.Raw);
        Assert.Equal(restart.Raw, sameIdOtherAction.Raw);
        Assert.Equal(1, agent.ExecutionCount(501));
        Assert.Equal(1, _fleet.ExecutionCount("sim-000001", 501));
        Assert.Equal(2, agent.ExecutionCount("restart-service"));
        Assert.Equal(0, agent.ExecutionCount("get-server-info"));
        Assert.Equal(2, agent.CachedReplies);
        Assert.Equal(2, _fleet.Stats.CachedReplies);
        Assert.Equal(2, _fleet.Stats.Executions);
        Assert.Equal(4, _fleet.Stats.RequestsReceived);
    }

    [Fact]
    public async Task Request_RepeatedIdAfterReconnect_IsStillAnsweredFromTheCache()
    {
        var agent = _fleet.Agents[0];
        var original = await _session.RequestAsync(600, "restart-service", """{"name":"cron"}""");

        await _session.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.EndpointUnavailable, "connector draining");
        var next = await _server.SessionAsync(agent.AgentId, newerThan: _session);
        var again = await next.RequestAsync(600, "restart-service", """{"name":"cron"}""");

        Assert.Equal(original.Raw, again.Raw);
        Assert.Equal(1, agent.ExecutionCount(600));
        Assert.Equal(1, agent.ExecutionCount("restart-service"));
    }

    private static void AssertEnvelope(ServerResponse response, long id, string action)
    {
        var root = response.Root;
        Assert.Equal(["type", "id", "action", "payload", "timestamp"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("response", root.GetProperty("type").GetString());
        Assert.Equal(id, root.GetProperty("id").GetInt64());
        Assert.Equal(action, root.GetProperty("action").GetString());
        Assert.DoesNotContain('.', root.GetProperty("timestamp").GetRawText());
    }

    private static JsonElement Ok(ServerResponse response)
    {
        Assert.True(response.Status == "ok", response.Root.GetRawText());
        Assert.Equal(["status", "data"], response.Payload.EnumerateObject().Select(p => p.Name));
        return response.Payload.GetProperty("data");
    }
}
