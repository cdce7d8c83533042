using System.Globalization;
using ClickHouse.Driver;
using Microsoft.Extensions.Logging;
using StreamPipeline.Sink.Loading;

namespace StreamPipeline.Sink.Schema;

/// <summary>
/// Makes sinks that start at once take turns applying migrations. Guarded steps (<c>-- when:</c>) are safe against a
/// crash, not against a second runner evaluating the same guard while the first is between two steps (008 exchanged the
/// tables under another sink's INSERT). The lock is the table <c>{database}.schema_migrations_lock</c>: creating it
/// without <c>IF NOT EXISTS</c> succeeds for one runner only; the holder writes a heartbeat row every
/// <see cref="Heartbeat"/> and drops the table when done. A lock whose last heartbeat is older than
/// <see cref="StaleAfter"/> (its holder crashed or was killed) is broken. Local to the server the sink talks to (no
/// <c>ON CLUSTER</c>): on a cluster, sinks serialize only when they run their DDL through the same node.
/// </summary>
internal sealed partial class MigrationLock : IAsyncDisposable
{
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(60);
    private const int TableAlreadyExists = 57;
    private const int UnknownTable = 60;

    private readonly ClickHouseClient _client;
    private readonly string _table;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _heartbeat;

    private MigrationLock(ClickHouseClient client, string table, string owner)
    {
        _client = client;
        _table = table;
        _heartbeat = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(Heartbeat);
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token)) await BeatAsync(client, table, owner, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                // Released.
            }
            catch (Exception e) when (e is ClickHouseServerException || ClickHouseErrors.IsTransient(e))
            {
                // A missed heartbeat (ClickHouse away, or the lock already broken by another sink) stops the beats: at
                // worst another sink breaks the lock after StaleAfter. It must not fail the migrations themselves.
            }
        });
    }

    /// <summary>Waits until this runner holds the lock of <paramref name="database"/>.</summary>
    public static async Task<MigrationLock> AcquireAsync(ClickHouseClient client, string database, ILogger logger, CancellationToken cancellationToken)
    {
        var table = database + ".schema_migrations_lock";
        var owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
        var waiting = false;
        while (true)
        {
            try
            {
                await client.ExecuteNonQueryAsync($"CREATE TABLE {table} (owner String, at DateTime64(3, 'UTC')) ENGINE = Memory", cancellationToken: cancellationToken);
                await BeatAsync(client, table, owner, cancellationToken);
                return new MigrationLock(client, table, owner);
            }
            catch (ClickHouseServerException e) when (e.ErrorCode == TableAlreadyExists)
            {
                // Held by another sink: wait, or break it if its holder stopped beating.
            }

            double age;
            try
            {
                age = await HeartbeatAgeMillisecondsAsync(client, database, table, cancellationToken);
            }
            catch (ClickHouseServerException e) when (e.ErrorCode == UnknownTable)
            {
                continue; // Released in between: try again at once.
            }

            if (age > StaleAfter.TotalMilliseconds)
            {
                LogBroken(logger, database, age / 1000);
                await client.ExecuteNonQueryAsync($"DROP TABLE IF EXISTS {table} SYNC", cancellationToken: cancellationToken);
                continue;
            }

            if (!waiting)
            {
                LogWaiting(logger, database);
                waiting = true;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _heartbeat;
        _stop.Dispose();
        await _client.ExecuteNonQueryAsync($"DROP TABLE IF EXISTS {_table} SYNC");
    }

    private static async Task<double> HeartbeatAgeMillisecondsAsync(ClickHouseClient client, string database, string table, CancellationToken cancellationToken)
    {
        var age = Convert.ToDouble(await client.ExecuteScalarAsync(
            $"SELECT if(count() = 0, -1, dateDiff('millisecond', max(at), now64(3))) FROM {table}", cancellationToken: cancellationToken), CultureInfo.InvariantCulture);
        // An empty table is a holder between CREATE and its first heartbeat (or one that crashed there): the table's age.
        return age >= 0 ? age : Convert.ToDouble(await client.ExecuteScalarAsync(
            $"SELECT dateDiff('millisecond', max(metadata_modification_time), now()) FROM system.tables WHERE database = '{database}' AND name = 'schema_migrations_lock'",
            cancellationToken: cancellationToken), CultureInfo.InvariantCulture);
    }

    private static Task<int> BeatAsync(ClickHouseClient client, string table, string owner, CancellationToken cancellationToken) =>
        client.ExecuteNonQueryAsync($"INSERT INTO {table} (owner, at) VALUES ('{owner}', now64(3))", cancellationToken: cancellationToken);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "Another sink is applying the ClickHouse migrations of {Database}; waiting for it")]
    private static partial void LogWaiting(ILogger logger, string database);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "The migration lock of {Database} had no heartbeat for {Seconds:F0} s (its sink crashed?); breaking it")]
    private static partial void LogBroken(ILogger logger, string database, double seconds);
}
