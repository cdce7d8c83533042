using System.Globalization;
using ClickHouse.Driver;
using Microsoft.Extensions.Logging;

namespace StreamPipeline.Sink.Schema;

/// <summary>
/// Applies the migrations of schemas/clickhouse in order and records each in <c>schema_migrations</c> (version, name,
/// checksum, applied_at). Every statement is idempotent (<c>IF NOT EXISTS</c>, or guarded by <c>-- when:</c>), so a crash
/// in the middle of a migration is harmless: the next run applies what is missing. Sinks starting at once take turns
/// (<see cref="MigrationLock"/>): a guard is not safe against a second runner between two steps of the first.
/// </summary>
internal sealed partial class MigrationRunner(ClickHouseClient client, ILogger logger)
{
    /// <summary>Creates the database and applies what is missing; returns how many migrations were applied now.</summary>
    /// <exception cref="InvalidOperationException">An applied migration's file changed since (its checksum differs).</exception>
    public Task<int> ApplyAsync(string database, int rawTtlDays, int rollupTtlDays, CancellationToken cancellationToken) =>
        ApplyAsync(new MigrationSettings(database, rawTtlDays, rollupTtlDays), cancellationToken);

    /// <inheritdoc cref="ApplyAsync(string, int, int, CancellationToken)"/>
    public async Task<int> ApplyAsync(MigrationSettings settings, CancellationToken cancellationToken)
    {
        var database = settings.Database;
        var cluster = settings.Cluster;
        await client.ExecuteNonQueryAsync(ClusterDdl.Rewrite($"CREATE DATABASE IF NOT EXISTS {database}", cluster), cancellationToken: cancellationToken);
        await client.ExecuteNonQueryAsync(ClusterDdl.Rewrite($"""
            CREATE TABLE IF NOT EXISTS {database}.schema_migrations
            (
                version UInt32,
                name String,
                checksum String,
                applied_at DateTime64(3, 'UTC')
            )
            ENGINE = ReplacingMergeTree(applied_at)
            ORDER BY version
            SETTINGS non_replicated_deduplication_window = 10000
            """, cluster), cancellationToken: cancellationToken);

        await using var turn = await MigrationLock.AcquireAsync(client, database, logger, cancellationToken);
        var applied = new Dictionary<int, string>();
        using (var reader = await client.ExecuteReaderAsync($"SELECT version, argMin(checksum, applied_at) FROM {database}.schema_migrations GROUP BY version", cancellationToken: cancellationToken))
        {
            while (reader.Read())
            {
                applied[Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture)] = reader.GetString(1);
            }
        }

        var count = 0;
        foreach (var migration in Migration.LoadEmbedded())
        {
            if (migration.Version > settings.MaxVersion) break;
            if (applied.TryGetValue(migration.Version, out var checksum))
            {
                if (!string.Equals(checksum, migration.Checksum, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException(
                        $"Migration {migration.Version:D3}_{migration.Name}.sql changed after it was applied to database '{database}' " +
                        $"(checksum {migration.Checksum}, recorded {checksum}). Never edit an applied migration: restore it and add a new NNN_name.sql.");
                }

                continue;
            }

            foreach (var step in migration.Steps(settings))
            {
                if (step.When is { } when && Convert.ToInt64(await client.ExecuteScalarAsync(when, cancellationToken: cancellationToken), CultureInfo.InvariantCulture) != 1) continue;
                await client.ExecuteNonQueryAsync(step.Sql, cancellationToken: cancellationToken);
            }

            await client.InsertBinaryAsync(
                $"{database}.schema_migrations",
                ["version", "name", "checksum", "applied_at"],
                [[(uint)migration.Version, migration.Name, migration.Checksum, TimeProvider.System.GetUtcNow().UtcDateTime]],
                cancellationToken: cancellationToken);
            LogApplied(logger, migration.Version, migration.Name, database);
            count++;
        }

        if (settings.TableTtlDays is { } ttls) await ApplyTtlsAsync(database, ttls, cluster, cancellationToken);
        return count;
    }

    /// <summary>
    /// Makes each table's TTL agree with the settings: the TTL expression the table has (e.g.
    /// <c>toDateTime(received_time)</c>) with the configured number of days. Tables already right are left alone.
    /// </summary>
    private async Task ApplyTtlsAsync(string database, IReadOnlyDictionary<string, int> ttls, string? cluster, CancellationToken cancellationToken)
    {
        var current = new List<(string Table, string Expression, int Days)>();
        using (var reader = await client.ExecuteReaderAsync($"SELECT name, engine_full FROM system.tables WHERE database = '{database}' AND engine LIKE '%MergeTree'", cancellationToken: cancellationToken))
        {
            while (reader.Read())
            {
                var match = Ttl().Match(reader.GetString(1));
                if (match.Success) current.Add((reader.GetString(0), match.Groups[1].Value, int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture)));
            }
        }

        foreach (var (table, expression, days) in current)
        {
            if (!ttls.TryGetValue(table, out var wanted) || wanted == days) continue;
            await client.ExecuteNonQueryAsync(ClusterDdl.Rewrite($"ALTER TABLE {database}.{table} MODIFY TTL {expression} + INTERVAL {wanted} DAY", cluster), cancellationToken: cancellationToken);
            LogTtlChanged(logger, database, table, days, wanted);
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\bTTL (.+?) \+ toIntervalDay\((\d+)\)")]
    private static partial System.Text.RegularExpressions.Regex Ttl();

    [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "ClickHouse table {Database}.{Table}: TTL changed from {From} to {To} days (settings)")]
    private static partial void LogTtlChanged(ILogger logger, string database, string table, int from, int to);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "ClickHouse migration {Version:D3}_{Name} applied to database {Database}")]
    private static partial void LogApplied(ILogger logger, int version, string name, string database);
}
