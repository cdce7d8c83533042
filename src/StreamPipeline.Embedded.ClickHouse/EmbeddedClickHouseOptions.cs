using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StreamPipeline.Embedded.ClickHouse;

/// <summary>
/// Settings of <see cref="EmbeddedClickHouse"/>: where the engine keeps its data, where the ClickHouse-HTTP facade
/// listens, who may use it, and the limits that keep the engine from assuming it owns the machine.
/// </summary>
public sealed class EmbeddedClickHouseOptions
{
    /// <summary>Loopback address to listen on. Default <c>127.0.0.1</c>; the facade has no TLS, so only loopback is allowed.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 (the default) picks a free one, see <see cref="EmbeddedClickHouse.Url"/>. <c>make run</c> uses 8123.</summary>
    public int Port { get; set; }

    /// <summary>The engine's data directory (persistent). Default <c>./data/clickhouse</c>. One process per directory.</summary>
    public string DataPath { get; set; } = "./data/clickhouse";

    /// <summary>The only user the facade accepts. Default <c>default</c>.</summary>
    public string User { get; set; } = "default";

    /// <summary>That user's password. Default empty.</summary>
    public string Password { get; set; } = string.Empty;

    /// <summary>
    /// libchdb.so to load; when null, the <c>STREAMPIPELINE_CHDB_LIBRARY</c> environment variable, then the cache that
    /// <c>build/fetch-chdb.sh</c> fills (<c>~/.cache/streampipeline/chdb/26.7.3-stable.1/libchdb.so</c>).
    /// </summary>
    public string? LibraryPath { get; set; }

    /// <summary>Engine memory limit (server setting <c>max_server_memory_usage</c>). Default 4 GiB (chDB's own: 90% of RAM).</summary>
    public long MaxServerMemoryBytes { get; set; } = 4L << 30;

    /// <summary>Mark cache size (server setting <c>mark_cache_size</c>). Default 256 MiB (chDB's own: 5 GiB).</summary>
    public long MarkCacheBytes { get; set; } = 256L << 20;

    /// <summary>Threads per query (setting <c>max_threads</c>); 0 (the default) lets the engine use one per core.</summary>
    public int MaxThreads { get; set; }

    /// <summary>Statements that run at once, each on its own chDB connection. Default 4.</summary>
    public int MaxConcurrentQueries { get; set; } = 4;

    /// <summary>Time that <see cref="EmbeddedClickHouse.StopAsync"/> gives running requests. Default 10 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Where logs go. Default: nowhere.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Every problem at once, each naming the setting and the fix; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Host))
        {
            errors.Add("Host is empty: set it to a loopback address such as 127.0.0.1.");
        }
        else if (!(string.Equals(Host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(Host, out var address) && IPAddress.IsLoopback(address))))
        {
            errors.Add($"Host '{Host}' is not a loopback address: the facade has no TLS and checks only a password, so it listens on 127.0.0.1, ::1 or localhost.");
        }

        if (Port is < 0 or > 65535)
        {
            errors.Add($"Port {Port} is out of range: use 0 for a free port or 1-65535.");
        }

        if (string.IsNullOrWhiteSpace(DataPath))
        {
            errors.Add("DataPath is empty: set the directory where the engine keeps its data (default ./data/clickhouse).");
        }

        if (string.IsNullOrEmpty(User))
        {
            errors.Add("User is empty: set the user name clients send (default 'default').");
        }

        if (Password is null)
        {
            errors.Add("Password is null: use an empty string for no password.");
        }

        if (MaxServerMemoryBytes < 256L << 20)
        {
            errors.Add($"MaxServerMemoryBytes {MaxServerMemoryBytes} is below 256 MiB, too little for the engine to start: raise it.");
        }

        if (MarkCacheBytes < 0)
        {
            errors.Add($"MarkCacheBytes {MarkCacheBytes} is negative: use 0 or more bytes.");
        }

        if (MaxThreads < 0)
        {
            errors.Add($"MaxThreads {MaxThreads} is negative: use 0 for one per core, or a positive count.");
        }

        if (MaxConcurrentQueries is < 1 or > 64)
        {
            errors.Add($"MaxConcurrentQueries {MaxConcurrentQueries} must be between 1 and 64.");
        }

        if (ShutdownTimeout <= TimeSpan.Zero)
        {
            errors.Add($"ShutdownTimeout {ShutdownTimeout} must be positive.");
        }

        if (LoggerFactory is null)
        {
            errors.Add("LoggerFactory is null: leave the default (NullLoggerFactory.Instance) for no logs.");
        }

        return errors;
    }

    internal void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new EmbeddedClickHouseException("Invalid EmbeddedClickHouseOptions: " + string.Join(" ", errors));
        }
    }
}
