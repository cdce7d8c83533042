using StreamPipeline.Cli;
using StreamPipeline.Dispatcher.Tests.Dispatching;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Testing;

namespace StreamPipeline.Dispatcher.Tests.Cli;

/// <summary><c>spctl</c> in-process against a dispatcher, the test playing the connector.</summary>
public sealed class SpctlTests(DispatcherFixture fx) : IClassFixture<DispatcherFixture>
{
    private static string[] Args(TestBed bed, params string[] args) =>
    [
        .. args, "--bootstrap", bed.BootstrapServers, "--registry", bed.RegistryUrl,
        "--commands-topic", bed.Commands, "--results-topic", bed.Results, "--presence-topic", bed.Presence,
    ];

    private static async Task<(int Code, string Out, string Err)> RunAsync(string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await Spctl.RunAsync(args, stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Send_WaitForAnsweredCommand_PrintsResultExitZero()
    {
        await using var bed = await TestBed.StartAsync(fx);
        bed.Connected("web-01", "c-1", 1_000);
        await bed.StartDispatcherAsync();

        var run = RunAsync(Args(bed, "send", "--agent", "web-01", "--action", "get-process", "--payload", "{\"pid\":\"1234\"}", "--deadline", "30s", "--wait"));
        var (request, _) = await Eventually.ReturnsAsync(
            () => Task.FromResult(bed.SentRequests.FirstOrDefault(r => r.Request.AgentId == "web-01")),
            r => r.Request is not null, TimeSpan.FromSeconds(30), "the CLI's command to reach the connector");
        Assert.Equal("{\"pid\":1234}", request.PayloadJson);
        await bed.RespondAsync(request, json: "{\"pid\":1234,\"name\":\"nginx\"}");
        var (code, stdout, stderr) = await run;

        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("status    ok", stdout, StringComparison.Ordinal);
        Assert.Contains("\"name\":\"nginx\"", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("not online", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_InvalidPayload_RefusedLocallyExitTwo()
    {
        await using var bed = await TestBed.StartAsync(fx);
        var (code, _, stderr) = await RunAsync(Args(bed, "send", "--agent", "web-01", "--action", "update-agent-config", "--payload", "{\"metricsInterval\":\"10\",\"watchlist\":[]}"));

        Assert.Equal(Spctl.Usage, code);
        Assert.Contains("metricsInterval", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_UnknownAgentNoDispatcher_WarnsAndExitsThree()
    {
        await using var bed = await TestBed.StartAsync(fx);
        var (code, _, stderr) = await RunAsync(Args(bed, "send", "--agent", "ghost", "--action", "get-services", "--wait", "--wait-timeout", "2s"));

        Assert.Equal(Spctl.NoResult, code);
        Assert.Contains("'ghost' is not online", stderr, StringComparison.Ordinal);
        Assert.Contains("no result for command", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AgentsAndResults_ListOnlineAgentsAndRecentResults()
    {
        await using var bed = await TestBed.StartAsync(fx);
        bed.Connected("a-1", "c-1", 1_000);
        bed.Connected("a-2", "c-2", 1_000);
        bed.Disconnected("a-2", "c-2", 1_000);
        await bed.StartDispatcherAsync();
        var command = TestBed.Command("a-1", "get-process", "{\"pid\":\"x\"}");
        await bed.SendAsync(command);
        Assert.Equal(CommandStatus.Rejected, (await bed.WaitForResultAsync(command.CommandId)).Status);

        var (code, agents, _) = await RunAsync(Args(bed, "agents"));
        Assert.Equal(0, code);
        Assert.Contains("a-1", agents, StringComparison.Ordinal);
        Assert.DoesNotContain("a-2", agents, StringComparison.Ordinal);
        Assert.Contains("1 agents online", agents, StringComparison.Ordinal);

        var (code2, results, _) = await RunAsync(Args(bed, "results", "--last", "5"));
        Assert.Equal(0, code2);
        Assert.Contains(command.CommandId, results, StringComparison.Ordinal);
        Assert.Contains("rejected", results, StringComparison.Ordinal);
    }
}
