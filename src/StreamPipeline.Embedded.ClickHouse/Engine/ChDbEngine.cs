using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using StreamPipeline.Embedded.ClickHouse.Native;

namespace StreamPipeline.Embedded.ClickHouse.Engine;

/// <summary>
/// The chDB engine of this process. chDB is process-global: one data directory per process, and closing the last
/// connection shuts the engine down for good, so the engine keeps a "keeper" connection open for the process lifetime
/// and hands out a small pool of further connections (which run in parallel) to requests.
/// </summary>
internal sealed partial class ChDbEngine
{
    private static readonly Lock RegistryGate = new();
    private static ChDbEngine? processEngine;

    private readonly string[] arguments;
    private readonly ConcurrentStack<ChDbSession> idle = new();
    private readonly SemaphoreSlim slots;
    private readonly ILogger logger;
#pragma warning disable IDE0052 // Held, never read: closing the last connection would shut the engine down.
    private readonly ChDbConnectionHandle keeper;
#pragma warning restore IDE0052
    private int claimed;

    private ChDbEngine(string dataPath, string[] arguments, ChDbConnectionHandle keeper, int poolSize, ILogger logger)
    {
        DataPath = dataPath;
        this.arguments = arguments;
        this.keeper = keeper;
        this.logger = logger;
        PoolSize = poolSize;
        slots = new SemaphoreSlim(poolSize, poolSize);
        Version = "unknown";
        Timezone = "UTC";
    }

    public string DataPath { get; }

    /// <summary>The engine's <c>version()</c>, used in error texts as ClickHouse does.</summary>
    public string Version { get; private set; }

    /// <summary>The engine's <c>timezone()</c>, sent as <c>X-ClickHouse-Timezone</c>.</summary>
    public string Timezone { get; private set; }

    public int PoolSize { get; }

    /// <summary>
    /// Starts the process's engine on <paramref name="settings"/>'s data path, or returns the running one when it uses
    /// the same path. Only one facade may use it at a time (<see cref="Release"/> gives it back).
    /// </summary>
    public static ChDbEngine Claim(EngineSettings settings, ILogger logger)
    {
        lock (RegistryGate)
        {
            if (processEngine is { } running)
            {
                if (!string.Equals(running.DataPath, settings.DataPath, StringComparison.Ordinal))
                {
                    throw new EmbeddedClickHouseException(
                        $"chDB is process-global: this process already runs the engine on DataPath '{running.DataPath}', so it cannot open '{settings.DataPath}' " +
                        "(EmbeddedClickHouseOptions.DataPath). Use the same DataPath for every EmbeddedClickHouse in a process, or run another process.");
                }

                if (Interlocked.CompareExchange(ref running.claimed, 1, 0) != 0)
                {
                    throw new EmbeddedClickHouseException(
                        $"An EmbeddedClickHouse on DataPath '{settings.DataPath}' is already started in this process. chDB is process-global: " +
                        "share that instance (its Url / ConnectionString) or stop it before starting another.");
                }

                Log.EngineReused(logger, settings.DataPath);
                return running;
            }

            var libraryPath = ChDbLibrary.EnsureLoaded(settings.LibraryPath);
            Log.LibraryLoaded(logger, libraryPath);
            Directory.CreateDirectory(settings.DataPath);
            if (DataPathLock.IsLockedByAnotherProcess(settings.DataPath))
            {
                throw DataPathLock.LockedError(settings.DataPath);
            }

            var arguments = settings.ToArguments();

            // Without this chDB installs its own signal handlers, and a .NET exception that the runtime handles through
            // a signal (null reference, stack probe) can then hang the process.
            ChDbNative.chdb_set_signal_handlers_enabled(0);
            var keeper = Connect(arguments) ?? throw (DataPathLock.IsLockedByAnotherProcess(settings.DataPath)
                ? DataPathLock.LockedError(settings.DataPath)
                : new EmbeddedClickHouseException(
                    $"chDB could not start on DataPath '{settings.DataPath}' with arguments {string.Join(' ', arguments)}; its own message is on the process's stderr. " +
                    "Check that the directory is writable and the engine limits in EmbeddedClickHouseOptions are valid."));

            var engine = new ChDbEngine(settings.DataPath, arguments, keeper, settings.PoolSize, logger);
            engine.ReadServerFacts();
            engine.claimed = 1;
            processEngine = engine;
            Log.EngineStarted(logger, engine.Version, settings.DataPath, string.Join(' ', arguments));
            return engine;
        }
    }

