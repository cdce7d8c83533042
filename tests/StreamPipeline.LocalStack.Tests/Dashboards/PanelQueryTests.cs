using System.Globalization;
using System.Text.Json;
using StreamPipeline.LocalStack.FleetPage;

namespace StreamPipeline.LocalStack.Tests.Dashboards;

/// <summary>
/// Every panel's SQL, with the plugin's macros expanded for 15 minutes, 3 days and 30 days, runs in the embedded
/// ClickHouse over a generated month, returns the columns its panel and the fleet page read, and agrees with the same
/// figure computed from the raw table (buckets wholly inside the range; the rollups cut at minute / hour boundaries).
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class PanelQueryTests(DashboardFixture fixture)
{
    private const string Fleet = "streampipeline-fleet";
    private const string Agent = "streampipeline-agent";
    private const string Pipeline = "streampipeline-pipeline";

    /// <summary>The columns each panel returns, in order: Grafana's overrides and the fleet page read them by name.</summary>
    private static readonly Dictionary<(string, int), string[]> ExpectedColumns = new()
    {
        [(Fleet, 1)] = ["online", "offline", "stale"],
        [(Fleet, 2)] = ["agent", "status", "last_seen", "connector", "cpu_percent", "ram_percent", "load_1m", "fullest_disk", "fullest_disk_percent"],
        [(Agent, 1)] = ["time", "cpu_avg", "cpu_max"],
        [(Agent, 2)] = ["time", "load_1m"],
        [(Agent, 3)] = ["time", "ram_avg", "ram_max", "ram_used_gb"],
        [(Agent, 4)] = ["time", "mountpoint", "usage_percent"],
        [(Agent, 5)] = ["time", "read_mbps", "write_mbps"],
        [(Agent, 6)] = ["time", "name", "upload_mbps", "download_mbps"],
        [(Agent, 7)] = ["time", "uptime_hours"],
        [(Agent, 8)] = ["time", "restarts"],
        [(Agent, 9)] = ["time", "status", "connector", "epoch", "reason", "remote_address", "session_id"],
        [(Agent, 10)] = ["time", "action", "status", "latency_ms", "command_id", "request_id", "error", "response"],
        [(Pipeline, 1)] = ["time", "samples_per_second"],
        [(Pipeline, 2)] = ["time", "backend_ms_avg", "backend_ms_max", "end_to_end_ms_avg", "end_to_end_ms_max"],
        [(Pipeline, 3)] = ["time", "reason", "letters"],
        [(Pipeline, 4)] = ["time", "status", "results"],
        [(Pipeline, 5)] = ["time", "latency_ms_avg", "latency_ms_max"],
        [(Pipeline, 6)] = ["time", "agent", "action", "status", "latency_ms", "connector", "command_id", "error"],
    };

    /// <summary>
    /// The same figure from the raw tables, written independently of the panel: {from} {to} are the range, {b} the
    /// bucket in seconds. Key columns first (time, then the series name where there is one).
    /// </summary>
    private static readonly Dictionary<(string, int), (int Keys, string Sql)> RawReference = new()
    {
        [(Agent, 1)] = (1, "SELECT toStartOfInterval(agent_time, toIntervalSecond({b})) AS time, avg(cpu_usage_percent) AS cpu_avg, max(cpu_usage_percent) AS cpu_max FROM {db}.metrics_samples WHERE agent_id = 'ag-1' AND agent_time BETWEEN {from} AND {to} GROUP BY time"),
        [(Agent, 2)] = (1, "SELECT toStartOfInterval(agent_time, toIntervalSecond({b})) AS time, avg(load_1m) AS load_1m FROM {db}.metrics_samples WHERE agent_id = 'ag-1' AND agent_time BETWEEN {from} AND {to} GROUP BY time"),
        [(Agent, 3)] = (1, "SELECT toStartOfInterval(agent_time, toIntervalSecond({b})) AS time, avg(ram_usage_percent) AS ram_avg, max(ram_usage_percent) AS ram_max, avg(ram_used_gb) AS ram_used_gb FROM {db}.metrics_samples WHERE agent_id = 'ag-1' AND agent_time BETWEEN {from} AND {to} GROUP BY time"),
        [(Agent, 4)] = (2, "SELECT toStartOfInterval(agent_time, toIntervalSecond({b})) AS time, mountpoint, avg(usage_percent) AS usage_percent FROM {db}.metrics_disks WHERE agent_id = 'ag-1' AND agent_time BETWEEN {from} AND {to} GROUP BY time, mountpoint"),
        [(Agent, 5)] = (1, "SELECT toStartOfInterval(agent_time, toIntervalSecond({b})) AS time, avg(disk_read_speed_mbps) AS read_mbps, avg(disk_write_speed_mbps) AS write_mbps FROM {db}.metrics_samples WHERE agent_id = 'ag-1' AND agent_time BETWEEN {from} AND {to} GROUP BY time"),
        [(Agent, 6)] = (2, "SELECT toStartOfInterval(agent_time, toIntervalSecond({b})) AS time, name, avg(upload_speed_mbps) AS upload_mbps, avg(download_speed_mbps) AS download_mbps FROM {db}.metrics_interfaces WHERE agent_id = 'ag-1' AND agent_time BETWEEN {from} AND {to} GROUP BY time, name"),
        [(Agent, 7)] = (1, "SELECT toStartOfInterval(agent_time, toIntervalSecond({b})) AS time, max(uptime_seconds) / 3600 AS uptime_hours FROM {db}.metrics_samples WHERE agent_id = 'ag-1' AND agent_time BETWEEN {from} AND {to} GROUP BY time"),
        [(Pipeline, 1)] = (1, "SELECT toStartOfInterval(received_time, toIntervalSecond({b})) AS time, count() / {b} AS samples_per_second FROM {db}.metrics_samples WHERE received_time BETWEEN {from} AND {to} GROUP BY time"),
        [(Pipeline, 2)] = (1, "SELECT toStartOfInterval(received_time, toIntervalSecond({b})) AS time, avg(dateDiff('millisecond', received_time, inserted_at)) AS backend_ms_avg, max(dateDiff('millisecond', received_time, inserted_at)) AS backend_ms_max, avg(dateDiff('millisecond', agent_time, inserted_at)) AS end_to_end_ms_avg, max(dateDiff('millisecond', agent_time, inserted_at)) AS end_to_end_ms_max FROM {db}.metrics_samples WHERE received_time BETWEEN {from} AND {to} GROUP BY time"),
        [(Pipeline, 3)] = (2, "SELECT toStartOfInterval(dead_lettered_time, toIntervalSecond({b})) AS time, reason, count() AS letters FROM {db}.dead_letters WHERE dead_lettered_time BETWEEN {from} AND {to} GROUP BY time, reason"),
        [(Pipeline, 4)] = (2, "SELECT toStartOfInterval(completed_time, toIntervalSecond({b})) AS time, status, count() AS results FROM {db}.command_log WHERE completed_time BETWEEN {from} AND {to} GROUP BY time, status"),
        [(Pipeline, 5)] = (1, "SELECT toStartOfInterval(completed_time, toIntervalSecond({b})) AS time, avg(dateDiff('millisecond', created_time, completed_time)) AS latency_ms_avg, max(dateDiff('millisecond', created_time, completed_time)) AS latency_ms_max FROM {db}.command_log WHERE status = 'OK' AND completed_time BETWEEN {from} AND {to} GROUP BY time"),
    };

    /// <summary>The raw rows a panel would scan for a range had it read the raw table: a panel on a rollup reads fewer.</summary>
    private static readonly Dictionary<(string, int), string> RawRows = new()
    {
        [(Agent, 1)] = "SELECT count() FROM {db}.metrics_samples WHERE agent_id = 'ag-1' AND agent_time BETWEEN {from} AND {to}",
        [(Agent, 4)] = "SELECT count() FROM {db}.metrics_disks WHERE agent_id = 'ag-1' AND agent_time BETWEEN {from} AND {to}",
        [(Agent, 6)] = "SELECT count() FROM {db}.metrics_interfaces WHERE agent_id = 'ag-1' AND agent_time BETWEEN {from} AND {to}",
        [(Agent, 7)] = "SELECT count() FROM {db}.metrics_samples WHERE agent_id = 'ag-1' AND agent_time BETWEEN {from} AND {to}",
        [(Agent, 8)] = "SELECT count() FROM {db}.metrics_samples WHERE agent_id = 'ag-1' AND agent_time BETWEEN {from} AND {to}",
        [(Pipeline, 1)] = "SELECT count() FROM {db}.metrics_samples WHERE received_time BETWEEN {from} AND {to}",
        [(Pipeline, 2)] = "SELECT count() FROM {db}.metrics_samples WHERE received_time BETWEEN {from} AND {to}",
    };

    public static TheoryData<string> Ranges => new() { "15m", "3d", "30d" };

    [Theory]
    [MemberData(nameof(Ranges))]
    public async Task EveryPanel_Range_RunsAndReturnsItsColumns(string range)
    {
        var (from, to) = Range(range);
        Assert.Equal(ExpectedColumns.Keys.Order().ToArray(), fixture.Catalog.Panels.Select(p => (p.DashboardUid, p.Id)).Order().ToArray());
        foreach (var panel in fixture.Catalog.Panels)
        {
            var result = await RunAsync(panel, from, to);
            Assert.True(ExpectedColumns[(panel.DashboardUid, panel.Id)].SequenceEqual(result.Columns.Select(c => c.Name)),
                $"{panel.DashboardUid}/{panel.Id} '{panel.Title}' returned columns [{string.Join(", ", result.Columns.Select(c => c.Name))}]");
            if (panel.Type == "timeseries")
            {
                Assert.StartsWith("DateTime", result.Columns[0].Type, StringComparison.Ordinal);
                Assert.NotEmpty(result.Rows);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Ranges))]
    public async Task TimeSeriesPanels_Range_AgreeWithRawTables(string range)
    {
        var (from, to) = Range(range);
        foreach (var ((uid, id), reference) in RawReference)
        {
            var panel = fixture.Catalog.Panel(uid, id);
            var bucket = (long)GrafanaMacros.PanelInterval(from, to, panel.MaxDataPoints, panel.MinInterval).TotalSeconds;
            // The rollup tiers bucket by at least their own grain (greatest($__interval_s, 60 / 3600)).
            var rollupGrain = ReadsRollups(panel) ? (to - from).TotalSeconds > 604800 ? 3600 : (to - from).TotalSeconds > 21600 ? 60 : 1 : 1;
            bucket = Math.Max(bucket, rollupGrain);
            var actual = await RunAsync(panel, from, to);
            var expected = await fixture.Queries.QueryAsync(Fill(reference.Sql, from, to, bucket), CancellationToken.None);
            var inside = Keyed(expected, reference.Keys).Where(kv => Whole(kv.Key, bucket, from, to)).ToDictionary();
            var got = Keyed(actual, reference.Keys);
            Assert.True(inside.Count > 0, $"{uid}/{id} {range}: the reference has no whole bucket of {bucket} s");
            foreach (var (key, want) in inside)
            {
                Assert.True(got.TryGetValue(key, out var have), $"{uid}/{id} '{panel.Title}' {range}: no row for {key} (bucket {bucket} s)");
                for (var c = reference.Keys; c < want.Length; c++)
                {
                    var w = Number(want[c]);
                    var h = Number(have[actual.Column(expected.Columns[c].Name)]);
                    Assert.True((double.IsNaN(w) && double.IsNaN(h)) || Math.Abs(w - h) <= 1e-6 * Math.Max(1, Math.Abs(w)),
                        $"{uid}/{id} '{panel.Title}' {range} {key} {expected.Columns[c].Name}: panel {h}, raw {w}");
                }
            }

            var stray = got.Keys.Where(k => Whole(k, bucket, from, to) && !inside.ContainsKey(k)).ToList();
            Assert.True(stray.Count == 0, $"{uid}/{id} {range}: rows the raw table does not have: {string.Join(", ", stray)}");
        }
    }

    [Theory]
    [InlineData("3d")]
    [InlineData("30d")]
    public async Task RollupPanels_DaysAndMonth_ReadFewerRowsThanTheRawTableHolds(string range)
    {
        var (from, to) = Range(range);
        foreach (var ((uid, id), rawSql) in RawRows)
        {
            var panel = fixture.Catalog.Panel(uid, id);
            var raw = Number((await fixture.Queries.QueryAsync(Fill(rawSql, from, to, 1), CancellationToken.None)).Rows[0][0]);
            var result = await RunAsync(panel, from, to);
            Assert.True(result.RowsRead >= 0, "ClickHouse reported no rows_read statistic");
            // Had the raw tier run, it alone would have read every one of those rows.
            Assert.True(result.RowsRead < raw, $"{uid}/{id} '{panel.Title}' {range} read {result.RowsRead} rows; the raw table has {raw} in range");
        }
    }

    [Theory]
    [MemberData(nameof(Ranges))]
    public async Task Restarts_Range_MatchUptimeDropsInRawSamples(string range)
    {
        var (from, to) = Range(range);
        var panel = fixture.Catalog.Panel(Agent, 8);
        var grain = (to - from).TotalSeconds > 604800 ? 3600 : (to - from).TotalSeconds > 21600 ? 60 : 0;
        // Drops wholly inside the range: a rollup bucket cut by the range edge may see only half of a restart.
        var lo = from.AddSeconds(grain * 2);
        var hi = to.AddSeconds(-grain * 2);
        var raw = await fixture.Queries.QueryAsync(
            $"""
            SELECT toUnixTimestamp(t) FROM
            (
                SELECT agent_time AS t, uptime_seconds < lagInFrame(uptime_seconds) OVER w AND row_number() OVER w > 1 AS dropped
                FROM {DashboardFixture.Database}.metrics_samples WHERE agent_id = 'ag-1' AND agent_time BETWEEN {DashboardFixture.At(from)} AND {DashboardFixture.At(to)}
                WINDOW w AS (ORDER BY agent_time ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
            )
            WHERE dropped AND t BETWEEN {DashboardFixture.At(lo)} AND {DashboardFixture.At(hi)}
            """, CancellationToken.None);
        var result = await RunAsync(panel, from, to);
        var time = result.Column("time");
        var panelRestarts = result.Rows
            .Select(r => (At: DateTimeOffset.Parse(r[time].GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal), Count: Number(r[result.Column("restarts")])))
            .Where(r => r.At >= lo.AddSeconds(-grain) && r.At <= hi)
            .ToList();
        var rawTimes = raw.Rows.Select(r => DateTimeOffset.FromUnixTimeSeconds((long)Number(r[0]))).ToList();
        if (range != "15m") Assert.NotEmpty(rawTimes);
        Assert.Equal(rawTimes.Count, (int)panelRestarts.Sum(r => r.Count));
        foreach (var t in rawTimes)
        {
            Assert.Contains(panelRestarts, r => t >= r.At && t < r.At.AddSeconds(Math.Max(grain, 1)));
        }
    }

    [Fact]
    public async Task FleetOverview_GeneratedFleet_CountsAndRowsMatchRawTables()
    {
        var (from, to) = Range("15m");
        var counts = await RunAsync(fixture.Catalog.Panel(Fleet, 1), from, to);
        // Reference: the newest presence event, and the newest sample received against the fleet's newest, from the raw tables.
        var reference = await fixture.Queries.QueryAsync($"""
            SELECT
                p.agent_id,
                multiIf(p.last_status != 'CONNECTED', 'offline', ifNull(s.last_received, toDateTime64(0, 3, 'UTC')) < (SELECT max(received_time) FROM {DashboardFixture.Database}.metrics_samples) - INTERVAL 90 SECOND, 'stale', 'online') AS status,
                round(s.cpu, 1) AS cpu, round(s.load, 2) AS load, d.mount, round(d.usage, 1) AS usage
            FROM (SELECT agent_id, argMax(status, (epoch, status = 'DISCONNECTED', kafka_offset)) AS last_status FROM {DashboardFixture.Database}.agent_presence GROUP BY agent_id) AS p
            LEFT JOIN (SELECT agent_id, max(received_time) AS last_received, argMax(cpu_usage_percent, agent_time) AS cpu, argMax(load_1m, agent_time) AS load FROM {DashboardFixture.Database}.metrics_samples GROUP BY agent_id) AS s ON s.agent_id = p.agent_id
            LEFT JOIN (SELECT agent_id, argMax(mountpoint, u) AS mount, max(u) AS usage FROM (SELECT agent_id, mountpoint, argMax(usage_percent, agent_time) AS u FROM {DashboardFixture.Database}.metrics_disks WHERE agent_time >= now64(3) - INTERVAL 15 MINUTE GROUP BY agent_id, mountpoint) GROUP BY agent_id) AS d ON d.agent_id = p.agent_id
            ORDER BY p.agent_id
            """, CancellationToken.None);
        var statuses = reference.Rows.ToDictionary(r => r[0].GetString()!, r => r[1].GetString()!);
        Assert.Equal(new Dictionary<string, string> { ["ag-1"] = "online", ["ag-2"] = "online", ["ag-3"] = "stale", ["ag-4"] = "offline" }, statuses);
        Assert.Equal([2d, 1d, 1d], counts.Rows.Single().Select(Number).ToArray());

        var table = await RunAsync(fixture.Catalog.Panel(Fleet, 2), from, to);
        Assert.Equal(DashboardFixture.Agents, table.Rows.Count);
        foreach (var want in reference.Rows)
        {
            var row = table.Rows.Single(r => r[table.Column("agent")].GetString() == want[0].GetString());
            Assert.Equal(want[1].GetString(), row[table.Column("status")].GetString());
            Assert.Equal(Number(want[2]), Number(row[table.Column("cpu_percent")]));
            if (want[1].GetString() == "online")
            {
                Assert.Equal(Number(want[3]), Number(row[table.Column("load_1m")]));
                Assert.Equal(want[4].GetString(), row[table.Column("fullest_disk")].GetString());
                Assert.Equal(Number(want[5]), Number(row[table.Column("fullest_disk_percent")]));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Ranges))]
    public async Task EventTables_Range_ReturnEveryRawRowUpToTheirLimit(string range)
    {
        var (from, to) = Range(range);
        var db = DashboardFixture.Database;
        var checks = new (int Id, string Dashboard, string Sql, int Limit)[]
        {
            (9, Agent, $"SELECT count() FROM {db}.agent_presence WHERE agent_id = 'ag-1' AND event_time BETWEEN toDateTime({from.ToUnixTimeSeconds()}) AND toDateTime({to.ToUnixTimeSeconds()})", 200),
            (10, Agent, $"SELECT count() FROM {db}.command_log WHERE agent_id = 'ag-1' AND completed_time BETWEEN toDateTime({from.ToUnixTimeSeconds()}) AND toDateTime({to.ToUnixTimeSeconds()})", 100),
            (6, Pipeline, $"SELECT count() FROM {db}.command_log WHERE completed_time BETWEEN toDateTime({from.ToUnixTimeSeconds()}) AND toDateTime({to.ToUnixTimeSeconds()})", 50),
        };
        foreach (var (id, uid, sql, limit) in checks)
        {
            var count = Number((await fixture.Queries.QueryAsync(sql, CancellationToken.None)).Rows[0][0]);
            var result = await RunAsync(fixture.Catalog.Panel(uid, id), from, to);
            Assert.Equal(Math.Min(count, limit), result.Rows.Count);
        }
    }

    internal static Dictionary<string, string> Variables(DashboardCatalog catalog, string uid)
    {
        var values = new Dictionary<string, string>(catalog.Defaults(uid)) { ["database"] = DashboardFixture.Database };
        if (values.ContainsKey("agent")) values["agent"] = "ag-1";
        // The generated fleet samples every 10 s: three intervals of 30 s leave room for a slow test machine.
        if (values.ContainsKey("sample_interval")) values["sample_interval"] = "30";
        return values;
    }

    private static bool ReadsRollups(DashboardPanel panel) => panel.RawSql.Contains("_1m", StringComparison.Ordinal);

    private (DateTimeOffset From, DateTimeOffset To) Range(string range) => range switch
    {
        "15m" => (fixture.End.AddMinutes(-15), fixture.End),
        "3d" => (fixture.End.AddDays(-3), fixture.End),
        "30d" => (fixture.End.AddDays(-30), fixture.End),
        _ => throw new ArgumentOutOfRangeException(nameof(range)),
    };

    private Task<QueryResult> RunAsync(DashboardPanel panel, DateTimeOffset from, DateTimeOffset to) =>
        fixture.Queries.QueryAsync(panel.Sql(from, to, Variables(fixture.Catalog, panel.DashboardUid)), CancellationToken.None);

    private static string Fill(string sql, DateTimeOffset from, DateTimeOffset to, long bucket) => sql
        .Replace("{db}", DashboardFixture.Database, StringComparison.Ordinal)
        .Replace("{from}", $"toDateTime({from.ToUnixTimeSeconds()})", StringComparison.Ordinal)
        .Replace("{to}", $"toDateTime({to.ToUnixTimeSeconds()})", StringComparison.Ordinal)
        .Replace("{b}", bucket.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private static Dictionary<string, JsonElement[]> Keyed(QueryResult result, int keys) =>
        result.Rows.ToDictionary(r => string.Join("|", r.Take(keys).Select(k => k.ToString())), r => r);

    private static bool Whole(string key, long bucket, DateTimeOffset from, DateTimeOffset to)
    {
        var start = DateTimeOffset.Parse(key.Split('|')[0], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        return start >= from && start.AddSeconds(bucket) <= to;
    }

    internal static double Number(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.String => double.Parse(e.GetString()!, CultureInfo.InvariantCulture),
        JsonValueKind.Null => double.NaN,
        _ => throw new FormatException($"Not a number: {e}"),
    };
}
