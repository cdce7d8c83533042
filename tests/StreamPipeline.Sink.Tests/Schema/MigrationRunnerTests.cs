using ClickHouse.Driver;
using Microsoft.Extensions.Logging.Abstractions;
using StreamPipeline.Sink.Schema;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Schema;

[Collection(SinkCollection.Name)]
public sealed class MigrationRunnerTests(SinkFixture fixture)
{
    /// <summary>The tables and views docs/clickhouse.md documents.</summary>
    private static readonly string[] Documented =
    [
        "agent_current", "agent_presence", "agent_state", "agent_state_from_metrics", "agent_state_from_presence",
        "command_log", "credential_audit", "dead_letter_replays", "dead_letters", "metrics_1h", "metrics_1h_mv", "metrics_1m",
        "metrics_1m_mv", "metrics_disks", "metrics_disks_1h", "metrics_disks_1h_mv", "metrics_disks_1m",
        "metrics_disks_1m_mv", "metrics_interfaces", "metrics_interfaces_1h", "metrics_interfaces_1h_mv", "metrics_interfaces_1m",
        "metrics_interfaces_1m_mv", "metrics_samples", "metrics_uptime_1h", "metrics_uptime_1h_mv", "metrics_uptime_1m",
        "metrics_uptime_1m_mv", "pipeline_1h", "pipeline_1h_mv", "pipeline_1m", "pipeline_1m_mv",
        "schema_migrations", "sink_batches",
    ];

    [Fact]
    public async Task ApplyAsync_Twice_SecondRunAppliesNothingAndTablesAreAsDocumented()
    {
        var db = fixture.Unique("migrate");
        var runner = new MigrationRunner(fixture.Client, NullLogger.Instance);

        var first = await runner.ApplyAsync(db, 30, 365, CancellationToken.None);
        var second = await runner.ApplyAsync(db, 30, 365, CancellationToken.None);

        Assert.Equal(Migration.LoadEmbedded().Count, first);
        Assert.Equal(0, second);
        var tables = new List<string>();
        using (var reader = await fixture.Client.ExecuteReaderAsync($"SELECT name FROM system.tables WHERE database = '{db}' ORDER BY name"))
        {
            while (reader.Read()) tables.Add(reader.GetString(0));
        }

        Assert.Equal(Documented, tables);
        Assert.Equal((ulong)first, await fixture.CountAsync($"SELECT uniqExact(version) FROM {db}.schema_migrations"));
    }