    /// <summary>Gives the engine back (it keeps running for the process lifetime) and closes idle pooled connections.</summary>
    public void Release()
    {
        while (idle.TryPop(out var session))
        {
            session.Dispose();
        }

        Volatile.Write(ref claimed, 0);
    }

    /// <summary>Waits for a free connection (at most <see cref="PoolSize"/> statements run at once).</summary>
    public async ValueTask<ChDbSession> RentAsync(CancellationToken cancellationToken)
    {
        await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (idle.TryPop(out var session))
        {
            return session;
        }

        var handle = Connect(arguments);
        if (handle is null)
        {
            slots.Release();
            throw new EmbeddedClickHouseException($"chDB refused a new connection on DataPath '{DataPath}'; its message is on the process's stderr.");
        }

        return new ChDbSession(handle);
    }

    public void Return(ChDbSession session)
    {
        if (session.Tainted || Volatile.Read(ref claimed) == 0)
        {
            if (session.Tainted)
            {
                Log.SessionDiscarded(logger);
            }

            session.Dispose();
        }
        else
        {
            idle.Push(session);
        }

        slots.Release();
    }

    private static unsafe ChDbConnectionHandle? Connect(string[] arguments)
    {
        var encoded = new byte[arguments.Length][];
        var handles = new GCHandle[arguments.Length];
        var argv = stackalloc byte*[arguments.Length];
        try
        {
            for (var i = 0; i < arguments.Length; i++)
            {
                encoded[i] = Encoding.UTF8.GetBytes(arguments[i] + "\0");
                handles[i] = GCHandle.Alloc(encoded[i], GCHandleType.Pinned);
                argv[i] = (byte*)handles[i].AddrOfPinnedObject();
            }

            var raw = ChDbNative.chdb_connect(arguments.Length, argv);
            return raw == 0 ? null : new ChDbConnectionHandle(raw);
        }
        finally
        {
            foreach (var handle in handles)
            {
                if (handle.IsAllocated)
                {
                    handle.Free();
                }
            }
        }
    }

    private void ReadServerFacts()
    {
        var session = new ChDbSession(Connect(arguments) ?? throw new EmbeddedClickHouseException("chDB refused a second connection right after starting."));
        using (session)
        {
            var error = session.Query("SELECT version(), timezone()"u8, "TabSeparated"u8, null, out var result);
            if (error is not null)
            {
                throw new EmbeddedClickHouseException($"chDB started but cannot answer a query: {error.Message}");
            }

            using (result)
            {
                var text = Encoding.UTF8.GetString(result!.Span).TrimEnd('\n');
                var tab = text.IndexOf('\t', StringComparison.Ordinal);
                Version = tab > 0 ? text[..tab] : text;
                Timezone = tab > 0 ? text[(tab + 1)..] : "UTC";
                if (Timezone is "Etc/UTC" or "UCT" or "Zulu")
                {
                    Timezone = "UTC";
                }
            }
        }
    }
}

/// <summary>The startup arguments of the engine, derived from <see cref="EmbeddedClickHouseOptions"/>.</summary>
internal sealed record EngineSettings(string DataPath, string? LibraryPath, long MaxServerMemoryBytes, long MarkCacheBytes, int MaxThreads, int PoolSize)
{
    /// <summary>
    /// chDB takes server settings as <c>--name=value</c> arguments, as clickhouse-server does; checked in
    /// <c>system.server_settings</c> (max_server_memory_usage, mark_cache_size) and <c>system.settings</c> (max_threads).
    /// </summary>
    public string[] ToArguments()
    {
        var arguments = new List<string>
        {
            "clickhouse",
            "--path=" + DataPath,
            "--max_server_memory_usage=" + MaxServerMemoryBytes.ToString(CultureInfo.InvariantCulture),
            "--mark_cache_size=" + MarkCacheBytes.ToString(CultureInfo.InvariantCulture),
        };
        if (MaxThreads > 0)
        {
            arguments.Add("--max_threads=" + MaxThreads.ToString(CultureInfo.InvariantCulture));
        }

        return [.. arguments];
    }
}
