using StreamPipeline.LocalStack.FleetPage;
using StreamPipeline.LocalStack.Tests.Dashboards;

namespace StreamPipeline.LocalStack.Tests.FleetPage;

/// <summary>
/// The fleet page's queries are read-only and time-limited by the engine itself (per-request <c>readonly=2</c> and
/// <c>max_execution_time</c>): chDB has no access management (<c>CREATE USER</c> is refused, only the users.xml
/// directory exists), so the embedded facade cannot host a dashboards user of its own.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class ClickHouseQueriesTests(DashboardFixture fixture)
{
    [Theory]
    [InlineData("CREATE TABLE dash.page_write (a UInt8) ENGINE = Memory")]
    [InlineData("INSERT INTO dash.dead_letters (reason) VALUES ('x')")]
    [InlineData("DROP TABLE dash.dead_letters")]
    [InlineData("ALTER TABLE dash.command_log DELETE WHERE 1")]
    public async Task QueryAsync_WriteOrDdl_RefusedByTheEngine(string sql)
    {
        var e = await Assert.ThrowsAsync<ClickHouseQueryException>(() => fixture.Queries.QueryAsync(sql, CancellationToken.None));
        Assert.Contains("Code: 164", e.Message, StringComparison.Ordinal);
        Assert.Contains("readonly", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueryAsync_AfterReadOnlyRequests_OtherClientsStillWrite()
    {
        // The facade reuses engine sessions across requests: a read-only request must not leave its session read-only.
        for (var i = 0; i < 8; i++)
        {
            await fixture.Queries.QueryAsync("SELECT 1", CancellationToken.None);
            await fixture.Client.ExecuteNonQueryAsync($"CREATE TABLE IF NOT EXISTS dash.after_readonly_{i} (a UInt8) ENGINE = Memory");
            await fixture.Client.ExecuteNonQueryAsync($"INSERT INTO dash.after_readonly_{i} VALUES (1)");
        }

        Assert.Equal(8UL, Convert.ToUInt64(await fixture.Client.ExecuteScalarAsync(
            "SELECT sum(n) FROM (" + string.Join(" UNION ALL ", Enumerable.Range(0, 8).Select(i => $"SELECT count() AS n FROM dash.after_readonly_{i}")) + ")"),
            System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task QueryAsync_LongerThanTheTimeLimit_StoppedByTheEngine()
    {
        using var http = new HttpClient { BaseAddress = new Uri(fixture.Url) };
        var limited = new ClickHouseQueries(http, "default", "", TimeSpan.FromSeconds(1));
        var e = await Assert.ThrowsAsync<ClickHouseQueryException>(() =>
            limited.QueryAsync("SELECT sleepEachRow(0.5) FROM numbers(8) SETTINGS max_block_size = 1", CancellationToken.None));
        Assert.Contains("Code: 159", e.Message, StringComparison.Ordinal);
    }
}
