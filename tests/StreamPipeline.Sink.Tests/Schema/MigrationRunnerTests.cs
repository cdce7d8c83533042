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
        "command_log", "dead_letters", "metrics_1h", "metrics_1h_mv", "metrics_1m",
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

        // 10 from 001-007, 9 from the dashboard migrations 015-019 (issue 13).
        Assert.Equal(19, count);
    }

    [Fact]
    public async Task ApplyAsync_AppliedMigrationEdited_ThrowsNamingTheFile()
    {
        var db = fixture.Unique("checksum");
        await new MigrationRunner(fixture.Client, NullLogger.Instance).ApplyAsync(db, 30, 365, CancellationToken.None);
        await fixture.Client.ExecuteNonQueryAsync($"INSERT INTO {db}.schema_migrations VALUES (2, 'metrics_raw', 'edited', '2000-01-01 00:00:00')");

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
}
