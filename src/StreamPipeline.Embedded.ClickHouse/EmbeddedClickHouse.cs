using System.Data.Common;
using Microsoft.Extensions.Logging;
using StreamPipeline.Embedded.ClickHouse.Engine;
using StreamPipeline.Embedded.ClickHouse.Http;

namespace StreamPipeline.Embedded.ClickHouse;

/// <summary>
/// ClickHouse for development and tests: the real ClickHouse engine (chDB, in this process) behind a ClickHouse HTTP
/// interface on loopback, so ClickHouse.Driver and any HTTP client work unmodified.
/// </summary>
/// <remarks>
/// chDB is process-global: one data directory per process and one started instance at a time (a second
/// <see cref="StartAsync"/> while one runs throws; share the instance). After <see cref="StopAsync"/> the engine stays
/// loaded for the process lifetime, so a later start on the same <see cref="EmbeddedClickHouseOptions.DataPath"/> is
/// quick; another path needs another process. Another process on the same DataPath is refused (the engine locks it).
/// </remarks>
public sealed class EmbeddedClickHouse : IAsyncDisposable
{
    private readonly ChDbEngine engine;
    private readonly ClickHouseHttpFacade facade;
    private readonly EmbeddedClickHouseOptions options;
    private int stopped;

    private EmbeddedClickHouse(ChDbEngine engine, ClickHouseHttpFacade facade, EmbeddedClickHouseOptions options)
    {
        this.engine = engine;
        this.facade = facade;
        this.options = options;
    }

    /// <summary>The facade's base address, e.g. <c>http://127.0.0.1:8123/</c>.</summary>
    public Uri Url => facade.Url;

    /// <summary>A ClickHouse.Driver connection string for this instance.</summary>
    public string ConnectionString => new DbConnectionStringBuilder
    {
        ["Host"] = Url.Host,
        ["Port"] = Url.Port,
        ["Protocol"] = "http",
        ["Username"] = options.User,
        ["Password"] = options.Password,
    }.ConnectionString;

    internal ChDbEngine Engine => engine;

    /// <summary>The engine's data directory (absolute).</summary>
    public string DataPath => engine.DataPath;

    /// <summary>Starts (or reuses, within this process) the engine and the HTTP facade.</summary>
    /// <exception cref="EmbeddedClickHouseException">
    /// Invalid options, chDB library missing or wrong, the DataPath locked by another process, or the Port in use.
    /// </exception>
    public static async Task<EmbeddedClickHouse> StartAsync(EmbeddedClickHouseOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        var settings = new EngineSettings(
            Path.GetFullPath(options.DataPath),
            options.LibraryPath,
            options.MaxServerMemoryBytes,
            options.MarkCacheBytes,
            options.MaxThreads,
            options.MaxConcurrentQueries);
        var logger = options.LoggerFactory.CreateLogger("StreamPipeline.Embedded.ClickHouse.Engine");

        // Loading 560 MB and starting the engine blocks for a moment: keep it off the caller's thread.
        var engine = await Task.Run(() => ChDbEngine.Claim(settings, logger), cancellationToken).ConfigureAwait(false);
        try
        {
            var facade = await ClickHouseHttpFacade.StartAsync(engine, options, cancellationToken).ConfigureAwait(false);
            return new EmbeddedClickHouse(engine, facade, options);
        }
        catch
        {
            engine.Release();
            throw;
        }
    }

    /// <summary>Stops the HTTP facade (running requests get <see cref="EmbeddedClickHouseOptions.ShutdownTimeout"/>).</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref stopped, 1) != 0)
        {
            return;
        }

        try
        {
            await facade.StopAsync(cancellationToken).ConfigureAwait(false);
            await facade.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            engine.Release();
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