    /// <summary>
    /// Several sinks starting at once on a fresh database (a Deployment's replicas; the rolling-restart harness's two
    /// sinks, which found it): 008's guarded steps were evaluated by both runners, one exchanged the tables under the
    /// other's INSERT and that sink stopped with NO_SUCH_COLUMN_IN_TABLE. The runners take turns.
    /// </summary>
    [Fact]
    public async Task ApplyAsync_FourSinksAtOnceOnAFreshDatabase_AllSucceedEachMigrationAppliedOnce()
    {
        var db = fixture.Unique("concurrent");

        var applied = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            new MigrationRunner(fixture.Client, NullLogger.Instance).ApplyAsync(db, 30, 365, CancellationToken.None))));

        Assert.Equal(Migration.LoadEmbedded().Count, applied.Sum());
        var tables = new List<string>();
        using (var reader = await fixture.Client.ExecuteReaderAsync($"SELECT name FROM system.tables WHERE database = '{db}' ORDER BY name"))
        {
            while (reader.Read()) tables.Add(reader.GetString(0));
        }

        Assert.Equal(Documented, tables);
        Assert.Equal((ulong)Migration.LoadEmbedded().Count, await fixture.CountAsync($"SELECT count() FROM {db}.schema_migrations FINAL"));
        var key = Convert.ToString(await fixture.Client.ExecuteScalarAsync($"SELECT partition_key FROM system.tables WHERE database = '{db}' AND name = 'metrics_samples'"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal("toYYYYMMDD(received_time)", key);
    }

    [Fact]
    public async Task ApplyAsync_EveryMergeTreeTable_HasDeduplicationWindowAndTtlFromOptions()
    {
        var db = fixture.Unique("settings");
        await new MigrationRunner(fixture.Client, NullLogger.Instance).ApplyAsync(db, 7, 400, CancellationToken.None);

        using var reader = await fixture.Client.ExecuteReaderAsync($"SELECT name, engine_full FROM system.tables WHERE database = '{db}' AND engine LIKE '%MergeTree'");
        var count = 0;
        while (reader.Read())
        {
            count++;
            var name = reader.GetString(0);
            var engine = reader.GetString(1);
            Assert.True(engine.Contains("non_replicated_deduplication_window = 10000", StringComparison.Ordinal), $"{name}: {engine}");
            if (name is "metrics_samples" or "metrics_disks" or "metrics_interfaces") Assert.Contains("toIntervalDay(7)", engine, StringComparison.Ordinal);
            if (name is "metrics_1m" or "metrics_1h") Assert.Contains("toIntervalDay(400)", engine, StringComparison.Ordinal);
        }

        // 10 from 001-007, 9 from the dashboard migrations 015-019 (issue 13), the replay ledger of 021 (issue 10),
        // credential_audit of 022 (issue 11).
        Assert.Equal(21, count);
    }

    [Fact]
    public async Task ApplyAsync_AppliedMigrationEdited_ThrowsNamingTheFile()
    {
        var db = fixture.Unique("checksum");
        await new MigrationRunner(fixture.Client, NullLogger.Instance).ApplyAsync(db, 30, 365, CancellationToken.None);
        // Rewrite the recorded checksum in place. (Inserting an older "edited" row was flaky: schema_migrations is a
        // ReplacingMergeTree(applied_at), and a background merge could drop that row before the runner read it.)
        await fixture.Client.ExecuteNonQueryAsync($"ALTER TABLE {db}.schema_migrations UPDATE checksum = 'edited' WHERE version = 2 SETTINGS mutations_sync = 1");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new MigrationRunner(fixture.Client, NullLogger.Instance).ApplyAsync(db, 30, 365, CancellationToken.None));

        Assert.Contains("002_metrics_raw.sql", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Statements_FileWithCommentsAndSeveralStatements_SplitsAtSemicolonLineEnds()
    {
        var migration = new Migration(1, "x", "-- comment\nCREATE TABLE {database}.a (x UInt8) ENGINE = Memory;\n\nCREATE VIEW {database}.b AS\nSELECT {raw_ttl_days};\n");

        var statements = migration.Statements("db", 3, 4);

        Assert.Equal(["CREATE TABLE db.a (x UInt8) ENGINE = Memory", "CREATE VIEW db.b AS\nSELECT 3"], statements);
    }

    [Fact]
    public async Task ApplyAsync_UpgradeFrom007WithData_RawTablesByReceiveTimeRowsKeptRollupsNotCountedTwice()
    {
        var db = fixture.Unique("upgrade008");
        var runner = new MigrationRunner(fixture.Client, NullLogger.Instance);
        await runner.ApplyAsync(new MigrationSettings(db, 30, 365) { MaxVersion = 7 }, CancellationToken.None);
        // Three samples the old way: one with an agent clock an hour off.
        await fixture.Client.ExecuteNonQueryAsync($"""
            INSERT INTO {db}.metrics_samples (agent_id, connector_id, session_id, agent_time, received_time, cpu_usage_percent, ram_usage_percent, ram_used_gb, uptime_seconds, disk_count, interface_count, kafka_partition, kafka_offset)
            VALUES ('a1', 'c', 's', now64(3) - 3600, now64(3), 1, 2, 3, 4, 1, 1, 0, 0), ('a1', 'c', 's', now64(3), now64(3), 1, 2, 3, 4, 0, 0, 0, 1), ('a2', 'c', 's', now64(3), now64(3), 1, 2, 3, 4, 0, 0, 1, 0)
            """);
        await fixture.Client.ExecuteNonQueryAsync($"INSERT INTO {db}.metrics_disks (agent_id, agent_time, disk_index, device, mountpoint, fstype, total_gb, used_gb, usage_percent, kafka_partition, kafka_offset) VALUES ('a1', now64(3) - 3600, 0, 'sda', '/', 'ext4', 1, 1, 1, 0, 0)");
        await fixture.Client.ExecuteNonQueryAsync($"INSERT INTO {db}.metrics_interfaces (agent_id, agent_time, interface_index, name, mac, ipv4, ipv6, upload_speed_mbps, download_speed_mbps, kafka_partition, kafka_offset) VALUES ('a1', now64(3) - 3600, 0, 'eth0', '', '', '', 1, 1, 0, 0)");
        var rollup = await fixture.CountAsync($"SELECT sum(samples) FROM {db}.metrics_1m");

        await runner.ApplyAsync(new MigrationSettings(db, 30, 365) { MaxClockSkew = TimeSpan.FromMinutes(5) }, CancellationToken.None);
        // A crash before 008 was recorded: the next run must not copy or exchange again.
        await fixture.Client.ExecuteNonQueryAsync($"ALTER TABLE {db}.schema_migrations DELETE WHERE version = 8 SETTINGS mutations_sync = 1");
        Assert.Equal(1, await runner.ApplyAsync(new MigrationSettings(db, 30, 365), CancellationToken.None));

        foreach (var table in new[] { "metrics_samples", "metrics_disks", "metrics_interfaces" })
        {
            var key = Convert.ToString(await fixture.Client.ExecuteScalarAsync($"SELECT partition_key FROM system.tables WHERE database = '{db}' AND name = '{table}'"), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal("toYYYYMMDD(received_time)", key);
            Assert.Equal(await fixture.CountAsync($"SELECT count() FROM {db}.{table}_pre008"), await fixture.CountAsync($"SELECT count() FROM {db}.{table}"));
        }

        Assert.Equal(3ul, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_samples"));
        Assert.Equal(1ul, await fixture.CountAsync($"SELECT countIf(clock_skewed) FROM {db}.metrics_samples"));
        Assert.Equal(1ul, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_disks"));
        Assert.Equal(1ul, await fixture.CountAsync($"SELECT count() FROM {db}.metrics_interfaces"));
        Assert.Equal(rollup, await fixture.CountAsync($"SELECT sum(samples) FROM {db}.metrics_1m"));

        // The rollups follow the new table.
        await fixture.Client.ExecuteNonQueryAsync($"INSERT INTO {db}.metrics_samples (agent_id, connector_id, session_id, agent_time, received_time, cpu_usage_percent, ram_usage_percent, ram_used_gb, uptime_seconds, disk_count, interface_count, kafka_partition, kafka_offset) VALUES ('a3', 'c', 's', now64(3), now64(3), 1, 2, 3, 4, 0, 0, 1, 1)");
        Assert.Equal(rollup + 1, await fixture.CountAsync($"SELECT sum(samples) FROM {db}.metrics_1m"));
    }

    [Fact]
    public async Task ApplyAsync_TtlSettingsChanged_TablesGetTheNewTtlWithModifyTtl()
    {
        var db = fixture.Unique("ttl");
        var runner = new MigrationRunner(fixture.Client, NullLogger.Instance);
        await runner.ApplyAsync(MigrationSettings.From(new SinkOptions { Database = db }), CancellationToken.None);

        var applied = await runner.ApplyAsync(MigrationSettings.From(new SinkOptions { Database = db, RawTtlDays = 7, Metrics1mTtlDays = 90, CommandLogTtlDays = 730 }), CancellationToken.None);

        Assert.Equal(0, applied);
        var engines = new Dictionary<string, string>();
        using (var reader = await fixture.Client.ExecuteReaderAsync($"SELECT name, engine_full FROM system.tables WHERE database = '{db}' AND engine LIKE '%MergeTree'"))
        {
            while (reader.Read()) engines[reader.GetString(0)] = reader.GetString(1);
        }

        Assert.Contains("TTL toDateTime(received_time) + toIntervalDay(7)", engines["metrics_samples"], StringComparison.Ordinal);
        Assert.Contains("TTL toDateTime(received_time) + toIntervalDay(7)", engines["metrics_disks"], StringComparison.Ordinal);
        Assert.Contains("toIntervalDay(7)", engines["sink_batches"], StringComparison.Ordinal);
        Assert.Contains("TTL minute + toIntervalDay(90)", engines["metrics_1m"], StringComparison.Ordinal);
        Assert.Contains("TTL hour + toIntervalDay(365)", engines["metrics_1h"], StringComparison.Ordinal);
        Assert.Contains("toIntervalDay(365)", engines["agent_presence"], StringComparison.Ordinal);
        Assert.Contains("toIntervalDay(730)", engines["command_log"], StringComparison.Ordinal);
    }
}
