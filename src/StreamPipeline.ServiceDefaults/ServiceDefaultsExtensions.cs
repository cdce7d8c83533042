using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace StreamPipeline.ServiceDefaults;

/// <summary>What every StreamPipeline service has: structured logs, Prometheus metrics, health and readiness.</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Tag of the health checks that decide readiness (<c>/readyz</c>); untagged checks only decide liveness.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// Logs: one JSON object a line when <c>Logging:Format=json</c> (production), a single readable line
    /// otherwise. Metrics: the given meters, exported for Prometheus at <c>/metrics</c>.
    /// </summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder, params string[] meterNames)
    {
        builder.Logging.ClearProviders();
        if (string.Equals(builder.Configuration["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.AddJsonConsole(o => { o.IncludeScopes = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ"; o.UseUtcTimestamp = true; });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; o.UseUtcTimestamp = true; });
        }

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);

        builder.Services.AddOpenTelemetry().WithMetrics(m =>
        {
            m.AddMeter(meterNames);
            // .NET runtime metrics (GC heap, thread pool, working set), built into .NET 9+.
            m.AddMeter("System.Runtime");
            m.AddPrometheusExporter();
        });
        builder.Services.AddHealthChecks();
        return builder;
    }

    /// <summary>Maps <c>/healthz</c> (the process is alive), <c>/readyz</c> (dependencies reachable, ready for traffic) and <c>/metrics</c>.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = c => !c.Tags.Contains(ReadyTag), ResponseWriter = WriteReportAsync });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = _ => true, ResponseWriter = WriteReportAsync });
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    /// <summary>
    /// Maps the same endpoints, served only to requests for which <paramref name="servedOn"/> is true (the ops listener);
    /// any other request for those paths gets 404. A service with a public listener uses this so a connection flood
    /// there can neither reach nor starve its probes and scrapes.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app, Func<HttpContext, bool> servedOn)
    {
        OnlyWhen(app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = c => !c.Tags.Contains(ReadyTag), ResponseWriter = WriteReportAsync }), servedOn);
        OnlyWhen(app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = _ => true, ResponseWriter = WriteReportAsync }), servedOn);
        OnlyWhen(app.MapPrometheusScrapingEndpoint("/metrics"), servedOn);
        return app;
    }

    /// <summary>
    /// The status on the first line (what probes and people expect), then one line per check with its description, so
    /// an operator sees why a service is not ready ("command relay not reading ... yet") without reading its logs.
    /// </summary>
    private static Task WriteReportAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        var text = new System.Text.StringBuilder().Append(report.Status).Append('\n');
        foreach (var (name, entry) in report.Entries)
        {
            text.Append(name).Append(": ").Append(entry.Status);
            if (!string.IsNullOrEmpty(entry.Description)) text.Append(": ").Append(entry.Description);
            text.Append('\n');
        }

        return context.Response.WriteAsync(text.ToString());
    }

    private static void OnlyWhen(IEndpointConventionBuilder endpoint, Func<HttpContext, bool> servedOn) =>
        endpoint.Add(b =>
        {
            var inner = b.RequestDelegate!;
            b.RequestDelegate = context =>
            {
                if (servedOn(context)) return inner(context);
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            };
        });

    /// <summary>Registers a readiness check.</summary>
    public static IHealthChecksBuilder AddReadinessCheck<T>(this IServiceCollection services, string name)
        where T : class, IHealthCheck =>
        services.AddHealthChecks().AddCheck<T>(name, HealthStatus.Unhealthy, [ReadyTag]);
}
