using System.Globalization;
using Confluent.Kafka;
using StreamPipeline.Deployment.Tests.Infrastructure;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.ServiceDefaults.Hosting;
using Xunit.Abstractions;

namespace StreamPipeline.Deployment.Tests.Signals;

/// <summary>
/// <c>make run</c> and <c>make infra</c> as a user runs them. Regression (issue 11): <c>make run</c> ignored SIGTERM and ran
/// on until killed (the embedded hosts' console lifetimes took the signal; .NET 10 raises no ProcessExit for it).
/// </summary>
public sealed class LocalStackSignalTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan MakeRunStopBudget = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task MakeRun_Sigterm_DrainsAndStopsWithin30Seconds()
    {
        var data = Repository.TempDirectory("sp-make-run");
        using var make = ChildProcess.Start("make", ["-s", "run", "ARGS=" + string.Join(' ', LocalStackArgs(data, agents: 5))]);
        await make.WaitForLineAsync(l => l.Contains("StreamPipeline is running", StringComparison.Ordinal), StartTimeout, "the make run banner");
        // Wait until data flows end to end, so the stop has something to drain.
        await make.WaitForLineAsync(l => l.Contains("Command demo: get-server-info -> ", StringComparison.Ordinal), StartTimeout, "the command demo's result");

        make.Signal("TERM");
        var (code, elapsed) = await make.WaitForExitAsync(MakeRunStopBudget);
        output.WriteLine($"make run SIGTERM: make exited with {code} after {elapsed.TotalSeconds:F1} s");

        Assert.Contains("SIGTERM received: stopping", make.Output, StringComparison.Ordinal);
        Assert.Contains("Stopping: draining agents, flushing Kafka...", make.Output, StringComparison.Ordinal);
        Assert.Contains("Stopped.", make.Output, StringComparison.Ordinal);
        // GNU make forwards SIGTERM to the recipe, waits for it, then dies of the signal itself (128 + 15).
        Assert.True(code is 143 or 0, $"make exit code {code}. Output:\n{make.Tail()}");
        Assert.False(File.Exists(Path.Combine(data, "infra.env")), "the endpoints file of a stopped run is removed");
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task LocalStack_StopSignal_ExitsZeroAfterTheDrain(string signal)
    {
        var data = Repository.TempDirectory("sp-localstack");
        using var stack = ChildProcess.Start("dotnet", [Repository.ServiceDll("StreamPipeline.LocalStack"), .. LocalStackArgs(data, agents: 3)]);
        await stack.WaitForLineAsync(l => l.Contains("StreamPipeline is running", StringComparison.Ordinal), StartTimeout, "the banner");

        stack.Signal(signal);
        var (code, elapsed) = await stack.WaitForExitAsync(MakeRunStopBudget);
        output.WriteLine($"LocalStack SIG{signal}: exit {code} after {elapsed.TotalSeconds:F1} s");

        Assert.True(code == ServiceExitCodes.Success, $"exit code {code}. Output:\n{stack.Tail()}");
        Assert.Contains("Stopped.", stack.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LocalStack_InvalidSetting_ExitsOneNamingIt()
    {
        using var stack = ChildProcess.Start("dotnet", [Repository.ServiceDll("StreamPipeline.LocalStack"), "--LocalStack:StopTimeout=-00:00:01"]);

        var (code, _) = await stack.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(ServiceExitCodes.StartFailed, code);
        Assert.Contains("LocalStack:StopTimeout", stack.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infra_Started_WritesEnvFileWhoseEndpointsAnswer()
    {
        var data = Repository.TempDirectory("sp-infra");
        var envFile = Path.Combine(data, "infra.env");
        using var infra = ChildProcess.Start("dotnet", [Repository.ServiceDll("StreamPipeline.LocalStack"), "infra", .. LocalStackArgs(data, agents: 0)]);
        await infra.WaitForLineAsync(l => l.Contains("infrastructure is running", StringComparison.Ordinal), StartTimeout, "the infra banner");

        var variables = ReadEnvFile(envFile);
        Assert.Equal(
            ["StreamPipeline__ClickHouse__ConnectionString", "StreamPipeline__Kafka__BootstrapServers", "StreamPipeline__Kafka__SchemaRegistryUrl"],
            variables.Keys.Order(StringComparer.Ordinal).ToArray());

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = variables["StreamPipeline__Kafka__BootstrapServers"] }).Build();
        var topics = admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics.Select(t => t.Topic).ToHashSet();
        Assert.All(PipelineTopics.All(), t => Assert.Contains(t.Name, topics));

        using var http = new HttpClient();
        using var subjects = await http.GetAsync(new Uri(new Uri(variables["StreamPipeline__Kafka__SchemaRegistryUrl"]), "subjects"));
        Assert.True(subjects.IsSuccessStatusCode, "Schema Registry GET /subjects");
        var ch = variables["StreamPipeline__ClickHouse__ConnectionString"].Split(';').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.OrdinalIgnoreCase);
        Assert.Equal("Ok.", (await http.GetStringAsync(new Uri($"http://{ch["Host"]}:{ch["Port"]}/ping"))).Trim());

        infra.Signal("TERM");
        var (code, _) = await infra.WaitForExitAsync(MakeRunStopBudget);
        Assert.True(code == ServiceExitCodes.Success, $"exit code {code}. Output:\n{infra.Tail()}");
        Assert.False(File.Exists(envFile), "the endpoints file of a stopped run is removed");
    }

    private static Dictionary<string, string> ReadEnvFile(string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(path))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            result[line[..eq]] = line[(eq + 1)..].Trim('\'');
        }

        return result;
    }

    /// <summary>Fresh ports and folders, so the run does not collide with a developer's own <c>make run</c>.</summary>
    private static string[] LocalStackArgs(string data, int agents) =>
    [
        "--LocalStack:DataPath=" + data,
        "--LocalStack:ClickHouseDataPath=" + Path.Combine(data, "clickhouse"),
        "--LocalStack:InfraEnvFile=" + Path.Combine(data, "infra.env"),
        "--LocalStack:KafkaBrokers=1",
        "--LocalStack:SchemaRegistryPort=0",
        "--LocalStack:ClickHousePort=0",
        "--LocalStack:ConnectorPort=" + Repository.FreePort().ToString(CultureInfo.InvariantCulture),
        "--LocalStack:ConnectorOpsPort=" + Repository.FreePort().ToString(CultureInfo.InvariantCulture),
        "--LocalStack:SinkOpsPort=" + Repository.FreePort().ToString(CultureInfo.InvariantCulture),
        "--LocalStack:DispatcherOpsPort=" + Repository.FreePort().ToString(CultureInfo.InvariantCulture),
        "--LocalStack:SimulatedAgents=" + agents.ToString(CultureInfo.InvariantCulture),
        "--LocalStack:MetricsInterval=00:00:01",
    ];
}
