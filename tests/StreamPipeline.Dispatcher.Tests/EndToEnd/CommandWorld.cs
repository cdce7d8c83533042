using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using StreamPipeline.AgentSimulator;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.AgentSimulator.Responses;
using StreamPipeline.Dispatcher.Dispatching;
using StreamPipeline.Dispatcher.Tests.Dispatching;
using StreamPipeline.Kafka.Contracts;
using StreamPipeline.Testing;
using StreamPipeline.Testing.EdgeConnector;
using Xunit.Abstractions;

namespace StreamPipeline.Dispatcher.Tests.EndToEnd;

/// <summary>
/// One end-to-end test's world, every part real and in this process, each service with its own host: the test's topics
/// on the fixture's Kafka and Schema Registry (through <see cref="TestBed"/>, which also reads every result), dispatchers,
/// edge connectors on ephemeral ports sharing one token store and certificate, an <see cref="AgentFrontDoor"/> the
/// simulated agents dial over wss, and the simulated fleets. The test plays the other systems: it produces commands.
/// </summary>
internal sealed class CommandWorld : IAsyncDisposable
{
    public const string TokenSeed = "dispatcher-e2e";
    public const int MaxAgents = 64;

    private readonly ConnectorFiles _files;
    private readonly List<ConnectorHost> _connectors = [];
    private readonly List<SimulatedFleet> _fleets = [];
    private readonly ITestOutputHelper _output;

    private CommandWorld(TestBed bed, ConnectorFiles files, ITestOutputHelper output, RequestCacheMode? cacheMode)
    {
        Bed = bed;
        _files = files;
        _output = output;
        CacheMode = cacheMode;
    }

    /// <summary>Re-sends of a request that may have reached the agent, at most (the dispatcher's default, Dispatcher:MaxResends).</summary>
    public const int MaxResends = 3;

    /// <summary>
    /// How strong the simulated agents' response cache is (every fleet of this world); null: every mode at once, agent by
    /// agent (<see cref="SimulatorOptions.MixRequestCacheModes"/>), so one run covers them all.
    /// </summary>
    public RequestCacheMode? CacheMode { get; }

    public TestBed Bed { get; }
    public AgentFrontDoor FrontDoor { get; } = new();
    public string Metrics => "agent-metrics-" + Bed.Suffix;
    public string DeadLetter => "agent-metrics-dlq-" + Bed.Suffix;
    public string CertificatePath => _files.CertificatePath;

    public static async Task<CommandWorld> StartAsync(DispatcherFixture fx, ITestOutputHelper output, RequestCacheMode? cacheMode = RequestCacheMode.KeptAcrossReconnects)
    {
        var bed = await TestBed.StartAsync(fx);
        output.WriteLine($"agents' request cache: {cacheMode?.ToString() ?? "every mode, agent by agent"}");
        var world = new CommandWorld(bed, ConnectorFiles.Create(MaxAgents, TokenSeed, "commands-e2e-"), output, cacheMode);
        await fx.Kafka.Topics.EnsureTopicsAsync([new(world.Metrics, 2, 1), new(world.DeadLetter, 1, 1)], CancellationToken.None);
        return world;
    }

    /// <summary>Starts an edge connector (its own host) on ephemeral ports and waits until it is ready.</summary>
    public async Task<ConnectorHost> StartConnectorAsync(
        string connectorId, IReadOnlyDictionary<string, string?>? overrides = null, Action<IServiceCollection>? services = null, bool waitReady = true)
    {
        var settings = new Dictionary<string, string?>
        {
            ["EdgeConnector:MetricsTopic"] = Metrics,
            ["EdgeConnector:DeadLetterTopic"] = DeadLetter,
            ["EdgeConnector:PresenceTopic"] = Bed.Presence,
            ["EdgeConnector:ConnectorRequestsTopic"] = Bed.Requests,
            ["EdgeConnector:ConnectorResponsesTopic"] = Bed.Responses,
        };
        foreach (var (k, v) in overrides ?? new Dictionary<string, string?>()) settings[k] = v;
        // One certificate and token store for every connector, as behind a real load balancer's name.
        var connector = await ConnectorHost.StartAsync(Bed.BootstrapServers, new Uri(Bed.RegistryUrl), settings: settings, connectorId: connectorId,
            files: _files, services: services, waitReady: waitReady);
        _connectors.Add(connector);
        return connector;
    }

    /// <summary>Kills a connector as a crash would, as far as one process allows: no drain window, host stopped with a cancelled token.</summary>
    public async Task KillConnectorAsync(ConnectorHost connector)
    {
        await connector.KillAsync();
        _connectors.Remove(connector);
    }

    /// <summary>Starts <paramref name="count"/> simulated agents from number <paramref name="first"/>, all dialing the front door.</summary>
    public async Task<SimulatedFleet> StartFleetAsync(
        int count, int first = 1, TimeSpan? responseDelay = null, Action<SimulatorOptions>? configure = null, bool waitAuthenticated = true)
    {
        if (first + count - 1 > MaxAgents) throw new ArgumentOutOfRangeException(nameof(count), $"at most {MaxAgents} agents are provisioned");
        var options = new SimulatorOptions
        {
            ServerUrl = new Uri($"wss://127.0.0.1:{FrontDoor.Port}/agent"),
            TrustedCertificatePath = CertificatePath,
            AgentCount = count,
            FirstAgentNumber = first,
            TokenSeed = TokenSeed,
            // Metrics paused: these tests are about commands (and a burst of metrics would count against the rate limit).
            MetricsInterval = TimeSpan.Zero,
            MinReconnectDelay = TimeSpan.FromMilliseconds(100),
            MaxReconnectDelay = TimeSpan.FromSeconds(1),
            ResponseDelay = responseDelay ?? TimeSpan.Zero,
            RequestCacheMode = CacheMode ?? RequestCacheMode.KeptAcrossReconnects,
            MixRequestCacheModes = CacheMode is null,
        };
        configure?.Invoke(options);
        var fleet = SimulatedFleet.Start(options);
        _fleets.Add(fleet);
        if (waitAuthenticated) await fleet.WaitAllAuthenticatedAsync(TimeSpan.FromSeconds(60));
        return fleet;
    }

