using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StreamPipeline.Dispatcher.Commands;
using StreamPipeline.Dispatcher.Dispatching;
using StreamPipeline.Dispatcher.Telemetry;
using StreamPipeline.Kafka.Configuration;
using StreamPipeline.ServiceDefaults;

namespace StreamPipeline.Dispatcher.Hosting;

public static class DispatcherExtensions
{
    /// <summary>Registers the command dispatcher: options, the Kafka worker, metrics, readiness and the operations listener.</summary>
    public static WebApplicationBuilder AddDispatcher(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        builder.AddServiceDefaults(DispatcherMetrics.MeterName);
        services.AddValidatedOptions<DispatcherOptions>(builder.Configuration, DispatcherOptions.Section, o => o.Validate());
        services.AddValidatedOptions<KafkaOptions>(builder.Configuration, KafkaOptions.Section, o => o.Validate());
        var drain = builder.Configuration.GetValue<TimeSpan?>("Dispatcher:DrainTimeout") ?? TimeSpan.FromSeconds(10);
        services.Configure<HostOptions>(h => h.ShutdownTimeout = drain + TimeSpan.FromSeconds(20));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<DispatcherMetrics>();
        services.AddSingleton<KafkaDispatchOutput>();
        services.AddSingleton<IDispatchOutput>(sp => sp.GetRequiredService<KafkaDispatchOutput>());
        services.AddSingleton<CommandEngine>();
        services.AddSingleton<PartitionStateStore>();
        services.AddSingleton<PresenceFollower>();
        services.AddSingleton<CommandConsumer>();
        services.AddSingleton<DispatcherWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<DispatcherWorker>());
        services.AddHealthChecks().AddCheck<DispatcherReadiness>("dispatcher", HealthStatus.Unhealthy, [ServiceDefaultsExtensions.ReadyTag]);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var o = kestrel.ApplicationServices.GetRequiredService<IOptions<DispatcherOptions>>().Value;
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Parse(o.ListenAddress), o.OpsPort);
        });
        return builder;
    }

    /// <summary>Maps /healthz, /readyz and /metrics.</summary>
    public static WebApplication MapDispatcher(this WebApplication app)
    {
        app.MapDefaultEndpoints();
        return app;
    }
}

/// <summary>Ready once the presence table has caught up and the group has assigned partitions; not while draining.</summary>
internal sealed class DispatcherReadiness(DispatcherWorker worker) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(worker.IsReady ? HealthCheckResult.Healthy(worker.Describe()) : HealthCheckResult.Unhealthy(worker.Describe()));
}
