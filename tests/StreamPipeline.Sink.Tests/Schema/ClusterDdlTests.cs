using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using StreamPipeline.Sink.Schema;
using StreamPipeline.Sink.Tests.Infrastructure;

namespace StreamPipeline.Sink.Tests.Schema;

/// <summary>
/// <c>ClickHouse:Cluster</c> (issue 10, item 6): the migrations for a replicated ClickHouse. The embedded engine cannot
/// replicate, so what runs here is the generated DDL: parsed by the real engine, and executed with the engines swapped
/// back, where it must build exactly the tables of a single server. Nothing of it ran against a real cluster.
/// </summary>
[Collection(SinkCollection.Name)]
public sealed partial class ClusterDdlTests(SinkFixture fixture)
{
    private const string Cluster = "events";

    [Fact]
    public void Steps_ClusterSet_EveryDdlOnClusterEveryEngineReplicatedWithReplicatedWindows()
    {
        var statements = Statements(Cluster);
        var engines = 0;
        foreach (var sql in statements)
        {
            var head = sql.TrimStart();
            if (head.StartsWith("INSERT", StringComparison.Ordinal)) Assert.DoesNotContain("ON CLUSTER", sql, StringComparison.Ordinal);
            else Assert.True(sql.Contains($"ON CLUSTER '{Cluster}'", StringComparison.Ordinal), $"not ON CLUSTER: {sql}");
            Assert.DoesNotContain("non_replicated_deduplication_window", sql, StringComparison.Ordinal);
            foreach (Match engine in EngineClause().Matches(sql))
            {
                engines++;
                Assert.StartsWith($"Replicated", engine.Groups[1].Value, StringComparison.Ordinal);
                Assert.Contains($"('{ClusterDdl.ReplicaPath}', '{{replica}}'", engine.Value, StringComparison.Ordinal);
            }
        }

        // Every table of the single-server migrations, each with the replicated windows in blocks and seconds.
        Assert.Equal(Statements(null).Sum(s => EngineClause().Count(s)), engines);
        Assert.Equal(engines, statements.Sum(s => Regex.Count(s, @"replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 3600")));
        Assert.Contains(statements, s => s.Contains("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}', created_at)", StringComparison.Ordinal));
        Assert.Contains(statements, s => s.StartsWith("EXCHANGE TABLES db.metrics_samples AND db.metrics_samples_pre008 ON CLUSTER 'events'", StringComparison.Ordinal));
    }

    [Fact]
    public void Steps_ClusterUnset_ExactlyAsTheFilesSay()
    {
        var statements = Statements(null);
        Assert.All(statements, s => Assert.DoesNotContain("ON CLUSTER", s, StringComparison.Ordinal));
        Assert.All(statements, s => Assert.DoesNotContain("Replicated", s, StringComparison.Ordinal));
        Assert.Equal(Statements(""), statements);
        var file = File.ReadAllText(Path.Combine(RepositoryRoot(), "schemas", "clickhouse", "001_sink_batches.sql"));
        var create = file[file.IndexOf("CREATE TABLE", StringComparison.Ordinal)..].TrimEnd().TrimEnd(';').Replace("{database}", "db", StringComparison.Ordinal).Replace("{raw_ttl_days}", "30", StringComparison.Ordinal);
        Assert.Equal(create, Migration.LoadEmbedded()[0].Steps(new MigrationSettings("db", 30, 365)).Single().Sql.TrimEnd());
    }

    [Fact]
    public void Validate_ClusterNameWithQuote_NamesTheSetting()
    {
        Assert.Contains(new ClickHouseOptions { ConnectionString = "Host=x", Cluster = "a'b" }.Validate(), e => e.StartsWith("ClickHouse:Cluster", StringComparison.Ordinal));
        Assert.Empty(new ClickHouseOptions { ConnectionString = "Host=x", Cluster = "prod_1" }.Validate());
    }

    [Fact]
    public async Task ClusterDdl_EmbeddedEngine_ParsesEveryStatement()
    {
        foreach (var sql in Statements(Cluster))
        {
            // EXPLAIN AST parses without running: the engine's own parser accepts ON CLUSTER and the engine arguments.
            var ast = Convert.ToString(await fixture.Client.ExecuteScalarAsync("EXPLAIN AST " + sql), CultureInfo.InvariantCulture);
            Assert.False(string.IsNullOrWhiteSpace(ast), sql);
        }
    }

    [Fact]
    public async Task ClusterDdl_EnginesSwappedBack_BuildsTheSameTablesAsOneServer()
    {
        var single = fixture.Unique("single");
        var swapped = fixture.Unique("swapped");
        await new MigrationRunner(fixture.Client, NullLogger.Instance).ApplyAsync(new MigrationSettings(single, 30, 365), CancellationToken.None);
        await fixture.Client.ExecuteNonQueryAsync(SwapBack(ClusterDdl.Rewrite($"CREATE DATABASE IF NOT EXISTS {swapped}", Cluster)));
        var settings = new MigrationSettings(swapped, 30, 365) { Cluster = Cluster };
        foreach (var migration in Migration.LoadEmbedded())
        {
            foreach (var step in migration.Steps(settings))
            {
                if (step.When is { } when && Convert.ToInt64(await fixture.Client.ExecuteScalarAsync(when), CultureInfo.InvariantCulture) != 1) continue;
                await fixture.Client.ExecuteNonQueryAsync(SwapBack(step.Sql));
            }
        }

        var expected = await TablesAsync(single);
        var actual = await TablesAsync(swapped);
        Assert.Equal(expected.Keys.Where(k => k != "schema_migrations").Order(), actual.Keys.Order());
        foreach (var (table, definition) in actual) Assert.Equal(expected[table], definition);
    }

    private async Task<Dictionary<string, string>> TablesAsync(string db)
    {
        var tables = new Dictionary<string, string>();
        using var reader = await fixture.Client.ExecuteReaderAsync($"SELECT name, replaceAll(create_table_query, '{db}.', 'DB.') FROM system.tables WHERE database = '{db}'");
        while (reader.Read()) tables[reader.GetString(0)] = reader.GetString(1);
        return tables;
    }

    /// <summary>Undoes exactly what <see cref="ClusterDdl.Rewrite"/> does, so a single server can run it.</summary>
    private static string SwapBack(string sql)
    {
        sql = sql.Replace($" ON CLUSTER '{Cluster}'", "", StringComparison.Ordinal);
        sql = Regex.Replace(sql, @"Replicated(\w+)\('/clickhouse/tables/\{uuid\}/\{shard\}', '\{replica\}'(?:, )?", "$1(");
        sql = sql.Replace("MergeTree()", "MergeTree", StringComparison.Ordinal);
        return Regex.Replace(sql, @"\breplicated_deduplication_window = (\d+), replicated_deduplication_window_seconds = \d+", "non_replicated_deduplication_window = $1");
    }

    private static List<string> Statements(string? cluster)
    {
        var settings = new MigrationSettings("db", 30, 365) { Cluster = cluster };
        return [.. Migration.LoadEmbedded().SelectMany(m => m.Steps(settings)).Select(s => s.Sql)];
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "StreamPipeline.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("StreamPipeline.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"ENGINE = (\w+)(\([^)]*\))?")]
    private static partial Regex EngineClause();
}
