using System.Net;
using Confluent.SchemaRegistry;
using Microsoft.AspNetCore.Builder;
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
        services.AddSingleton(sp => new TokenStore(sp.GetRequiredService<IOptions<EdgeConnectorOptions>>().Value.TokenStorePath, sp.GetRequiredService<ILogger<TokenStore>>()));
        services.AddSingleton(sp => new AuthThrottle(sp.GetRequiredService<IOptions<EdgeConnectorOptions>>().Value.AuthFailuresPerMinutePerAddress, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<SessionRegistry>();
        services.AddSingleton<AdmissionControl>();
        services.AddSingleton<KafkaPublisher>();
        services.AddSingleton<AgentConnectionHandler>();
        services.AddSingleton<ISchemaRegistryClient>(sp => new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = sp.GetRequiredService<IOptions<KafkaOptions>>().Value.SchemaRegistryUrl }));
        services.AddSingleton<PendingRequests>();
        services.AddSingleton<CommandRelay>();
        services.AddHostedService(sp => sp.GetRequiredService<CommandRelay>());
        services.AddHostedService<SchemaRegistration>();
        services.AddSingleton<DrainCoordinator>();
        services.AddHostedService(sp => sp.GetRequiredService<DrainCoordinator>());
        services.AddHealthChecks().AddCheck<ConnectorReadiness>("edge-connector", HealthStatus.Unhealthy, [ServiceDefaultsExtensions.ReadyTag]);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var o = kestrel.ApplicationServices.GetRequiredService<IOptions<EdgeConnectorOptions>>().Value;
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
            kestrel.Listen(address, o.OpsPort);
        });
        return builder;
    }

    /// <summary>Maps the agent WebSocket endpoint and the operations endpoints.</summary>
    public static WebApplication MapEdgeConnector(this WebApplication app)
    {
        var o = app.Services.GetRequiredService<IOptions<EdgeConnectorOptions>>().Value;
        app.UseWebSockets();
        app.MapDefaultEndpoints();
        app.Map(o.Path, AcceptAgentAsync);
        return app;
    }

    private static async Task AcceptAgentAsync(HttpContext context)
    {
        var sp = context.RequestServices;
        var o = sp.GetRequiredService<IOptions<EdgeConnectorOptions>>().Value;
        var metrics = sp.GetRequiredService<ConnectorMetrics>();
        if (!context.Request.IsHttps || !context.WebSockets.IsWebSocketRequest)
        {
            metrics.ConnectionRejected("not_wss");
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync($"Agents connect with a WebSocket over TLS: wss://<host>:{o.Port}{o.Path}\n");
            return;
        }

        if (!sp.GetRequiredService<KafkaPublisher>().IsReady)
        {
            await RefuseAsync(context, metrics, "not_ready", "connector not ready (registering schemas)");
            return;
        }

        var admission = sp.GetRequiredService<AdmissionControl>();
        if (admission.TryAdmit() is { } reason)
        {
            await RefuseAsync(context, metrics, reason, reason switch
            {
                "draining" => "connector draining; connect to another one",
                "max_connections" => "connector full (EdgeConnector:MaxConnections)",
                _ => "too many new connections per second (EdgeConnector:AdmissionsPerSecond)",
            });
            return;
        }

        try
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                KeepAliveInterval = o.KeepAliveInterval,
                KeepAliveTimeout = o.KeepAliveTimeout,
            });
            metrics.ConnectionsAccepted.Add(1);
            var remote = context.Connection.RemoteIpAddress ?? IPAddress.None;
            await sp.GetRequiredService<AgentConnectionHandler>().HandleAsync(socket, remote, sp.GetRequiredService<DrainCoordinator>().HardStop);
        }
        finally
        {
            admission.Release();
        }
    }

    private static async Task RefuseAsync(HttpContext context, ConnectorMetrics metrics, string reason, string message)
    {
        metrics.ConnectionRejected(reason);
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        // Spread the retries of a storm over a few seconds.
        context.Response.Headers.RetryAfter = Random.Shared.Next(1, 6).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await context.Response.WriteAsync(message + "\n");
    }
}

/// <summary>Ready when schemas are registered and the connector is not draining.</summary>
internal sealed class ConnectorReadiness(KafkaPublisher publisher, AdmissionControl admission) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            admission.Draining ? HealthCheckResult.Unhealthy("draining") :
            !publisher.IsReady ? HealthCheckResult.Unhealthy("Avro schemas not registered yet (Schema Registry unreachable?)") :
            HealthCheckResult.Healthy($"{admission.Open} agent sockets, {publisher.InFlight} records in flight"));
}
