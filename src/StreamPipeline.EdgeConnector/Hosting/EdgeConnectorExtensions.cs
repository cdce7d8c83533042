using System.Net;
using Confluent.SchemaRegistry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.EdgeConnector.Authentication;
using StreamPipeline.EdgeConnector.Commands;
using StreamPipeline.EdgeConnector.Publishing;
using StreamPipeline.EdgeConnector.Sessions;
using StreamPipeline.EdgeConnector.Telemetry;
using StreamPipeline.EdgeConnector.Tls;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.ServiceDefaults;

namespace StreamPipeline.EdgeConnector.Hosting;

public static class EdgeConnectorExtensions
{
    /// <summary>Registers the edge connector: options, TLS listener, token store, sessions, Kafka publisher, drain.</summary>
    public static WebApplicationBuilder AddEdgeConnector(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        builder.AddServiceDefaults(ConnectorMetrics.MeterName);
        services.AddValidatedOptions<EdgeConnectorOptions>(builder.Configuration, EdgeConnectorOptions.Section, o => o.Validate());
        services.AddValidatedOptions<KafkaOptions>(builder.Configuration, KafkaOptions.Section, o => o.Validate());
        services.Configure<HostOptions>(h => h.ShutdownTimeout = builder.Configuration.GetValue<TimeSpan?>("EdgeConnector:DrainWindow") + TimeSpan.FromSeconds(20) ?? TimeSpan.FromSeconds(30));

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ConnectorMetrics>();
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<EdgeConnectorOptions>>().Value;
            if (o.GenerateDevelopmentCertificate) DevelopmentCertificate.EnsureExists(o.CertificatePath, o.CertificateKeyPath);
            return new CertificateProvider(o.CertificatePath, o.CertificateKeyPath, sp.GetRequiredService<ILogger<CertificateProvider>>());
        });
        // The credential store is chosen by EdgeConnector:CredentialStore, read here from configuration (the services are
        // registered before the options are validated; an invalid value fails the start-up validation, naming the setting).
        if (string.Equals(builder.Configuration["EdgeConnector:CredentialStore"], EdgeConnectorOptions.KafkaStore, StringComparison.Ordinal))
        {
            services.AddSingleton<KafkaCredentialStore>();
            services.AddSingleton<ICredentialStore>(sp => sp.GetRequiredService<KafkaCredentialStore>());
            services.AddSingleton<ICredentialChangeFeed>(sp => sp.GetRequiredService<KafkaCredentialStore>());
            services.AddHostedService(sp => sp.GetRequiredService<KafkaCredentialStore>());
        }
        else
        {
            services.AddSingleton(sp => new TokenStore(sp.GetRequiredService<IOptions<EdgeConnectorOptions>>().Value.TokenStorePath, sp.GetRequiredService<ILogger<TokenStore>>()));
            services.AddSingleton<ICredentialStore>(sp => sp.GetRequiredService<TokenStore>());
            services.AddSingleton<ICredentialChangeFeed>(sp => sp.GetRequiredService<TokenStore>());
        }

        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<EdgeConnectorOptions>>().Value;
            return new AuthThrottle(o.AuthFailuresPerMinutePerAddress, o.AuthThrottleMaxEntries, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<SessionRegistry>();
        services.AddSingleton<AdmissionControl>();
        services.AddSingleton<KafkaPublisher>();
        services.AddSingleton<AgentConnectionHandler>();
        services.AddSingleton<AgentEndpoint>();
        services.AddHostedService<CredentialEnforcer>();
        services.AddSingleton<ISchemaRegistryClient>(sp => new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = sp.GetRequiredService<IOptions<KafkaOptions>>().Value.SchemaRegistryUrl }));
        services.AddSingleton(sp => new PendingRequests(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<EdgeConnectorOptions>>().Value.MaxPendingRequests));
        services.AddSingleton<CommandRelay>();
        services.AddHostedService(sp => sp.GetRequiredService<CommandRelay>());
        services.AddSingleton<PresenceWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<PresenceWatch>());
        services.AddHostedService<SchemaRegistration>();
        services.AddSingleton<DrainCoordinator>();
        services.AddHostedService(sp => sp.GetRequiredService<DrainCoordinator>());
        services.AddReadinessCheck<ConnectorReadiness>("edge-connector");

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // This runs inside builder.Build(), before the host validates options at start. With invalid options it
            // configures nothing: the start-up validation then reports every bad setting (ServiceRunner: exit 1) before
            // anything listens, instead of this callback dying with an unhandled exception.
            EdgeConnectorOptions o;
            try
            {
                o = kestrel.ApplicationServices.GetRequiredService<IOptions<EdgeConnectorOptions>>().Value;
            }
            catch (OptionsValidationException)
            {
                return;
            }

            var certificates = kestrel.ApplicationServices.GetRequiredService<CertificateProvider>();
            var address = IPAddress.Parse(o.ListenAddress);
            OpenSslPolicy.EnsureLoaded(); // before the listener creates any OpenSSL context
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = o.MaxConnections + 1_000;
            kestrel.Limits.MaxConcurrentUpgradedConnections = o.MaxConnections;
            kestrel.Listen(address, o.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                // One cached certificate context and the policy in OpenSSL's configuration: one shared OpenSSL
                // context for every connection (docs/decisions.md, "How the TLS policy is applied").
                listen.UseHttps(new TlsHandshakeCallbackOptions
                {
                    OnConnection = _ => ValueTask.FromResult(TlsPolicy.ServerOptions(certificates.CurrentContext)),
                    HandshakeTimeout = TimeSpan.FromSeconds(10),
                });
            });
            // The ops endpoints are served on this listener alone (see MapEdgeConnector): its connections are marked here.
            kestrel.Listen(IPAddress.Parse(o.OpsListenAddress), o.OpsPort, listen => listen.Use(next => connection =>
            {
                connection.Items[OpsListenerKey] = OpsListenerKey;
                return next(connection);
            }));
        });
        return builder;
    }

    private const string OpsListenerKey = "streampipeline.ops-listener";

    /// <summary>Maps the agent WebSocket endpoint (agent listener) and the operations endpoints (ops listener only).</summary>
    public static WebApplication MapEdgeConnector(this WebApplication app)
    {
        app.UseWebSockets();
        app.MapDefaultEndpoints(servedOn: IsOpsListener);
        // Nothing is resolved here: the options and the endpoint (which builds the Kafka producer) are read on the first
        // request, after the host started. Invalid options must surface when the host starts (ServiceRunner: exit 1
        // naming every bad setting), not as an unhandled exception thrown while the pipeline is being built.
        app.MapWhen(IsAgentPath, agent => agent.Run(static context => context.RequestServices.GetRequiredService<AgentEndpoint>().AcceptAsync(context)));
        return app;
    }

    private static bool IsAgentPath(HttpContext context) =>
        context.Request.Path.Equals(context.RequestServices.GetRequiredService<IOptions<EdgeConnectorOptions>>().Value.Path);

    private static bool IsOpsListener(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(OpsListenerKey) == true;
}

