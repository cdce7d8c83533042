using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StreamPipeline.AgentSimulator;
using StreamPipeline.EdgeConnector.Hosting;

namespace StreamPipeline.Testing.EdgeConnector;

/// <summary>
/// One edge connector in this process, built as its Program.cs builds it (<c>AddEdgeConnector</c>,
/// <c>MapEdgeConnector</c>) on ephemeral 127.0.0.1 ports, against the given Kafka and Schema Registry, configured only
/// by the settings below (no environment variables or files), and started until its <c>/readyz</c> answers 200. The one
/// place tests and benchmarks build a connector host.
/// </summary>
public sealed class ConnectorHost : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);
    private readonly bool _ownsFiles;
    private bool _stopped;

    private ConnectorHost(WebApplication app, ConnectorFiles files, bool ownsFiles, string connectorId)
    {
        App = app;
        Files = files;
        _ownsFiles = ownsFiles;
        ConnectorId = connectorId;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        AgentPort = new Uri(addresses.First(a => a.StartsWith("https:", StringComparison.Ordinal))).Port;
        OpsPort = new Uri(addresses.First(a => a.StartsWith("http:", StringComparison.Ordinal))).Port;
    }

    public WebApplication App { get; }
    public string ConnectorId { get; }
    public ConnectorFiles Files { get; }
    public int AgentPort { get; }
    public int OpsPort { get; }
    public Uri AgentUrl => new($"wss://127.0.0.1:{AgentPort}/agent");
    public Uri OpsUrl => new($"http://127.0.0.1:{OpsPort}/");
    public string Dir => Files.Dir;
    public string CertificatePath => Files.CertificatePath;
    public string KeyPath => Files.KeyPath;
    public string TokenStorePath => Files.TokenStorePath;
    public string TokenSeed => Files.TokenSeed;

    /// <summary>
    /// Starts a connector. <paramref name="settings"/> override the defaults below (any configuration key);
    /// <paramref name="files"/>: shared with other connectors and left in place at dispose; none: the connector's own,
    /// provisioned for <paramref name="agents"/> simulated agents (50 unless told) and deleted at dispose.
    /// <paramref name="services"/> replaces registrations after the connector's (a skewed clock, say).
    /// </summary>
    public static async Task<ConnectorHost> StartAsync(string bootstrapServers, Uri registryUrl, int? agents = null,
        IReadOnlyDictionary<string, string?>? settings = null, string? connectorId = null, ILoggerProvider? logs = null,
        ConnectorFiles? files = null, Action<IServiceCollection>? services = null, bool waitReady = true)
    {
        if (files is not null && agents is not null) throw new ArgumentException("agents are provisioned by ConnectorFiles.Create when files are given", nameof(agents));
        var ownsFiles = files is null;
        files ??= ConnectorFiles.Create(agents ?? 50);
        connectorId ??= "edge-test-" + Guid.NewGuid().ToString("N")[..8];
        var config = new Dictionary<string, string?>
        {
            ["EdgeConnector:ConnectorId"] = connectorId,
            ["EdgeConnector:ListenAddress"] = "127.0.0.1",
            ["EdgeConnector:Port"] = "0",
            // The ops listener binds every interface by default; tests reach it on loopback only.
            ["EdgeConnector:OpsListenAddress"] = "127.0.0.1",
            ["EdgeConnector:OpsPort"] = "0",
            ["EdgeConnector:CertificatePath"] = files.CertificatePath,
            ["EdgeConnector:CertificateKeyPath"] = files.KeyPath,
            ["EdgeConnector:GenerateDevelopmentCertificate"] = "true",
            ["EdgeConnector:TokenStorePath"] = files.TokenStorePath,
            ["EdgeConnector:DrainWindow"] = "00:00:01",
            ["Kafka:BootstrapServers"] = bootstrapServers,
            ["Kafka:SchemaRegistryUrl"] = registryUrl.ToString(),
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) config[k] = v;

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(config);
        builder.AddEdgeConnector();
        services?.Invoke(builder.Services);
        if (logs is not null) builder.Logging.AddProvider(logs);
        var app = builder.Build();
        app.MapEdgeConnector();
        ConnectorHost host;
        try
        {
            await app.StartAsync();
            host = new ConnectorHost(app, files, ownsFiles, connectorId);
        }
        catch
        {
            await app.DisposeAsync();
            if (ownsFiles) files.Dispose();
            throw;
        }

        if (waitReady)
        {
            try
            {
                await host.WaitReadyAsync(ReadyTimeout);
            }
            catch
            {
                await host.DisposeAsync();
                throw;
            }
        }

        return host;
    }

    /// <summary>
    /// Waits until <c>/readyz</c> answers 200: schemas registered, the command relay and the presence watch reading from
    /// a fixed position, not draining. The timeout names the last answer.
    /// </summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = OpsUrl };
        await Eventually.ReturnsAsync(async () =>
        {
            try
            {
                using var response = await http.GetAsync(new Uri("readyz", UriKind.Relative));
                return (Ready: response.IsSuccessStatusCode, Why: $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            catch (HttpRequestException e)
            {
                return (Ready: false, Why: e.Message);
            }
        }, r => r.Ready, timeout, $"connector {ConnectorId} to be ready (last /readyz answer shown)");
    }

    /// <summary>Simulated agents of this connector's token store dialing it directly.</summary>
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

    /// <summary>Stops the connector as a crash would, as far as one process allows: no drain window, host stopped with a cancelled token.</summary>
    public async Task KillAsync()
    {
        if (_stopped) return;
        _stopped = true;
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        try
        {
            await App.StopAsync(cancelled.Token);
        }
        catch (OperationCanceledException)
        {
        }

        await App.DisposeAsync();
    }

    /// <summary>Stops the connector gracefully (drain window and all), then deletes its files unless they are shared.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await App.StopAsync();
            await App.DisposeAsync();
        }

        if (_ownsFiles) Files.Dispose();
    }
}
