using System.Net.Http.Json;
using StreamPipeline.Deployment.Tests.Infrastructure;
using StreamPipeline.ServiceDefaults.Hosting;
using Xunit.Abstractions;

namespace StreamPipeline.Deployment.Tests.Signals;

/// <summary>
/// Each service as its own process (as deployed), stopped the way an orchestrator stops it. Issue 11: every service stops
/// on SIGTERM and SIGINT with the same drain, inside its documented ShutdownTimeout, and its exit code says why it ended.
/// </summary>
[Collection(EmbeddedStackCollection.Name)]
public sealed class ServiceSignalTests(EmbeddedStackFixture stack, ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("connector", "TERM")]
    [InlineData("connector", "INT")]
    [InlineData("dispatcher", "TERM")]
    [InlineData("dispatcher", "INT")]
    [InlineData("sink", "TERM")]
    [InlineData("sink", "INT")]
    public async Task Service_StopSignal_DrainsAndExitsZeroWithinShutdownTimeout(string service, string signal)
    {
        var settings = stack.CommonSettings();
        var ops = Services.AddOwnSettings(service, settings, stack.DataPath);
        using var process = ChildProcess.StartService(Services.Project(service), settings);
        await Services.WaitReadyAsync(process, ops, StartTimeout);
        // The container health check: the service's own binary probes its ops port (images have no shell or curl).
        Assert.Equal(0, await ProbeAsync(service, $"http://127.0.0.1:{ops}/readyz"));
        // Without a URL it probes the ops port the service is configured with (the image's HEALTHCHECK: right even when
        // an operator moves the ops port, or several services share the host network).
        Assert.Equal(0, await ProbeConfiguredOpsPortAsync(service, ops));

        process.Signal(signal);
        var (code, elapsed) = await process.WaitForExitAsync(Services.ShutdownTimeout(service));
        output.WriteLine($"{service} SIG{signal}: exit {code} after {elapsed.TotalSeconds:F1} s");

        Assert.True(code == ServiceExitCodes.Success, $"exit code {code}, expected 0. Output:\n{process.Tail()}");
        // The graceful path ran (the host's stop, hence every hosted service's drain), not a default signal death.
        Assert.Contains("Application is shutting down", process.Output, StringComparison.Ordinal);
        if (service == "connector") Assert.Contains("Drained:", process.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("connector")]
    [InlineData("dispatcher")]
    [InlineData("sink")]
    public async Task Service_HealthcheckOfAPortNobodyListensOn_ExitsOne(string service)
    {
        Assert.Equal(1, await ProbeAsync(service, $"http://127.0.0.1:{Repository.FreePort()}/readyz"));
    }

    private static async Task<int> ProbeAsync(string service, string url)
    {
        using var probe = ChildProcess.StartService(Services.Project(service), new Dictionary<string, string?>(), "healthcheck", url);
        var (code, _) = await probe.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return code;
    }

    private static async Task<int> ProbeConfiguredOpsPortAsync(string service, int opsPort)
    {
        var settings = new Dictionary<string, string?> { [Services.Section(service) + ":OpsPort"] = opsPort.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        using var probe = ChildProcess.StartService(Services.Project(service), settings, "healthcheck");
        var (code, _) = await probe.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return code;
    }

    [Theory]
    [InlineData("connector")]
    [InlineData("dispatcher")]
    [InlineData("sink")]
    public async Task Service_MissingBootstrapServers_ExitsOneNamingTheSetting(string service)
    {
        var settings = stack.CommonSettings();
        settings.Remove("Kafka:BootstrapServers");
        Services.AddOwnSettings(service, settings, stack.DataPath);
        using var process = ChildProcess.StartService(Services.Project(service), settings);

        var (code, _) = await process.WaitForExitAsync(StartTimeout);

        Assert.True(code == ServiceExitCodes.StartFailed, $"exit code {code}, expected {ServiceExitCodes.StartFailed}. Output:\n{process.Tail()}");
        Assert.Contains("Kafka:BootstrapServers is required", process.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Regression (issue 9 merged with issue 11): the connector read its options and built its Kafka producer while
    /// mapping its endpoints, before the host started, so a bad setting was an unhandled exception instead of exit 1.
    /// </summary>
    [Fact]
    public async Task Connector_InvalidEdgeConnectorSetting_ExitsOneNamingTheSetting()
    {
        var settings = stack.CommonSettings();
        Services.AddOwnSettings("connector", settings, stack.DataPath);
        settings["EdgeConnector:Path"] = "agent";
        using var process = ChildProcess.StartService(Services.Project("connector"), settings);

        var (code, _) = await process.WaitForExitAsync(StartTimeout);

        Assert.True(code == ServiceExitCodes.StartFailed, $"exit code {code}, expected {ServiceExitCodes.StartFailed}. Output:\n{process.Tail()}");
        Assert.Contains("EdgeConnector:Path must start with '/'", process.Output, StringComparison.Ordinal);
    }

    /// <summary>Regression (issue 11): the connector set exit code 3 on an incompatible schema, then <c>return 0</c> hid it.</summary>
    [Fact]
    public async Task Connector_IncompatibleMetricsSchemaRegistered_ExitsThree()
    {
        await using var registry = await Embedded.SchemaRegistry.EmbeddedSchemaRegistry.StartAsync(new Embedded.SchemaRegistry.EmbeddedSchemaRegistryOptions());
        using (var http = new HttpClient { BaseAddress = registry.Url })
        {
            var incompatible = new { schema = """{"type":"record","name":"Other","namespace":"elsewhere","fields":[{"name":"x","type":"string"}]}""" };
            using var registered = await http.PostAsJsonAsync("subjects/agent-metrics-value/versions", incompatible);
            registered.EnsureSuccessStatusCode();
        }

        var settings = stack.CommonSettings();
        settings["Kafka:SchemaRegistryUrl"] = registry.Url.ToString();
        Services.AddOwnSettings("connector", settings, stack.DataPath);
        using var process = ChildProcess.StartService(Services.Project("connector"), settings);

        var (code, _) = await process.WaitForExitAsync(StartTimeout);

        Assert.True(code == ServiceExitCodes.FatalDependency, $"exit code {code}, expected {ServiceExitCodes.FatalDependency}. Output:\n{process.Tail()}");
    }
}