/// <summary>Ready when the credential store is loaded, schemas are registered, the command relay and the presence watch are running, and the connector is not draining.</summary>
internal sealed class ConnectorReadiness(KafkaPublisher publisher, AdmissionControl admission, CommandRelay relay, PresenceWatch watch, ICredentialStore credentials) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            admission.Draining ? HealthCheckResult.Unhealthy("draining") :
            !credentials.IsReady ? HealthCheckResult.Unhealthy(credentials.NotReadyReason) :
            credentials is KafkaCredentialStore { IsAlive: false } ? HealthCheckResult.Unhealthy(credentials.NotReadyReason) :
            !publisher.IsReady ? HealthCheckResult.Unhealthy("Avro schemas not registered yet (Schema Registry unreachable?)") :
            !relay.IsListening ? HealthCheckResult.Unhealthy("command relay not reading its connector-requests partition yet (Kafka unreachable?)") :
            !relay.IsAlive ? HealthCheckResult.Unhealthy("command relay stalled: its loop has not run for 30 s") :
            !watch.IsWatching ? HealthCheckResult.Unhealthy("presence watch not reading agent-presence yet (Kafka unreachable?)") :
            !watch.IsAlive ? HealthCheckResult.Unhealthy("presence watch stalled: its loop has not run for 30 s") :
            HealthCheckResult.Healthy($"{admission.Open} agent sockets, {publisher.InFlight} records in flight"));
}