    public async Task<List<AgentCommand>> SendAsync(IEnumerable<AgentCommand> commands)
    {
        var sent = new List<AgentCommand>();
        foreach (var command in commands)
        {
            await Bed.SendAsync(command);
            sent.Add(command);
        }

        return sent;
    }

    /// <summary>Waits until every command has a result, then until every dispatcher holds nothing; returns the results by command id.</summary>
    public async Task<Dictionary<string, CommandResult>> WaitForResultsAsync(IReadOnlyCollection<AgentCommand> commands, TimeSpan timeout, IEnumerable<WebApplication> dispatchers)
    {
        var ids = commands.Select(c => c.CommandId).ToHashSet(StringComparer.Ordinal);
        await Eventually.ReturnsAsync(
            () => Task.FromResult(Bed.PublishedResults.Select(r => r.CommandId).Where(ids.Contains).Distinct().Count()),
            n => n == ids.Count, timeout, $"results of all {ids.Count} commands");
        await Eventually.TrueAsync(
            () => dispatchers.All(d => d.Services.GetRequiredService<DispatcherWorker>().Engine is { InFlightCount: 0, WaitingCount: 0 }),
            TimeSpan.FromSeconds(30), "every dispatcher to hold no command");
        return Bed.PublishedResults.Where(r => ids.Contains(r.CommandId)).GroupBy(r => r.CommandId).ToDictionary(g => g.Key, g => g.First());
    }

    /// <summary>
    /// The two guarantees: exactly one terminal result per command on the results topic, and on the agents no command
    /// ran twice where that matters. Side-effecting actions (restart-service, update-agent-config) ran at most once, in
    /// every cache mode. A read-only action that answered ok ran exactly once when the agents keep their cache; an agent
    /// with a weaker cache may run a re-sent read again, at most once per re-send (<see cref="MaxResends"/>).
    /// </summary>
    public void AssertExactlyOnce(IReadOnlyCollection<AgentCommand> commands, IReadOnlyList<SimulatedFleet> fleets, bool allOk = true)
    {
        var report = new StringBuilder();
        foreach (var command in commands)
        {
            var results = Bed.PublishedResults.Where(r => r.CommandId == command.CommandId).ToList();
            Assert.True(results.Count == 1, $"command {command.CommandId} ({command.Action} on {command.AgentId}) has {results.Count} results on the results topic");
            var result = results[0];
            var sideEffecting = IsSideEffecting(command.Action);
            var agents = fleets.Select(f => f.FindAgent(command.AgentId)).Where(a => a is not null).ToList();
            Assert.NotEmpty(agents);
            var executions = result.RequestId is { } id ? agents.Sum(a => a!.ExecutionCount(id)) : 0;
            var weakCache = agents.Any(a => a!.CacheMode != RequestCacheMode.KeptAcrossReconnects);
            report.Append(System.Globalization.CultureInfo.InvariantCulture, $"{command.AgentId} {command.Action,-20} {result.Status,-15} request {result.RequestId} via {result.ConnectorId}, ran {executions}x {result.Error}\n");
            if (allOk)
            {
                var fine = result.Status == CommandStatus.Ok;
                Assert.True(fine, $"{command.Action} on {command.AgentId}: {result.Status} {result.Error}");
            }

            if (result.RequestId is null) continue;
            if (sideEffecting) Assert.True(executions <= 1, $"request {result.RequestId} ({command.Action}) ran {executions} times on {command.AgentId}");
            else if (result.Status == CommandStatus.Ok && !weakCache) Assert.True(executions == 1, $"request {result.RequestId} ({command.Action}) ran {executions} times on {command.AgentId}");
            else Assert.True(executions <= 1 + MaxResends, $"request {result.RequestId} ({command.Action}) ran {executions} times on {command.AgentId}");
            if (result.Status == CommandStatus.Ok) Assert.True(executions >= 1, $"request {result.RequestId} ({command.Action}) answered ok but never ran on {command.AgentId}");
        }

        // Nothing ran that was not one of these commands' requests (no stray executions under another id).
        foreach (var group in commands.GroupBy(c => c.AgentId))
        {
            var agents = fleets.Select(f => f.FindAgent(group.Key)).Where(a => a is not null).ToList();
            var byId = group.Select(c => Bed.PublishedResults.First(r => r.CommandId == c.CommandId).RequestId).OfType<long>()
                .Sum(id => agents.Sum(a => a!.ExecutionCount(id)));
            var total = agents.Sum(a => a!.TotalExecutions);
            Assert.True(total == byId, $"{group.Key} executed {total} requests, {byId} of them these commands' requests");
        }

        _output.WriteLine(report.ToString());
    }

    public static bool IsSideEffecting(string action) => action is "restart-service" or "update-agent-config";

    public async ValueTask DisposeAsync()
    {
        foreach (var fleet in _fleets) await fleet.DisposeAsync();
        foreach (var connector in _connectors.ToArray()) await connector.DisposeAsync();
        await FrontDoor.DisposeAsync();
        await Bed.DisposeAsync();
        _files.Dispose();
    }
}
