using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamPipeline.AgentSimulator;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.Dispatcher.Hosting;
using StreamPipeline.EdgeConnector.Hosting;
using StreamPipeline.Sink.Hosting;

namespace StreamPipeline.LocalStack;

/// <summary>
/// The pipeline's services, each started as it would be deployed (its own host and configuration), here in one
/// process and pointed at the embedded infrastructure. Settings on the command line reach every service.
/// </summary>
internal sealed class PipelineServices : IAsyncDisposable
{
    private readonly List<WebApplication> _apps = [];
    private SimulatedFleet? _fleet;

    public WebApplication? Connector { get; private set; }
    public WebApplication? Dispatcher { get; private set; }
    public WebApplication? Sink { get; private set; }
    public SimulatedFleet? Fleet => _fleet;
    public string CertificatePath { get; private set; } = "";
    public string TokenStorePath { get; private set; } = "";

    public static async Task<PipelineServices> StartAsync(EmbeddedInfrastructure infra, LocalStackOptions o, string[] args, ILoggerFactory loggerFactory, CancellationToken ct)
    {
        var services = new PipelineServices();
        try
        {
            var data = Path.GetFullPath(o.DataPath);
            Directory.CreateDirectory(data);
            services.CertificatePath = Path.Combine(data, "dev-cert", "connector.crt");
            var tokens = Path.Combine(data, "tokens.txt");
            services.TokenStorePath = tokens;
            WriteSimulatedTokens(tokens, o);

            var common = new Dictionary<string, string?>
            {
                ["Kafka:BootstrapServers"] = infra.Kafka.BootstrapServers,
                ["Kafka:SchemaRegistryUrl"] = infra.SchemaRegistry.Url.ToString(),
                ["ClickHouse:ConnectionString"] = infra.ClickHouse.ConnectionString,
                // The mock broker holds an empty fetch for the whole fetch.wait.max.ms (500 ms by default) instead of
                // answering when data arrives as a real broker does; a short wait keeps the command round trip snappy.
                ["Kafka:Client:fetch.wait.max.ms"] = "10",
                ["Logging:LogLevel:Default"] = "Warning",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
            };

            services.Connector = await services.StartAsync(args, common, new()
            {
                ["EdgeConnector:ConnectorId"] = "edge-local-1",
                ["EdgeConnector:ListenAddress"] = "127.0.0.1",
                ["EdgeConnector:Port"] = o.ConnectorPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["EdgeConnector:OpsPort"] = o.ConnectorOpsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["EdgeConnector:CertificatePath"] = services.CertificatePath,
                ["EdgeConnector:CertificateKeyPath"] = Path.Combine(data, "dev-cert", "connector.key"),
                ["EdgeConnector:GenerateDevelopmentCertificate"] = "true",
                ["EdgeConnector:TokenStorePath"] = tokens,
                ["EdgeConnector:DrainWindow"] = "00:00:02",
            }, b => b.AddEdgeConnector(), app => app.MapEdgeConnector(), ct);

            services.Sink = await services.StartAsync(args, common, new()
            {
                ["Sink:OpsAddress"] = "127.0.0.1",
                ["Sink:OpsPort"] = o.SinkOpsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Sink:CreateDeadLetterTopic"] = "false",
            }, b => b.AddSink(), app => app.MapSink(), ct);

            services.Dispatcher = await services.StartAsync(args, common, new()
            {
                ["Dispatcher:DispatcherId"] = "dispatcher-local-1",
                ["Dispatcher:ListenAddress"] = "127.0.0.1",
                ["Dispatcher:OpsPort"] = o.DispatcherOpsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, b => b.AddDispatcher(), app => app.MapDispatcher(), ct);

            if (o.SimulatedAgents > 0)
            {
                services._fleet = SimulatedFleet.Start(new SimulatorOptions
                {
                    ServerUrl = new Uri($"wss://127.0.0.1:{o.ConnectorPort}/agent"),
                    TrustedCertificatePath = services.CertificatePath,
                    AgentCount = o.SimulatedAgents,
                    TokenSeed = o.TokenSeed,
                    MetricsInterval = o.MetricsInterval,
                    StatsInterval = TimeSpan.FromMinutes(10),
                }, loggerFactory);
            }

            return services;
        }
        catch
        {
            await services.DisposeAsync();
            throw;
        }
    }

    private async Task<WebApplication> StartAsync(string[] args, Dictionary<string, string?> common, Dictionary<string, string?> own,
        Action<WebApplicationBuilder> add, Action<WebApplication> map, CancellationToken ct)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(common);
        builder.Configuration.AddInMemoryCollection(own);
        builder.Configuration.AddCommandLine(args.Where(a => a.StartsWith("--", StringComparison.Ordinal)).ToArray());
        // This process decides when the services stop (Ctrl-C stops the agents first, then the services, then the infrastructure).
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        add(builder);
        var app = builder.Build();
        map(app);
        await app.StartAsync(ct);
        _apps.Add(app);
        return app;
    }

    private static void WriteSimulatedTokens(string path, LocalStackOptions o)
    {
        var lines = new List<string> { "# Local run: tokens of the simulated agents (seed LocalStack:TokenSeed). Only hashes are stored." };
        // Tokens a user issued (make token) survive a restart: only the simulated agents' lines are rewritten.
        if (File.Exists(path))
        {
            foreach (var line in File.ReadLines(path))
            {
                if (line.Length > 0 && line[0] != '#' && !line.StartsWith("sim-", StringComparison.Ordinal)) lines.Add(line);
            }
        }

        for (var i = 1; i <= o.SimulatedAgents; i++)
        {
            var id = SimulatedFleet.AgentIdFor("sim-", i);
            lines.Add(EdgeConnector.Authentication.TokenHashes.Line(id, SimulatedFleet.TokenFor(o.TokenSeed, id)));
        }

        File.WriteAllLines(path, lines);
    }

    private sealed class EmbeddedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_fleet is not null) await _fleet.DisposeAsync();
        for (var i = _apps.Count - 1; i >= 0; i--)
        {
            await _apps[i].StopAsync();
            await _apps[i].DisposeAsync();
        }
    }
}
