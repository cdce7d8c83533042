using System.Globalization;
using ClickHouse.Driver;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;

namespace StreamPipeline.Embedded.ClickHouse.Tests.Http;

/// <summary>ClickHouse.Driver, unmodified, against the facade: DDL, inserts, parameters, deduplication.</summary>
[Collection(ClickHouseCollection.Name)]
public sealed class DriverEndToEndTests(ClickHouseFixture fixture)
{
    private readonly ClickHouseClient client = fixture.Client;

    [Fact]
    public async Task CreateTable_MergeTreeWithLowCardinalityDateTime64AndTtl_RoundTripsRows()
    {
        var db = await fixture.CreateDatabaseAsync("ddl");
        await client.ExecuteNonQueryAsync($"""
            CREATE TABLE {db}.metrics (
                ts DateTime64(3, 'UTC'),
                agent LowCardinality(String),
                value Float64
            ) ENGINE = MergeTree ORDER BY (agent, ts)
            TTL toDateTime(ts) + INTERVAL 30 DAY
            """);
        var now = DateTime.UtcNow;
        var ts = new DateTime(now.Year, now.Month, now.Day, now.Hour, now.Minute, now.Second, 123, DateTimeKind.Utc);
        await client.InsertBinaryAsync($"{db}.metrics", ["ts", "agent", "value"], [[ts, "agent-1", 1.5], [ts, "agent-2", 2.5]]);

        using var reader = await client.ExecuteReaderAsync($"SELECT ts, agent, value, toTypeName(agent), toTypeName(ts) FROM {db}.metrics ORDER BY agent");
        Assert.True(reader.Read());
        Assert.Equal(ts, Assert.IsType<DateTime>(reader.GetValue(0)).ToUniversalTime());
        Assert.Equal("agent-1", reader.GetString(1));
        Assert.Equal(1.5, reader.GetDouble(2));
        Assert.Equal("LowCardinality(String)", reader.GetString(3));
        Assert.Equal("DateTime64(3, 'UTC')", reader.GetString(4));
        Assert.True(reader.Read());
        Assert.False(reader.Read());

        var ttl = (string)(await client.ExecuteScalarAsync($"SELECT engine_full FROM system.tables WHERE database = '{db}' AND name = 'metrics'"))!;
        Assert.Contains("TTL", ttl, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateTable_ReplacingMergeTree_FinalKeepsLatestVersion()
    {
        var db = await fixture.CreateDatabaseAsync("replacing");
        await client.ExecuteNonQueryAsync($"CREATE TABLE {db}.agents (id UInt32, name String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY id");
        await client.InsertBinaryAsync($"{db}.agents", ["id", "name", "version"], [[1u, "old", 1ul], [2u, "other", 1ul]]);
        await client.InsertBinaryAsync($"{db}.agents", ["id", "name", "version"], [[1u, "new", 2ul]]);

        Assert.Equal(2ul, Convert.ToUInt64(await client.ExecuteScalarAsync($"SELECT count() FROM {db}.agents FINAL"), CultureInfo.InvariantCulture));
        Assert.Equal("new", await client.ExecuteScalarAsync($"SELECT name FROM {db}.agents FINAL WHERE id = 1"));
    }

    [Fact]
    public async Task MaterializedView_IntoAggregatingMergeTree_MergeFunctionsReturnTotals()
    {
        var db = await fixture.CreateDatabaseAsync("mv");
        await client.ExecuteNonQueryAsync($"CREATE TABLE {db}.raw (agent LowCardinality(String), value Float64) ENGINE = MergeTree ORDER BY agent");
        await client.ExecuteNonQueryAsync($"""
            CREATE TABLE {db}.agg (agent LowCardinality(String), total AggregateFunction(sum, Float64), peak AggregateFunction(max, Float64), n AggregateFunction(count))
            ENGINE = AggregatingMergeTree ORDER BY agent
            """);
        await client.ExecuteNonQueryAsync($"""
            CREATE MATERIALIZED VIEW {db}.agg_mv TO {db}.agg AS
            SELECT agent, sumState(value) AS total, maxState(value) AS peak, countState() AS n FROM {db}.raw GROUP BY agent
            """);
        await client.InsertBinaryAsync($"{db}.raw", ["agent", "value"], [["a", 1.0], ["a", 4.0], ["b", 2.0]]);
        await client.InsertBinaryAsync($"{db}.raw", ["agent", "value"], [["a", 5.0]]);

        using var reader = await client.ExecuteReaderAsync($"SELECT agent, sumMerge(total), maxMerge(peak), countMerge(n) FROM {db}.agg GROUP BY agent ORDER BY agent");
        Assert.True(reader.Read());
        Assert.Equal("a", reader.GetString(0));
        Assert.Equal(10.0, reader.GetDouble(1));
        Assert.Equal(5.0, reader.GetDouble(2));
        Assert.Equal(3ul, Convert.ToUInt64(reader.GetValue(3), CultureInfo.InvariantCulture));
        Assert.True(reader.Read());
        Assert.Equal("b", reader.GetString(0));
        Assert.False(reader.Read());
    }

    [Fact]
    public async Task InsertBinaryAsync_OneMillionRows_CountsExactly()
    {
        const int rows = 1_000_000;
        var db = await fixture.CreateDatabaseAsync("bulk");
        await client.ExecuteNonQueryAsync($"CREATE TABLE {db}.points (ts DateTime64(3), agent LowCardinality(String), cpu Float64, bytes UInt64) ENGINE = MergeTree ORDER BY (agent, ts)");
        var start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        var written = await client.InsertBinaryAsync(
            $"{db}.points",
            ["ts", "agent", "cpu", "bytes"],
            Rows(),
            new InsertOptions { BatchSize = 250_000 });

        Assert.Equal(rows, written);
        Assert.Equal((ulong)rows, await fixture.CountAsync($"{db}.points"));
        Assert.Equal((ulong)rows * (rows - 1) / 2, Convert.ToUInt64(await client.ExecuteScalarAsync($"SELECT sum(bytes) FROM {db}.points"), CultureInfo.InvariantCulture));

        IEnumerable<object[]> Rows()
        {
            for (var i = 0; i < rows; i++)
            {
                yield return [start.AddMilliseconds(i), "agent-" + (i % 50).ToString(CultureInfo.InvariantCulture), i * 0.5, (ulong)i];
            }
        }
    }

    [Fact]
    public async Task ExecuteScalarAsync_WithTypedParameters_BindsValues()
    {
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("p", 41u);
        parameters.AddParameter("name", "it's \"quoted\"\tand\nmultiline");

        using var reader = await client.ExecuteReaderAsync("SELECT {p:UInt32} + 1, {name:String}, toTypeName({p:UInt32})", parameters);

        Assert.True(reader.Read());
        Assert.Equal(42L, Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture));
        Assert.Equal("it's \"quoted\"\tand\nmultiline", reader.GetString(1));
        Assert.Equal("UInt32", reader.GetString(2));
    }

    [Fact]
    public async Task InsertBinaryAsync_SameDeduplicationTokenTwice_CountsOnce()
    {
        var db = await fixture.CreateDatabaseAsync("dedup");
        await client.ExecuteNonQueryAsync($"CREATE TABLE {db}.events (id UInt64, body String) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100");
        object[][] block = [[1ul, "a"], [2ul, "b"], [3ul, "c"]];

        await client.InsertBinaryAsync($"{db}.events", ["id", "body"], block, WithToken("batch-1"));
        await client.InsertBinaryAsync($"{db}.events", ["id", "body"], block, WithToken("batch-1"));
        Assert.Equal(3ul, await fixture.CountAsync($"{db}.events"));

        await client.InsertBinaryAsync($"{db}.events", ["id", "body"], block, WithToken("batch-2"));
        Assert.Equal(6ul, await fixture.CountAsync($"{db}.events"));

        // The token must not leak into the next request that runs on the same pooled connection.
        await client.InsertBinaryAsync($"{db}.events", ["id", "body"], [[9ul, "x"]]);
        await client.InsertBinaryAsync($"{db}.events", ["id", "body"], [[10ul, "y"]]);
        Assert.Equal(8ul, await fixture.CountAsync($"{db}.events"));

        static InsertOptions WithToken(string token) => new() { CustomSettings = new Dictionary<string, object> { ["insert_deduplication_token"] = token } };
    }

    [Fact]
    public async Task ExecuteScalarAsync_SettingInOneRequest_DoesNotLeakIntoNext()
    {
        var options = new QueryOptions { CustomSettings = new Dictionary<string, object> { ["max_threads"] = 1, ["max_block_size"] = 1234 } };
        var first = await client.ExecuteScalarAsync("SELECT getSetting('max_block_size')", options: options);
        var tasks = new List<Task<object>>();
        for (var i = 0; i < 8; i++)
        {
            tasks.Add(client.ExecuteScalarAsync("SELECT getSetting('max_block_size')"));
        }

        Assert.Equal(1234ul, Convert.ToUInt64(first, CultureInfo.InvariantCulture));
        foreach (var value in await Task.WhenAll(tasks))
        {
            Assert.NotEqual(1234ul, Convert.ToUInt64(value, CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public async Task ExecuteScalarAsync_DatabaseOption_UsesThatDatabase()
    {
        var db = await fixture.CreateDatabaseAsync("usedb");
        await client.ExecuteNonQueryAsync($"CREATE TABLE {db}.t (x UInt8) ENGINE = Memory");

        Assert.Equal(db, await client.ExecuteScalarAsync("SELECT currentDatabase()", options: new QueryOptions { Database = db }));
        Assert.Equal(0ul, Convert.ToUInt64(await client.ExecuteScalarAsync("SELECT count() FROM t", options: new QueryOptions { Database = db }), CultureInfo.InvariantCulture));
        Assert.Equal("default", await client.ExecuteScalarAsync("SELECT currentDatabase()"));
    }

    [Fact]
    public async Task ExecuteNonQueryAsync_ClientSetStatement_DoesNotLeakIntoNextRequest()
    {
        await client.ExecuteNonQueryAsync("SET max_block_size = 4321");

        for (var i = 0; i < 6; i++)
        {
            Assert.NotEqual(4321ul, Convert.ToUInt64(await client.ExecuteScalarAsync("SELECT getSetting('max_block_size')"), CultureInfo.InvariantCulture));
        }
    }

    [Theory]
    [InlineData("syntax", "SELEC 1", 62)]
    [InlineData("unknown table", "SELECT * FROM default.no_such_table_here", 60)]
    [InlineData("unknown format", "SELECT 1 FORMAT NoSuchFormat", 73)]
    [InlineData("unknown function", "SELECT no_such_function(1)", 46)]
    [InlineData("unknown database", "SELECT 1 FROM no_such_db.t", 81)]
    public async Task ExecuteScalarAsync_ServerError_ThrowsClickHouseServerExceptionWithCode(string what, string sql, int expectedCode)
    {
        var error = await Assert.ThrowsAsync<ClickHouseServerException>(() => client.ExecuteScalarAsync(sql));

        Assert.True(expectedCode == error.ErrorCode, $"{what}: expected code {expectedCode}, got {error.ErrorCode}: {error.Message}");
        Assert.StartsWith($"Code: {expectedCode}. DB::Exception: ", error.Message, StringComparison.Ordinal);
        Assert.Equal(1ul, Convert.ToUInt64(await client.ExecuteScalarAsync("SELECT 1"), CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task InsertBinaryAsync_UnknownTable_ThrowsCode60AndKeepsServing()
    {
        var error = await Assert.ThrowsAsync<ClickHouseServerException>(
            () => client.InsertBinaryAsync("default.no_such_insert_target", ["a"], [[1]], new InsertOptions { ColumnTypes = new Dictionary<string, string> { ["a"] = "UInt8" } }));

        Assert.Equal(60, error.ErrorCode);
        Assert.Equal(1ul, Convert.ToUInt64(await client.ExecuteScalarAsync("SELECT 1"), CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task ExecuteScalarAsync_WrongPassword_ThrowsCode516AndKeepsServing()
    {
        using var wrong = new ClickHouseClient(fixture.Server.ConnectionString.Replace(ClickHouseFixture.Password, "wrong", StringComparison.Ordinal));

        var error = await Assert.ThrowsAsync<ClickHouseServerException>(() => wrong.ExecuteScalarAsync("SELECT 1"));

        Assert.Equal(516, error.ErrorCode);
        Assert.Contains("AUTHENTICATION_FAILED", error.Message, StringComparison.Ordinal);
        Assert.Equal(1ul, Convert.ToUInt64(await client.ExecuteScalarAsync("SELECT 1"), CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task PingAsync_RunningServer_ReturnsTrue() => Assert.True(await client.PingAsync());
}
