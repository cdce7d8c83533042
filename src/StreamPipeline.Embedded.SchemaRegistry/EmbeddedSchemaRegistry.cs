using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamPipeline.Embedded.SchemaRegistry.Api;
using StreamPipeline.Embedded.SchemaRegistry.Storage;

namespace StreamPipeline.Embedded.SchemaRegistry;

/// <summary>
/// A Confluent-compatible Schema Registry (Avro only, in memory) hosted in-process with Kestrel,
/// for local runs and tests. Confluent.SchemaRegistry's <c>CachedSchemaRegistryClient</c> and the
/// Avro serdes work against <see cref="Url"/> unchanged. State is lost when it stops.
/// </summary>
public sealed class EmbeddedSchemaRegistry : IAsyncDisposable
{
    private const long MaxRequestBodyBytes = 8 * 1024 * 1024;

    private readonly WebApplication _app;
    private readonly ILogger _logger;
    private int _stopped;
    private int _disposed;

    private EmbeddedSchemaRegistry(WebApplication app, Uri url, ILogger logger)
    {
        _app = app;
        Url = url;
        _logger = logger;
    }

    /// <summary>Base address of the REST API, e.g. <c>http://127.0.0.1:8081</c>; use it as <c>schema.registry.url</c>.</summary>
    public Uri Url { get; }

    /// <summary>Starts a registry listening on <see cref="EmbeddedSchemaRegistryOptions.Host"/>:<see cref="EmbeddedSchemaRegistryOptions.Port"/>.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names every one.</exception>
    /// <exception cref="IOException">The address cannot be bound, e.g. the port is in use.</exception>
    public static async Task<EmbeddedSchemaRegistry> StartAsync(EmbeddedSchemaRegistryOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var address = IPAddress.Parse(options.Host);

        // The empty builder reads no appsettings or ASPNETCORE_* variables, so the host running
        // the tests cannot change where or how the registry listens.
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            kestrel.Listen(address, options.Port);
        });
        builder.Services.AddRoutingCore();
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));
        // The owner stops the registry (DisposeAsync). The default console lifetime would take SIGTERM/SIGINT for itself
        // and stop only this listener, so the process hosting the registry never learnt it was asked to stop.
        builder.Services.AddSingleton<IHostLifetime, OwnerStoppedLifetime>();
        builder.Services.AddSingleton(new SchemaStore(options.DefaultCompatibility));
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("System", LogLevel.Warning);
        if (options.LoggerFactory is not null)
        {
            builder.Logging.AddProvider(new ForwardingLoggerProvider(options.LoggerFactory));
        }

        WebApplication app = builder.Build();
        ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<EmbeddedSchemaRegistry>();
        app.Use((context, next) => ErrorHandling.InvokeAsync(context, next, logger));
        app.UseRouting();
        new RegistryEndpoints(app.Services.GetRequiredService<SchemaStore>(), logger).Map(app);

        try
        {
            await app.StartAsync(ct);
        }
        catch (Exception ex) when (ex is IOException or SocketException or AddressInUseException)
        {
            await app.DisposeAsync();
            string endpoint = new IPEndPoint(address, options.Port).ToString();
            string setting = $"{nameof(EmbeddedSchemaRegistryOptions)}.{nameof(EmbeddedSchemaRegistryOptions.Port)}";
            throw IsAddressInUse(ex)
                ? new IOException($"Embedded Schema Registry cannot listen on {endpoint}: the port is in use. Set {setting} to a free port or 0.", ex)
                : new IOException($"Embedded Schema Registry cannot listen on {endpoint}: {ex.Message} Check {nameof(EmbeddedSchemaRegistryOptions)}.{nameof(EmbeddedSchemaRegistryOptions.Host)} and {setting}.", ex);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var registry = new EmbeddedSchemaRegistry(app, new Uri(bound), logger);
        Log.Started(logger, registry.Url);
        return registry;
    }

    /// <summary>Stops listening. Calling it again does nothing.</summary>
    public async Task StopAsync(CancellationToken ct = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        await _app.StopAsync(ct);
        Log.Stopped(_logger, Url);
    }

    /// <summary>Stops the registry if needed and releases the host.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await StopAsync();
        await _app.DisposeAsync();
    }

    private static bool IsAddressInUse(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is AddressInUseException ||
                current is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
                return true;
            }
        }

        return false;
    }
}
