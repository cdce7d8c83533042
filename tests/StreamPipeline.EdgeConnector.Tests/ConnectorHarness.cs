using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StreamPipeline.AgentSimulator;
using StreamPipeline.AgentSimulator.Fleet;
using StreamPipeline.EdgeConnector.Authentication;
using StreamPipeline.EdgeConnector.Commands;
using StreamPipeline.EdgeConnector.Hosting;
using StreamPipeline.EdgeConnector.Publishing;

namespace StreamPipeline.EdgeConnector.Tests;

/// <summary>One edge connector in this process on ephemeral ports, with its own certificate and token store.</summary>
internal sealed class ConnectorHarness : IAsyncDisposable
{
    public const string TokenSeed = "connector-tests";

    private ConnectorHarness(WebApplication app, string dir, string connectorId)
    {
        App = app;
        Dir = dir;
        ConnectorId = connectorId;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        var https = new Uri(addresses.First(a => a.StartsWith("https", StringComparison.Ordinal)));
        var http = new Uri(addresses.First(a => a.StartsWith("http:", StringComparison.Ordinal)));
        AgentUrl = new Uri($"wss://127.0.0.1:{https.Port}/agent");
        AgentPort = https.Port;
        OpsUrl = new Uri($"http://127.0.0.1:{http.Port}/");
    }

    public WebApplication App { get; }
    public string Dir { get; }
    public string ConnectorId { get; }
    public Uri AgentUrl { get; }
    public int AgentPort { get; }
    public Uri OpsUrl { get; }
    public string CertificatePath => Path.Combine(Dir, "connector.crt");
    public string KeyPath => Path.Combine(Dir, "connector.key");
    public string TokenStorePath => Path.Combine(Dir, "tokens.txt");
    public KafkaPublisher Publisher => App.Services.GetRequiredService<KafkaPublisher>();

    public static async Task<ConnectorHarness> StartAsync(string bootstrapServers, Uri registryUrl, int agents = 50,
        IDictionary<string, string?>? settings = null, string? connectorId = null, CapturedLogs? logs = null)
    {
        var dir = Directory.CreateTempSubdirectory("edge-").FullName;
        connectorId ??= "edge-test-" + Guid.NewGuid().ToString("N")[..8];
        var tokens = Enumerable.Range(1, agents).Select(i =>
        {
            var id = $"sim-{i:D6}";
            return TokenStore.HashLine(id, SimulatedFleet.TokenFor(TokenSeed, id));
        });
        TokenStore.AppendLines(Path.Combine(dir, "tokens.txt"), tokens);

        var config = new Dictionary<string, string?>
        {
            ["EdgeConnector:ConnectorId"] = connectorId,
            ["EdgeConnector:ListenAddress"] = "127.0.0.1",
            ["EdgeConnector:Port"] = "0",
            ["EdgeConnector:OpsPort"] = "0",
            ["EdgeConnector:CertificatePath"] = Path.Combine(dir, "connector.crt"),
            ["EdgeConnector:CertificateKeyPath"] = Path.Combine(dir, "connector.key"),
            ["EdgeConnector:GenerateDevelopmentCertificate"] = "true",
            ["EdgeConnector:TokenStorePath"] = Path.Combine(dir, "tokens.txt"),
            ["EdgeConnector:DrainWindow"] = "00:00:02",
            ["Kafka:BootstrapServers"] = bootstrapServers,
            ["Kafka:SchemaRegistryUrl"] = registryUrl.ToString(),
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) config[k] = v;

        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(config);
        builder.AddEdgeConnector();
        if (logs is not null) builder.Logging.AddProvider(logs);
        var app = builder.Build();
        app.MapEdgeConnector();
        await app.StartAsync();
        var harness = new ConnectorHarness(app, dir, connectorId);
        // Ready as /readyz means it: schemas registered, and the command relay and presence watch reading from a fixed
        // position. Tests that asserted /readyz right after the schemas were registered raced the relay (it came up later under load).
        var relay = app.Services.GetRequiredService<CommandRelay>();
        var watch = app.Services.GetRequiredService<StreamPipeline.EdgeConnector.Sessions.PresenceWatch>();
        await StreamPipeline.Testing.Eventually.TrueAsync(() => harness.Publisher.IsReady && relay.IsListening && watch.IsWatching, TimeSpan.FromSeconds(60),
            "the connector to register its schemas and start its relay and presence watch");
        return harness;
    }

    public SimulatorOptions Fleet(int count, TimeSpan interval, int first = 1) => new()
    {
        ServerUrl = AgentUrl,
        TrustedCertificatePath = CertificatePath,
        AgentCount = count,
        FirstAgentNumber = first,
        TokenSeed = TokenSeed,
        MetricsInterval = interval,
        MinReconnectDelay = TimeSpan.FromMilliseconds(100),
        MaxReconnectDelay = TimeSpan.FromSeconds(2),
    };

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
